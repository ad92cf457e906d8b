# Corpus -> manifest -> speaker split.

rule demo_corpus:
    output:
        touch(f"{R}/corpus/demo_corpus.done"),
    params:
        root=config["corpus"]["root"],
        demo=config["demo_corpus"],
    log:
        f"{R}/logs/corpus/demo_corpus.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake demo-corpus --out {params.root} --speakers {params.demo[speakers]}"
        " --utterances {params.demo[utterances]} --min-seconds {params.demo[min_seconds]}"
        " --max-seconds {params.demo[max_seconds]} --seed {params.demo[seed]} 2> {log}"


rule download_vctk:
    output:
        touch(f"{R}/corpus/vctk_download.done"),
    params:
        root=config["corpus"]["root"],
    log:
        f"{R}/logs/corpus/download_vctk.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake download-vctk --root {params.root} 2> {log}"


rule corpus_manifest:
    input:
        plan.corpus_inputs(),
    output:
        manifest=f"{R}/corpus/manifest.tsv",
        rejects=f"{R}/corpus/manifest.rejects.tsv",
    params:
        source=plan.manifest_source(),
        invalid_ids=config["corpus"]["invalid_ids"],
    log:
        f"{R}/logs/corpus/manifest.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake manifest {params.source} --invalid-ids {params.invalid_ids}"
        " --out {output.manifest} --rejects {output.rejects} 2> {log}"


rule split_speakers:
    input:
        f"{R}/corpus/manifest.tsv",
    output:
        expand(f"{R}/corpus/split/{{split}}.tsv", split=["train", "dev", "eval"]),
    params:
        dev=config["split"]["dev"],
        eval=config["split"]["eval"],
        out_dir=f"{R}/corpus/split",
    log:
        f"{R}/logs/corpus/split.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake split --manifest {input} --dev {params.dev} --eval {params.eval}"
        " --out-dir {params.out_dir} 2> {log}"
