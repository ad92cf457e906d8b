# Countermeasures: resolved spec + training/dev selection -> training (GPU) -> scoring per evaluation set
# -> EER with CIs -> report (eer.tsv, confusion.tsv, taxonomy_level.tsv, heatmap). Runs only when `cm:` is set.


rule cm_select:
    input:
        train=expand(rules.cors_protocol.output.manifest, split="train"),
        dev=expand(rules.cors_protocol.output.manifest, split="dev"),
        external=lambda w: cm_plan.external_inputs(w.cm),
    output:
        spec=f"{R}/cm/{{cm}}/spec.json",
        train=f"{R}/cm/{{cm}}/train.tsv",
        dev=f"{R}/cm/{{cm}}/dev.tsv",
        train_protocol=f"{R}/cm/{{cm}}/train_protocol.txt",
        dev_protocol=f"{R}/cm/{{cm}}/dev_protocol.txt",
    log:
        f"{R}/logs/cm/select/{{cm}}.log",
    conda:
        "../envs/cm.yaml"
    params:
        spec=lambda w: cm_plan.spec_json(w.cm),
        results=parent_of("input", "train", levels=2),
        out_dir=parent_of("output", "spec"),
    shell:
        "python -m codecfake step cm-select --spec {params.spec:q} --train-manifest {input.train:q}"
        " --dev-manifest {input.dev:q} --results-dir {params.results:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule cm_train:
    input:
        spec=rules.cm_select.output.spec,
        train=rules.cm_select.output.train,
        dev=rules.cm_select.output.dev,
        ssl=lambda w: cm_plan.ssl_inputs(w.cm),
    output:
        model=f"{R}/cm/{{cm}}/model.pt",
        log_table=f"{R}/cm/{{cm}}/train_log.tsv",
    log:
        f"{R}/logs/cm/train/{{cm}}.log",
    conda:
        "../envs/cm.yaml"
    threads: cm_plan.resource("threads")
    resources:
        gpu=cm_plan.gpus(),
        mem_mb=cm_plan.resource("mem_mb"),
        runtime=cm_plan.resource("train_runtime"),
    params:
        out_dir=parent_of("output", "model"),
        device=cm_plan.device,
        cache=parent_of("input", "ssl", default=f"{config['weights_dir']}/ssl"),
    shell:
        "python -m codecfake step cm-train --spec {input.spec:q} --train {input.train:q} --dev {input.dev:q}"
        " --out-dir {params.out_dir:q} --device {params.device:q} --cache-dir {params.cache:q} --threads {threads}"
        " 2> {log:q}"


rule cm_eval_set:
    input:
        lambda w: cm_plan.eval_set_inputs(w.eval_set),
    output:
        f"{R}/eval/sets/{{eval_set}}.tsv",
    log:
        f"{R}/logs/cm/eval_sets/{{eval_set}}.log",
    conda:
        "../envs/cm.yaml"
    params:
        spec=lambda w: cm_plan.eval_set_json(w.eval_set),
        results=parent_of("output", 0, levels=3),
    shell:
        "python -m codecfake step cm-eval-set --name {wildcards.eval_set:q} --spec {params.spec:q}"
        " --results-dir {params.results:q} --out {output:q} 2> {log:q}"


rule cm_score:
    input:
        model=rules.cm_train.output.model,
        trials=rules.cm_eval_set.output[0],
    output:
        f"{R}/eval/scores/{{cm}}/{{eval_set}}.tsv",
    log:
        f"{R}/logs/cm/score/{{cm}}/{{eval_set}}.log",
    conda:
        "../envs/cm.yaml"
    threads: cm_plan.resource("threads")
    resources:
        gpu=cm_plan.gpus(),
        mem_mb=cm_plan.resource("mem_mb"),
        runtime=cm_plan.resource("score_runtime"),
    params:
        device=cm_plan.device,
    shell:
        "python -m codecfake step cm-score --model {input.model:q} --trials {input.trials:q} --out {output:q}"
        " --device {params.device:q} --threads {threads} 2> {log:q}"


