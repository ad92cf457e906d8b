# Corpora -> manifest -> split (by speaker, or per corpus by its rule).


rule demo_corpus:
    output:
        touch(f"{R}/corpus/demo_{{corpus}}.done"),
    log:
        f"{R}/logs/corpus/demo_{{corpus}}.log",
    wildcard_constraints:
        corpus="vctk|aishell3",
    conda:
        "../envs/core.yaml"
    params:
        corpus=lambda wildcards: plan.corpus.demo_args(wildcards.corpus),
        demo=config["demo_corpus"],
    shell:
        "python -m codecfake step demo-corpus {params.corpus:q}"
        " --utterances {params.demo[utterances]:q} --min-seconds {params.demo[min_seconds]:q}"
        " --max-seconds {params.demo[max_seconds]:q} --seed {params.demo[seed]:q} 2> {log:q}"


rule fetch_vctk:
    output:
        touch(f"{R}/corpus/vctk_download.done"),
    log:
        f"{R}/logs/corpus/fetch_vctk.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    params:
        root=lambda wildcards: plan.corpus.root("vctk"),
    shell:
        "python -m codecfake fetch vctk --root {params.root:q} 2> {log:q}"


# AISHELL-3 publishes no checksum: the first download's sha256 is locked beside the archive (codecfake.corpus).
rule fetch_aishell3:
    output:
        touch(f"{R}/corpus/aishell3_download.done"),
    log:
        f"{R}/logs/corpus/fetch_aishell3.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    params:
        root=lambda wildcards: plan.corpus.root("aishell3"),
    shell:
        "python -m codecfake fetch aishell3 --root {params.root:q} 2> {log:q}"


rule corpus_manifest:
    input:
        plan.corpus.inputs(rules),
    output:
        manifest=f"{R}/corpus/manifest.tsv",
        rejects=f"{R}/corpus/manifest.rejects.tsv",
    log:
        f"{R}/logs/corpus/manifest.log",
    conda:
        "../envs/core.yaml"
    params:
        source=plan.corpus.manifest_source(),
        invalid_ids=config["corpus"]["invalid_ids"],
    shell:
        "python -m codecfake step corpus-manifest {params.source:q} --invalid-ids {params.invalid_ids:q}"
        " --out {output.manifest:q} --rejects {output.rejects:q} 2> {log:q}"


rule split_speakers:
    input:
        rules.corpus_manifest.output.manifest,
    output:
        train=f"{R}/corpus/split/train.tsv",
        dev=f"{R}/corpus/split/dev.tsv",
        eval=f"{R}/corpus/split/eval.tsv",
    log:
        f"{R}/logs/corpus/split.log",
    conda:
        "../envs/core.yaml"
    params:
        split_rule=plan.corpus.split_args(),
    shell:
        "python -m codecfake step split-speakers --manifest {input:q} {params.split_rule:q}"
        " --train-out {output.train:q} --dev-out {output.dev:q} --eval-out {output.eval:q} 2> {log:q}"
