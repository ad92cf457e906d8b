# Quality and artifact analysis, dataset statistics, provenance cards; every table and figure goes in the report.
#   subset tables -> scores/{subset}/{split} (+ utmos/{subset}/{split}) -> metrics.tsv -> figures/{metric}.png
#   manifests -> stats.tsv, artifacts.tsv + artifact_pairs.tsv + figures/residual_examples.png
#   subset tables -> audio/{subset}/{split}/provenance.json -> provenance.tsv
# One scoring job per (subset, split): the DAG grows with codecs x splits, never with utterances.

from codecfake.quality.plan import TABLES


rule quality_scores:
    input:
        bonafide=expand(rules.subset_tables.output.table, subset="bonafide", allow_missing=True),
        codec=rules.subset_tables.output.table,
    output:
        f"{R}/quality/scores/{{subset}}/{{split}}.tsv",
    log:
        f"{R}/logs/quality/scores/{{subset}}/{{split}}.log",
    wildcard_constraints:
        subset=plan.subset_pattern(),
    conda:
        "../envs/quality.yaml"
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=600,
    params:
        results=parent_of("input", "bonafide", levels=3),
        metrics=quality_plan.settings["metrics"],
        batch=quality_plan.settings["dnsmos_batch"],
    shell:
        "python -m codecfake step quality-scores --subset {wildcards.subset:q} --results-dir {params.results:q}"
        " --bonafide-tables {input.bonafide:q} --codec-tables {input.codec:q} --metrics {params.metrics:q}"
        " --dnsmos-batch {params.batch:q} --threads {threads} --out {output:q} 2> {log:q}"


rule fetch_utmos_weights:
    output:
        quality_plan.utmos_checkpoint(),
    log:
        f"{config['weights_dir']}/logs/utmos.log",
    localrule: True
    conda:
        "../envs/quality.yaml"
    params:
        args=quality_plan.fetch_utmos_args(),
    shell:
        "python -m codecfake fetch utmos-weights {params.args:q} 2> {log:q}"


rule utmos_scores:
    input:
        bonafide=expand(rules.subset_tables.output.table, subset="bonafide", allow_missing=True),
        codec=rules.subset_tables.output.table,
        checkpoint=quality_plan.utmos_inputs(),
    output:
        f"{R}/quality/utmos/{{subset}}/{{split}}.tsv",
    log:
        f"{R}/logs/quality/utmos/{{subset}}/{{split}}.log",
    wildcard_constraints:
        subset=plan.subset_pattern(),
    conda:
        "../envs/quality.yaml"
    threads: config["threads"]
    resources:
        gpu=quality_plan.utmos_gpus(),
        mem_mb=8000,
        runtime=600,
    params:
        results=parent_of("input", "bonafide", levels=3),
        model=quality_plan.utmos_model_args(),
        device=config["device"],
        batch=quality_plan.settings["utmos"],
    shell:
        "python -m codecfake step utmos-scores --subset {wildcards.subset:q} --results-dir {params.results:q}"
        " --bonafide-tables {input.bonafide:q} --codec-tables {input.codec:q} {params.model:q}"
        " --device {params.device:q} --threads {threads} --batch-items {params.batch[batch_items]:q}"
        " --batch-seconds {params.batch[batch_seconds]:q} --out {output:q} 2> {log:q}"


rule quality_metrics:
    input:
        scores=expand(rules.quality_scores.output[0], split=plan.splits, subset=plan.subsets),
        utmos=(
            expand(rules.utmos_scores.output[0], split=plan.splits, subset=plan.subsets)
            if quality_plan.utmos["enabled"]
            else []
        ),
    output:
        report(
            f"{R}/quality/metrics.tsv",
            caption="../report/metrics.rst",
            category="Quality",
            subcategory="Tables",
            labels={"table": "metrics", "format": "tsv"},
        ),
    log:
        f"{R}/logs/quality/metrics.log",
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake step quality-metrics --scores {input.scores:q} --utmos {input.utmos:q} --out {output:q}"
        " 2> {log:q}"


rule quality_figures:
    input:
        rules.quality_metrics.output[0],
    output:
        [
            report(
                f"{R}/quality/figures/{metric}.png",
                caption="../report/metric_figure.rst",
                category="Quality",
                subcategory="Per-codec figures",
                labels={"metric": metric},
            )
            for metric in quality_plan.figure_metrics()
        ],
    log:
        f"{R}/logs/quality/figures.log",
    conda:
        "../envs/quality.yaml"
    params:
        metrics=quality_plan.figure_metrics(),
        out_dir=parent_of("output", 0),
    shell:
        "python -m codecfake step quality-figures --metrics-table {input:q} --metrics {params.metrics:q}"
        " --out-dir {params.out_dir:q} 2> {log:q}"


