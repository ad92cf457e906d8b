# Quality and artifact analysis, dataset statistics, provenance cards; every table and figure goes in the report.
#   shard tables -> scores/{subset}/{split} (+ utmos/{subset}/{split}) -> metrics.tsv -> figures/{metric}.png
#   manifests -> stats.tsv, artifacts.tsv + artifact_pairs.tsv + figures/residual_examples.png
#   shard tables -> audio/{subset}/{split}/provenance.json -> provenance.tsv
# One scoring job per (subset, split): the DAG grows with codecs x splits, never with utterances.

rule quality_scores:
    input:
        bonafide=lambda w: plan.shard_tables("bonafide", w.split),
        codec=lambda w: quality.codec_tables(w.subset, w.split),
    output:
        f"{R}/quality/scores/{{subset}}/{{split}}.tsv",
    params:
        results=R,
        metrics=quality.settings["metrics"],
        batch=quality.settings["dnsmos_batch"],
    wildcard_constraints:
        subset=quality.subset_pattern(),
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=600,
    log:
        f"{R}/logs/quality/scores/{{subset}}/{{split}}.log",
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake quality-score --subset {wildcards.subset} --results-dir {params.results}"
        " --bonafide-tables {input.bonafide} --codec-tables {input.codec} --metrics {params.metrics}"
        " --dnsmos-batch {params.batch} --threads {threads} --out {output} 2> {log}"


rule fetch_utmos_weights:
    output:
        quality.utmos_checkpoint(),
    params:
        args=quality.fetch_utmos_args(),
    log:
        f"{config['weights_dir']}/logs/utmos.log",
    localrule: True
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake fetch-utmos {params.args} 2> {log}"


rule utmos_scores:
    input:
        bonafide=lambda w: plan.shard_tables("bonafide", w.split),
        codec=lambda w: quality.codec_tables(w.subset, w.split),
        checkpoint=quality.utmos_inputs(),
    output:
        f"{R}/quality/utmos/{{subset}}/{{split}}.tsv",
    params:
        results=R,
        model=quality.utmos_model_args(),
        device=config["device"],
        batch=quality.settings["utmos"],
    wildcard_constraints:
        subset=quality.subset_pattern(),
    threads: config["threads"]
    resources:
        gpu=quality.utmos_gpus(),
        mem_mb=8000,
        runtime=600,
    log:
        f"{R}/logs/quality/utmos/{{subset}}/{{split}}.log",
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake utmos-score --subset {wildcards.subset} --results-dir {params.results}"
        " --bonafide-tables {input.bonafide} --codec-tables {input.codec} {params.model}"
        " --device {params.device} --threads {threads} --batch-items {params.batch[batch_items]}"
        " --batch-seconds {params.batch[batch_seconds]} --out {output} 2> {log}"


rule quality_metrics:
    input:
        scores=quality.scores(),
        utmos=quality.utmos_tables(),
    output:
        report(f"{R}/quality/metrics.tsv", caption="../report/metrics.rst", category="Quality",
               subcategory="Tables", labels={"table": "metrics", "format": "tsv"}),
    log:
        f"{R}/logs/quality/metrics.log",
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake quality-aggregate --scores {input.scores} --utmos {input.utmos} --out {output}"
        " 2> {log}"


rule quality_figures:
    input:
        f"{R}/quality/metrics.tsv",
    output:
        [report(path, caption="../report/metric_figure.rst", category="Quality", subcategory="Per-codec figures",
                labels={"metric": metric}) for metric, path in zip(quality.figure_metrics(), quality.figures())],
    params:
        metrics=quality.figure_metrics(),
        out_dir=f"{R}/quality/figures",
    log:
        f"{R}/logs/quality/figures.log",
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake quality-figures --metrics-table {input} --metrics {params.metrics}"
        " --out-dir {params.out_dir} 2> {log}"


rule artifact_analysis:
    input:
        quality.artifact_manifest(),
    output:
        groups=report(f"{R}/quality/artifacts.tsv", caption="../report/artifacts.rst", category="Artifacts",
                      subcategory="Tables", labels={"table": "artifacts", "format": "tsv"}),
        pairs=report(f"{R}/quality/artifact_pairs.tsv", caption="../report/artifact_pairs.rst",
                     category="Artifacts", subcategory="Tables",
                     labels={"table": "artifact_pairs", "format": "tsv"}),
        figure=report(f"{R}/quality/figures/residual_examples.png", caption="../report/residual_examples.rst",
                      category="Artifacts", subcategory="Figures", labels={"figure": "residual spectrograms"}),
    params:
        results=R,
        codecs=plan.codecs,
        a=quality.settings["artifacts"],
    resources:
        mem_mb=4000,
    log:
        f"{R}/logs/quality/artifacts.log",
    conda:
        "../envs/quality.yaml"
    shell:
        "python -m codecfake artifacts --manifest {input} --results-dir {params.results} --codecs {params.codecs}"
        " --utterances {params.a[utterances]} --n-fft {params.a[n_fft]} --hop {params.a[hop]}"
        " --clip-db {params.a[clip_db]} --seed {params.a[seed]} --groups {output.groups} --pairs {output.pairs}"
        " --figure {output.figure} 2> {log}"


rule dataset_stats:
    input:
        manifests=plan.manifests(),
        rejects=[f"{R}/manifests/rejects_{split}.tsv" for split in ("train", "dev", "eval")],
    output:
        report(f"{R}/quality/stats.tsv", caption="../report/stats.rst", category="Dataset",
               subcategory="Tables", labels={"table": "stats", "format": "tsv"}),
    params:
        codecs=plan.codecs,
    log:
        f"{R}/logs/quality/stats.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake dataset-stats --splits train dev eval --manifests {input.manifests}"
        " --rejects {input.rejects} --codecs {params.codecs} --out {output} 2> {log}"


rule provenance_card:
    input:
        tables=lambda w: plan.shard_tables(w.subset, w.split),
        rejects=lambda w: plan.shard_tables(w.subset, w.split, "rejects.tsv"),
        checksums=lambda w: quality.card_weights(w.subset),
    output:
        f"{R}/audio/{{subset}}/{{split}}/provenance.json",
    params:
        mode=config["weights"],
        env_file=lambda w: quality.env(w.subset),
        config=lambda w: quality.provenance_config(w.subset),
    wildcard_constraints:
        subset=quality.subset_pattern(),
    log:
        f"{R}/logs/quality/provenance/{{subset}}/{{split}}.log",
    conda:
        lambda w: quality.env(w.subset)
    shell:
        "python -m codecfake provenance --subset {wildcards.subset} --split {wildcards.split} --mode {params.mode}"
        " --env-file {params.env_file} --config-json {params.config:q} --tables {input.tables}"
        " --rejects {input.rejects} --checksums {input.checksums} --out {output} 2> {log}"


rule provenance_summary:
    input:
        quality.cards(),
    output:
        report(f"{R}/quality/provenance.tsv", caption="../report/provenance.rst", category="Dataset",
               subcategory="Tables", labels={"table": "provenance", "format": "tsv"}),
    log:
        f"{R}/logs/quality/provenance_summary.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake provenance-summary --cards {input} --out {output} 2> {log}"


rule quality_table_views:
    input:
        quality.tables(),
    output:
        [report(path, caption=f"../report/{caption}", category=category, subcategory="Tables",
                labels={"table": name, "format": "view"}) for path, name, category, caption
         in quality.table_view_entries()],
    log:
        f"{R}/logs/quality/table_views.log",
    conda:
        "../envs/core.yaml"
    shell:
        "python -m codecfake quality-table-views --tables {input} --outs {output} 2> {log}"
