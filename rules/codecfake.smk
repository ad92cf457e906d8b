# Codecfake's layout (Xie et al.): the run's CoRS manifests -> train/, dev/, test/<condition>/ and label/*.txt with
# Codecfake's file names and labels (codecfake/codecfake_layout.py). Runs only with `codecfake_layout.write: true`.


rule codecfake_layout:
    input:
        train=expand(rules.cors_protocol.output.manifest, split="train"),
        dev=expand(rules.cors_protocol.output.manifest, split="dev"),
        eval=expand(rules.cors_protocol.output.manifest, split="eval"),
    output:
        directory(f"{R}/codecfake"),
    log:
        f"{R}/logs/codecfake/layout.log",
    conda:
        "../envs/core.yaml"
    params:
        codecs=plan.codecs,
        results=parent_of("input", "train", levels=2),
    shell:
        "python -m codecfake step codecfake-layout --train {input.train:q} --dev {input.dev:q} --eval {input.eval:q}"
        " --codecs {params.codecs:q} --results-dir {params.results:q} --out {output:q} 2> {log:q}"