rule artifact_analysis:
    input:
        expand(rules.cors_protocol.output.manifest, split=quality_plan.settings["artifacts"]["split"]),
    output:
        groups=report(
            f"{R}/quality/artifacts.tsv",
            caption="../report/artifacts.rst",
            category="Artifacts",
            subcategory="Tables",
            labels={"table": "artifacts", "format": "tsv"},
        ),
        pairs=report(
            f"{R}/quality/artifact_pairs.tsv",
            caption="../report/artifact_pairs.rst",
            category="Artifacts",
            subcategory="Tables",
            labels={"table": "artifact_pairs", "format": "tsv"},
        ),
        figure=report(
            f"{R}/quality/figures/residual_examples.png",
            caption="../report/residual_examples.rst",
            category="Artifacts",
            subcategory="Figures",
            labels={"figure": "residual spectrograms"},
        ),
    log:
        f"{R}/logs/quality/artifacts.log",
    conda:
        "../envs/quality.yaml"
    resources:
        mem_mb=4000,
    params:
        results=parent_of("input", 0, levels=2),
        codecs=plan.codecs,
        a=quality_plan.settings["artifacts"],
    shell:
        "python -m codecfake step artifact-analysis --manifest {input:q} --results-dir {params.results:q} --codecs {params.codecs:q}"
        " --utterances {params.a[utterances]:q} --n-fft {params.a[n_fft]:q} --hop {params.a[hop]:q}"
        " --clip-db {params.a[clip_db]:q} --seed {params.a[seed]:q} --groups {output.groups:q} --pairs {output.pairs:q}"
        " --figure {output.figure:q} 2> {log:q}"


rule dataset_stats:
    input:
        manifests=expand(rules.cors_protocol.output.manifest, split=plan.splits),
        rejects=expand(rules.cors_protocol.output.rejects, split=plan.splits),
    output:
        report(
            f"{R}/quality/stats.tsv",
            caption="../report/stats.rst",
            category="Dataset",
            subcategory="Tables",
            labels={"table": "stats", "format": "tsv"},
        ),
    log:
        f"{R}/logs/quality/stats.log",
    conda:
        "../envs/core.yaml"
    params:
        splits=plan.splits,
        codecs=plan.codecs,
    shell:
        "python -m codecfake step dataset-stats --splits {params.splits:q} --manifests {input.manifests:q}"
        " --rejects {input.rejects:q} --codecs {params.codecs:q} --out {output:q} 2> {log:q}"


rule provenance_card:
    input:
        tables=rules.subset_tables.output.table,
        rejects=rules.subset_tables.output.rejects,
        checksums=lambda w: expand(rules.fetch_codec_weights.output, codec=quality_plan.checksummed(w.subset)),
    output:
        f"{R}/audio/{{subset}}/{{split}}/provenance.json",
    log:
        f"{R}/logs/quality/provenance/{{subset}}/{{split}}.log",
    wildcard_constraints:
        subset=plan.subset_pattern(),
    conda:
        lambda w: quality_plan.env(w.subset)
    params:
        mode=config["weights"],
        env_file=lambda w: quality_plan.env(w.subset),
        config=lambda w: quality_plan.provenance_config(w.subset),
    shell:
        "python -m codecfake step provenance-card --subset {wildcards.subset:q} --split {wildcards.split:q} --mode {params.mode:q}"
        " --env-file {params.env_file:q} --config-json {params.config:q} --tables {input.tables:q}"
        " --rejects {input.rejects:q} --checksums {input.checksums:q} --out {output:q} 2> {log:q}"


rule provenance_summary:
    input:
        quality_plan.cards(),
    output:
        report(
            f"{R}/quality/provenance.tsv",
            caption="../report/provenance.rst",
            category="Dataset",
            subcategory="Tables",
            labels={"table": "provenance", "format": "tsv"},
        ),
    log:
        f"{R}/logs/quality/provenance_summary.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake step provenance-summary --cards {input:q} --out {output:q} 2> {log:q}"


rule quality_table_views:
    input:
        # one per quality.plan.TABLES entry, in its order (the step pairs them with the views by name)
        rules.quality_metrics.output[0],
        rules.dataset_stats.output[0],
        rules.provenance_summary.output[0],
        rules.artifact_analysis.output.groups,
        rules.artifact_analysis.output.pairs,
    output:
        [
            report(
                f"{R}/quality/tables/{name}.html",
                caption=f"../report/{caption}",
                category=category,
                subcategory="Tables",
                labels={"table": name, "format": "view"},
            )
            for name, (category, caption) in TABLES.items()
        ],
    log:
        f"{R}/logs/quality/table_views.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake step quality-table-views --tables {input:q} --outs {output:q} 2> {log:q}"
