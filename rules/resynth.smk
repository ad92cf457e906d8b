# Bona fide audio -> 16 kHz, and codec resynthesis: one job per (codec, split, shard), never per utterance.

rule bonafide_16k:
    input:
        f"{R}/corpus/split/{{split}}.tsv",
    output:
        table=f"{R}/shards/bonafide/{{split}}/{{shard}}.tsv",
        rejects=f"{R}/shards/bonafide/{{split}}/{{shard}}.rejects.tsv",
    params:
        results=R,
        format=config["audio_format"],
    log:
        f"{R}/logs/bonafide/{{split}}/{{shard}}.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake bonafide --split-manifest {input} --shard {wildcards.shard} --results-dir {params.results}"
        " --table {output.table} --rejects {output.rejects} --format {params.format} 2> {log}"


rule resynthesize:
    input:
        manifest=f"{R}/corpus/split/{{split}}.tsv",
        weights=lambda w: plan.weights_inputs(w.codec),
    output:
        table=f"{R}/shards/{{codec}}/{{split}}/{{shard}}.tsv",
        rejects=f"{R}/shards/{{codec}}/{{split}}/{{shard}}.rejects.tsv",
    params:
        fingerprint=lambda w: plan.fingerprint(w.codec),
        results=R,
        format=config["audio_format"],
        weights=config["weights"],
        weights_dir=config["weights_dir"],
        device=config["device"],
        seed=config["seed"],
        batch=config["batch"],
    threads: config["threads"]
    resources:
        gpu=plan.resynth_gpus(),
        mem_mb=8000,
        runtime=240,
    log:
        f"{R}/logs/resynth/{{codec}}/{{split}}/{{shard}}.log",
    conda:
        lambda w: plan.env(w.codec)
    shell:
        "python -m codecfake resynth --codec {wildcards.codec} --split-manifest {input.manifest}"
        " --shard {wildcards.shard} --results-dir {params.results} --table {output.table}"
        " --rejects {output.rejects} --format {params.format} --weights {params.weights}"
        " --weights-dir {params.weights_dir} --device {params.device} --seed {params.seed}"
        " --batch-seconds {params.batch[seconds]} --batch-items {params.batch[items]}"
        " --chunk-seconds {params.batch[chunk_seconds]}"
        " --threads {threads} 2> {log}"
