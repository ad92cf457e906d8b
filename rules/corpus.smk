# Corpus -> manifest -> speaker split.


rule demo_corpus:
    output:
        touch(f"{R}/corpus/demo_corpus.done"),
    log:
        f"{R}/logs/corpus/demo_corpus.log",
    conda:
        "../envs/core.yaml"
    params:
        root=config["corpus"]["root"],
        demo=config["demo_corpus"],
    shell:
        "python -m codecfake step demo-corpus --out {params.root:q} --speakers {params.demo[speakers]:q}"
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
        root=config["corpus"]["root"],
    shell:
        "python -m codecfake fetch vctk --root {params.root:q} 2> {log:q}"


rule corpus_manifest:
    input:
        plan.corpus_inputs(),
    output:
        manifest=f"{R}/corpus/manifest.tsv",
        rejects=f"{R}/corpus/manifest.rejects.tsv",
    log:
        f"{R}/logs/corpus/manifest.log",
    conda:
        "../envs/core.yaml"
    params:
        source=plan.manifest_source(),
        invalid_ids=config["corpus"]["invalid_ids"],
    shell:
        "python -m codecfake step manifest {params.source:q} --invalid-ids {params.invalid_ids:q}"
        " --out {output.manifest:q} --rejects {output.rejects:q} 2> {log:q}"


rule split_speakers:
    input:
        f"{R}/corpus/manifest.tsv",
    output:
        train=f"{R}/corpus/split/train.tsv",
        dev=f"{R}/corpus/split/dev.tsv",
        eval=f"{R}/corpus/split/eval.tsv",
    log:
        f"{R}/logs/corpus/split.log",
    conda:
        "../envs/core.yaml"
    params:
        dev=config["split"]["dev"],
        eval=config["split"]["eval"],
    shell:
        "python -m codecfake step split --manifest {input:q} --dev {params.dev:q} --eval {params.eval:q}"
        " --train-out {output.train:q} --dev-out {output.dev:q} --eval-out {output.eval:q} 2> {log:q}"
