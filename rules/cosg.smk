# CoSG generation (runs only when `cosg.generators` is set): split manifests (or the E2 list) -> prompt lists ->
# one generation job per (set, split, shard) in the generator's env -> per-split CoSG protocol, manifest and
# rejects -> provenance card, UTMOS. The generated sets are also CM data sets (codecfake/cosg/plan.py).

from codecfake.rule_outputs import output_path


rule cosg_prompts:
    input:
        lambda w: (cosg_plan.e2_inputs() if w.cosg_source == "E2" else getattr(rules.split_speakers.output, w.split)),
    output:
        f"{R}/cosg/prompts/{{cosg_source}}_{{split}}.tsv",
    log:
        f"{R}/logs/cosg/prompts/{{cosg_source}}_{{split}}.log",
    conda:
        "../envs/core.yaml"
    params:
        source=lambda w, input: cosg_plan.prompt_args(w.cosg_source, input[0]),
        language=cosg_plan.settings["language"],
        max_prompts=cosg_plan.settings["max_prompts"],
    shell:
        "python -m codecfake step cosg-prompts --split {wildcards.split:q} {params.source:q}"
        " --language {params.language:q} --max-prompts {params.max_prompts:q}"
        " --out {output:q} 2> {log:q}"


# Generator checkpoints, fetched and verified on the submitting host (a local rule) so compute nodes need no internet.
rule fetch_generator_weights:
    output:
        f"{config['weights_dir']}/checksums/generators/{{generator}}.tsv",
    log:
        f"{config['weights_dir']}/logs/generators/{{generator}}.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    params:
        weights_dir=parent_of("output", 0, levels=3),
    shell:
        "python -m codecfake fetch generator-weights --generators {wildcards.generator:q}"
        " --weights-dir {params.weights_dir:q} > {output:q} 2> {log:q}"


rule cosg_generate:
    input:
        prompts=lambda w: expand(rules.cosg_prompts.output[0], cosg_source=cosg_plan.source(w.cosg_set), split=w.split),
        weights=lambda w: (
            expand(rules.fetch_generator_weights.output, generator=cosg_plan.generator(w.cosg_set))
            if cosg_plan.pretrained
            else []
        ),
    output:
        table=f"{R}/cosg/shards/{{cosg_set}}/{{split}}/{{shard}}.tsv",
        rejects=f"{R}/cosg/shards/{{cosg_set}}/{{split}}/{{shard}}.rejects.tsv",
    log:
        f"{R}/logs/cosg/generate/{{cosg_set}}/{{split}}/{{shard}}.log",
    conda:
        lambda w: cosg_plan.env(w.cosg_set)
    threads: config["threads"]
    resources:
        gpu=cosg_plan.gpus(),
        mem_mb=cosg_plan.resource("mem_mb"),
        runtime=cosg_plan.resource("runtime"),
    params:
        generator=lambda w: cosg_plan.generator(w.cosg_set),
        system=lambda w: cosg_plan.system(w.cosg_set),
        results=parent_of("output", "table", levels=5),
        weights=cosg_plan.settings["weights"],
        weights_dir=parent_of("input", "weights", levels=3, default=config["weights_dir"]),
        seed=config["seed"],
        device=cosg_plan.device,
        batch_items=cosg_plan.settings["batch_items"],
        python=cosg_plan.python,
    shell:
        "{params.python:q} -m codecfake step cosg-generate --prompts {input.prompts:q} --shard {wildcards.shard:q}"
        " --set {wildcards.cosg_set:q} --generator {params.generator:q} --system {params.system:q}"
        " --weights {params.weights:q} --weights-dir {params.weights_dir:q} --seed {params.seed:q} --device {params.device:q} --threads {threads}"
        " --batch-items {params.batch_items:q} --results-dir {params.results:q} --table {output.table:q}"
        " --rejects {output.rejects:q} 2> {log:q}"


