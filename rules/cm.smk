# Countermeasures: resolved spec + training/dev selection -> training (GPU) -> scoring per evaluation set
# -> EER with CIs -> report (eer.tsv, confusion.tsv, taxonomy_level.tsv, heatmap). Runs only when `cm:` is set.

wildcard_constraints:
    **cmplan.wildcard_constraints(),


rule cm_select:
    input:
        train=f"{R}/manifests/cors_train.tsv",
        dev=f"{R}/manifests/cors_dev.tsv",
        external=lambda w: cmplan.external_inputs(w.cm),
    output:
        spec=f"{R}/cm/{{cm}}/spec.json",
        train=f"{R}/cm/{{cm}}/train.tsv",
        dev=f"{R}/cm/{{cm}}/dev.tsv",
        train_protocol=f"{R}/cm/{{cm}}/train_protocol.txt",
        dev_protocol=f"{R}/cm/{{cm}}/dev_protocol.txt",
    params:
        spec=lambda w: cmplan.spec_json(w.cm),
        results=R,
        out_dir=f"{R}/cm/{{cm}}",
    log:
        f"{R}/logs/cm/select/{{cm}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-select --spec {params.spec:q} --train-manifest {input.train}"
        " --dev-manifest {input.dev} --results-dir {params.results} --out-dir {params.out_dir} 2> {log}"


rule cm_train:
    input:
        spec=f"{R}/cm/{{cm}}/spec.json",
        train=f"{R}/cm/{{cm}}/train.tsv",
        dev=f"{R}/cm/{{cm}}/dev.tsv",
        ssl=lambda w: cmplan.ssl_inputs(w.cm),
    output:
        model=f"{R}/cm/{{cm}}/model.pt",
        log_table=f"{R}/cm/{{cm}}/train_log.tsv",
    params:
        out_dir=f"{R}/cm/{{cm}}",
        device=cmplan.device,
        cache=f"{config['weights_dir']}/ssl",
    threads: cmplan.resource("threads", 4)
    resources:
        gpu=cmplan.gpus(),
        mem_mb=cmplan.resource("mem_mb", 32000),
        runtime=cmplan.resource("train_runtime", 2880),
    log:
        f"{R}/logs/cm/train/{{cm}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-train --spec {input.spec} --train {input.train} --dev {input.dev}"
        " --out-dir {params.out_dir} --device {params.device} --cache-dir {params.cache} --threads {threads}"
        " 2> {log}"


rule cm_eval_set:
    input:
        lambda w: cmplan.eval_set_inputs(w.eval_set),
    output:
        f"{R}/eval/sets/{{eval_set}}.tsv",
    params:
        spec=lambda w: cmplan.eval_set_json(w.eval_set),
        results=R,
    log:
        f"{R}/logs/cm/eval_sets/{{eval_set}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-eval-set --name {wildcards.eval_set} --spec {params.spec:q}"
        " --results-dir {params.results} --out {output} 2> {log}"


rule cm_score:
    input:
        model=f"{R}/cm/{{cm}}/model.pt",
        trials=f"{R}/eval/sets/{{eval_set}}.tsv",
    output:
        f"{R}/eval/scores/{{cm}}/{{eval_set}}.tsv",
    params:
        device=cmplan.device,
    threads: cmplan.resource("threads", 4)
    resources:
        gpu=cmplan.gpus(),
        mem_mb=cmplan.resource("mem_mb", 32000),
        runtime=cmplan.resource("score_runtime", 240),
    log:
        f"{R}/logs/cm/score/{{cm}}/{{eval_set}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-score --model {input.model} --trials {input.trials} --out {output}"
        " --device {params.device} --threads {threads} 2> {log}"


rule cm_evaluate:
    input:
        f"{R}/eval/scores/{{cm}}/{{eval_set}}.tsv",
    output:
        eer=f"{R}/eval/metrics/{{cm}}/{{eval_set}}.eer.tsv",
        confusion=f"{R}/eval/metrics/{{cm}}/{{eval_set}}.confusion.tsv",
    params:
        condition=lambda w: cmplan.ci_condition(w.eval_set),
        ci=cmplan.ci,
    log:
        f"{R}/logs/cm/evaluate/{{cm}}/{{eval_set}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-evaluate --scores {input} --cm {wildcards.cm} --eval-set {wildcards.eval_set}"
        " --condition {params.condition} --bootstraps {params.ci[bootstraps]} --alpha {params.ci[alpha]}"
        " --eer-out {output.eer} --confusion-out {output.confusion} 2> {log}"


rule cm_report:
    input:
        eer=cmplan.metrics("eer"),
        confusion=cmplan.metrics("confusion"),
        scores=cmplan.scores(),
        train_sets=cmplan.train_sets(),
        quality=cmplan.quality_inputs(),
    output:
        eer=report(cmplan.path("eval/eer.tsv"), caption="../report/cm_eer.rst", category="Countermeasures"),
        confusion=report(cmplan.path("eval/confusion.tsv"), caption="../report/cm_confusion.rst",
                         category="Countermeasures"),
        taxonomy=report(cmplan.path("eval/taxonomy_level.tsv"), caption="../report/cm_taxonomy.rst",
                        category="Countermeasures"),
        heatmap=report(cmplan.path("eval/heatmap_codec_level.png"), caption="../report/cm_heatmap.rst",
                       category="Countermeasures"),
    params:
        out_dir=f"{R}/eval",
        taxonomy_sets=cmplan.taxonomy_sets(),
        quality=cmplan.quality_args(),
    log:
        f"{R}/logs/cm/report.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-report --eer {input.eer} --confusion {input.confusion} --scores {input.scores}"
        " --train-sets {input.train_sets} --taxonomy-sets {params.taxonomy_sets} {params.quality}"
        " --out-dir {params.out_dir} 2> {log}"


rule fetch_ssl_weights:
    output:
        f"{config['weights_dir']}/ssl/{{hub}}@{{revision}}.txt",
    params:
        name=lambda w: w.hub.replace("--", "/", 1),
        cache=f"{config['weights_dir']}/ssl",
    log:
        f"{config['weights_dir']}/logs/ssl/{{hub}}@{{revision}}.log",
    localrule: True
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-fetch-ssl --name {params.name} --revision {wildcards.revision}"
        " --cache-dir {params.cache} > {output} 2> {log}"


rule fetch_dataset:
    output:
        touch(f"{R}/datasets/{{dataset}}.fetched"),
    params:
        args=lambda w: cmplan.fetch_args(w.dataset),
    log:
        f"{R}/logs/cm/fetch/{{dataset}}.log",
    localrule: True
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-fetch-dataset {params.args} 2> {log}"
