# Codecfake's layout (Xie et al.): the run's CoRS manifests -> train/, dev/, test/<condition>/ and label/*.txt with
# Codecfake's file names and labels (codecfake/codecfake_layout.py), with `codecfake_layout.write: true`; and its
# per-condition EER table, for every CM evaluated on a set in that layout (cm.datasets format codecfake).


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


rule codecfake_table:
    input:
        eer=rules.cm_tables.output.eer,
        scores=expand(rules.cm_score.output[0], cm=cm_plan.names, eval_set=cm_plan.codecfake_sets()),
    output:
        report(
            f"{R}/eval/codecfake_conditions.tsv",
            caption="../report/codecfake_conditions.rst",
            category="Countermeasures",
        ),
    log:
        f"{R}/logs/codecfake/table.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake step codecfake-table --eer {input.eer:q} --scores {input.scores:q} --out {output:q}"
        " 2> {log:q}"