rule cosg_protocol:
    input:
        tables=cosg_plan.shard_outputs(rules.cosg_generate, "table"),
        rejects=cosg_plan.shard_outputs(rules.cosg_generate, "rejects"),
    output:
        protocol=f"{R}/protocols/{{cosg_set}}_{{split}}.txt",
        manifest=f"{R}/manifests/cosg/{{cosg_set}}_{{split}}.tsv",
        rejects=f"{R}/manifests/cosg/{{cosg_set}}_{{split}}.rejects.tsv",
    log:
        f"{R}/logs/cosg/protocols/{{cosg_set}}_{{split}}.log",
    conda:
        "../envs/core.yaml"
    params:
        system=lambda w: cosg_plan.system(w.cosg_set),
    shell:
        "python -m codecfake step cosg-protocol --system {params.system:q} --tables {input.tables:q}"
        " --rejects-tables {input.rejects:q} --protocol {output.protocol:q} --manifest {output.manifest:q}"
        " --rejects {output.rejects:q} 2> {log:q}"


# In the generator's env, whose package versions the card records.
rule cosg_card:
    input:
        manifest=rules.cosg_protocol.output.manifest,
        rejects=rules.cosg_protocol.output.rejects,
    output:
        f"{R}/audio/cosg/{{cosg_set}}/provenance_{{split}}.json",
    log:
        f"{R}/logs/cosg/provenance/{{cosg_set}}_{{split}}.log",
    conda:
        lambda w: cosg_plan.env(w.cosg_set)
    params:
        generator=lambda w: cosg_plan.generator(w.cosg_set),
        system=lambda w: cosg_plan.system(w.cosg_set),
        weights=cosg_plan.settings["weights"],
        env_file=lambda w: cosg_plan.env(w.cosg_set),
        config=cosg_plan.provenance_config(),
        python=cosg_plan.python,
    shell:
        "{params.python:q} -m codecfake step cosg-card --set {wildcards.cosg_set:q} --split {wildcards.split:q}"
        " --system {params.system:q} --generator {params.generator:q} --weights {params.weights:q}"
        " --env-file {params.env_file:q} --config-json {params.config:q} --manifest {input.manifest:q}"
        " --rejects {input.rejects:q} --out {output:q} 2> {log:q}"


# UTMOS as for CoRS (quality.utmos settings and checkpoint), bona fide prompts and generated speech alike.
rule cosg_utmos:
    input:
        manifest=rules.cosg_protocol.output.manifest,
        checkpoint=quality_plan.utmos_inputs(),
    output:
        f"{R}/quality/cosg/utmos/{{cosg_set}}_{{split}}.tsv",
    log:
        f"{R}/logs/cosg/utmos/{{cosg_set}}_{{split}}.log",
    conda:
        "../envs/quality.yaml"
    threads: config["threads"]
    resources:
        gpu=quality_plan.utmos_gpus(),
        mem_mb=8000,
        runtime=600,
    params:
        results=parent_of("input", "manifest", levels=3),
        model=quality_plan.utmos_model_args(),
        device=config["device"],
        batch=quality_plan.utmos,
    shell:
        "python -m codecfake step cosg-utmos --manifest {input.manifest:q} --results-dir {params.results:q}"
        " {params.model:q} --device {params.device:q} --threads {threads}"
        " --batch-items {params.batch[batch_items]:q} --batch-seconds {params.batch[batch_seconds]:q}"
        " --out {output:q} 2> {log:q}"


rule cosg_utmos_summary:
    input:
        [output_path(rules.cosg_utmos, 0, cosg_set=cosg_set, split=split) for cosg_set, split in cosg_plan.pairs()],
    output:
        report(
            f"{R}/quality/cosg_utmos.tsv",
            caption="../report/cosg_utmos.rst",
            category="Quality",
            subcategory="Tables",
            labels={"table": "cosg_utmos", "format": "tsv"},
        ),
    log:
        f"{R}/logs/cosg/utmos_summary.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake step cosg-utmos-summary --tables {input:q} --out {output:q} 2> {log:q}"
