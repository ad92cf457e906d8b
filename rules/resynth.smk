# Bona fide audio -> 16 kHz, and codec resynthesis: one job per (codec, split, shard), never per utterance; then
# one table per (subset, split) of its shards' rows, which the protocols and the quality jobs read.


rule bonafide_16k:
    input:
        plan.split_manifest(),
    output:
        table=f"{R}/shards/bonafide/{{split}}/{{shard}}.tsv",
        rejects=f"{R}/shards/bonafide/{{split}}/{{shard}}.rejects.tsv",
    log:
        f"{R}/logs/bonafide/{{split}}/{{shard}}.log",
    conda:
        "../envs/core.yaml"
    params:
        results=parent_of("output", "table", levels=4),
        format=config["audio_format"],
    shell:
        "python -m codecfake step bonafide-16k --split-manifest {input:q} --shard {wildcards.shard:q}"
        " --results-dir {params.results:q} --table {output.table:q} --rejects {output.rejects:q}"
        " --format {params.format:q} 2> {log:q}"


rule resynthesize:
    input:
        manifest=plan.split_manifest(),
        weights=rules.fetch_codec_weights.output if plan.pretrained else [],
    output:
        table=f"{R}/shards/{{codec}}/{{split}}/{{shard}}.tsv",
        rejects=f"{R}/shards/{{codec}}/{{split}}/{{shard}}.rejects.tsv",
    log:
        f"{R}/logs/resynth/{{codec}}/{{split}}/{{shard}}.log",
    conda:
        plan.by_codec(plan.env)
    threads: config["threads"]
    resources:
        gpu=plan.resynth_gpus(),
        mem_mb=8000,
        runtime=240,
    params:
        fingerprint=plan.by_codec(plan.fingerprint),
        results=parent_of("output", "table", levels=4),
        format=config["audio_format"],
        weights=config["weights"],
        weights_dir=parent_of("input", "weights", levels=2) if plan.pretrained else config["weights_dir"],
        device=config["device"],
        seed=config["seed"],
        batch=config["batch"],
    shell:
        "python -m codecfake step resynthesize --codec {wildcards.codec:q} --split-manifest {input.manifest:q}"
        " --shard {wildcards.shard:q} --results-dir {params.results:q} --table {output.table:q}"
        " --rejects {output.rejects:q} --format {params.format:q} --weights {params.weights:q}"
        " --weights-dir {params.weights_dir:q} --device {params.device:q} --seed {params.seed:q}"
        " --batch-seconds {params.batch[seconds]:q} --batch-items {params.batch[items]:q}"
        " --chunk-seconds {params.batch[chunk_seconds]:q}"
        " --threads {threads} 2> {log:q}"


# The shards of one subset (bona fide or a codec) and split, one after another: the per-split protocol and the
# per-subset quality and provenance jobs wait on this one file, not on every shard (44k VCTK utterances x 31
# codecs: ~13,000 fewer DAG edges, benchmarks/dag_scale.py). Rows are kept verbatim, as the shards wrote them.
rule subset_tables:
    input:
        tables=plan.shard_outputs("table"),
        rejects=plan.shard_outputs("rejects"),
    output:
        table=f"{R}/shards/{{subset}}/{{split}}.tsv",
        rejects=f"{R}/shards/{{subset}}/{{split}}.rejects.tsv",
    log:
        f"{R}/logs/shards/{{subset}}/{{split}}.log",
    wildcard_constraints:
        subset=plan.subset_pattern(),
    localrule: True
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake step concat --tables {input.tables:q} --out {output.table:q} 2> {log:q}"
        " && python -m codecfake step concat --tables {input.rejects:q} --out {output.rejects:q} 2>> {log:q}"