rule cm_evaluate:
    input:
        rules.cm_score.output[0],
    output:
        eer=f"{R}/eval/metrics/{{cm}}/{{eval_set}}.eer.tsv",
        confusion=f"{R}/eval/metrics/{{cm}}/{{eval_set}}.confusion.tsv",
    log:
        f"{R}/logs/cm/evaluate/{{cm}}/{{eval_set}}.log",
    conda:
        "../envs/cm.yaml"
    params:
        condition=lambda w: cm_plan.ci_condition(w.eval_set),
        ci=cm_plan.ci,
    shell:
        "python -m codecfake step cm-evaluate --scores {input:q} --cm {wildcards.cm:q} --eval-set {wildcards.eval_set:q}"
        " --condition {params.condition:q} --bootstraps {params.ci[bootstraps]:q} --alpha {params.ci[alpha]:q}"
        " --eer-out {output.eer:q} --confusion-out {output.confusion:q} 2> {log:q}"


rule cm_tables:
    input:
        eer=expand(rules.cm_evaluate.output.eer, cm=cm_plan.names, eval_set=cm_plan.eval_sets),
        confusion=expand(rules.cm_evaluate.output.confusion, cm=cm_plan.names, eval_set=cm_plan.eval_sets),
    output:
        eer=report(f"{R}/eval/eer.tsv", caption="../report/cm_eer.rst", category="Countermeasures"),
        confusion=report(f"{R}/eval/confusion.tsv", caption="../report/cm_confusion.rst", category="Countermeasures"),
    log:
        f"{R}/logs/cm/tables.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake step concat --tables {input.eer:q} --out {output.eer:q} 2> {log:q}"
        " && python -m codecfake step concat --tables {input.confusion:q} --out {output.confusion:q} 2>> {log:q}"


rule cm_report:
    input:
        eer=expand(rules.cm_tables.output.eer),
        scores=expand(rules.cm_score.output[0], cm=cm_plan.names, eval_set=cm_plan.eval_sets),
        train_sets=expand(rules.cm_select.output.train, cm=cm_plan.names),
        quality=cm_plan.quality_inputs(),
    output:
        taxonomy=report(f"{R}/eval/taxonomy_level.tsv", caption="../report/cm_taxonomy.rst", category="Countermeasures"),
        heatmap=report(
            f"{R}/eval/heatmap_codec_level.png", caption="../report/cm_heatmap.rst", category="Countermeasures"
        ),
    log:
        f"{R}/logs/cm/report.log",
    conda:
        "../envs/cm.yaml"
    params:
        taxonomy_sets=cm_plan.taxonomy_sets(),
        quality=cm_plan.quality_args(),
    shell:
        "python -m codecfake step cm-report --eer {input.eer:q} --scores {input.scores:q}"
        " --train-sets {input.train_sets:q} --taxonomy-sets {params.taxonomy_sets:q} {params.quality:q}"
        " --taxonomy-out {output.taxonomy:q} --heatmap-out {output.heatmap:q} 2> {log:q}"


rule fetch_ssl_weights:
    output:
        f"{config['weights_dir']}/ssl/{{hub}}@{{revision}}.txt",
    log:
        f"{config['weights_dir']}/logs/ssl/{{hub}}@{{revision}}.log",
    localrule: True
    conda:
        "../envs/cm.yaml"
    params:
        name=lambda w: w.hub.replace("--", "/", 1),
        cache=parent_of("output", 0),
    shell:
        "python -m codecfake fetch ssl-weights --name {params.name:q} --revision {wildcards.revision:q}"
        " --cache-dir {params.cache:q} > {output:q} 2> {log:q}"


rule fetch_dataset:
    output:
        touch(f"{R}/datasets/{{dataset}}.fetched"),
    log:
        f"{R}/logs/cm/fetch/{{dataset}}.log",
    localrule: True
    conda:
        "../envs/cm.yaml"
    params:
        args=lambda w: cm_plan.fetch_args(w.dataset),
    shell:
        "python -m codecfake fetch dataset {params.args:q} 2> {log:q}"


# Paper Fig. 7: each CM (its training set) x each evaluation set, pooled EER.
rule cm_train_eval_heatmap:
    input:
        rules.cm_tables.output.eer,
    output:
        report(
            f"{R}/eval/heatmap_train_eval.png",
            caption="../report/cm_heatmap_train_eval.rst",
            category="Countermeasures",
        ),
    log:
        f"{R}/logs/cm/heatmap_train_eval.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake step cm-train-eval-heatmap --eer {input:q} --out {output:q} 2> {log:q}"
