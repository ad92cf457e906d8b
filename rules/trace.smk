# Source tracing (multi-task CMs): selection (cm-select, taxonomy-balanced, held-out codecs removed) -> training
# (GPU) -> per-set predictions, per-head metrics and confusion matrices -> trace/metrics.tsv. Runs only when
# `trace.tracers` is set.
import os


rule trace_select:
    input:
        train=expand(rules.cors_protocol.output.manifest, split="train"),
        dev=expand(rules.cors_protocol.output.manifest, split="dev"),
    output:
        spec=f"{R}/trace/{{tracer}}/spec.json",
        train=f"{R}/trace/{{tracer}}/train.tsv",
        dev=f"{R}/trace/{{tracer}}/dev.tsv",
        train_protocol=f"{R}/trace/{{tracer}}/train_protocol.txt",
        dev_protocol=f"{R}/trace/{{tracer}}/dev_protocol.txt",
    log:
        f"{R}/logs/trace/select/{{tracer}}.log",
    conda:
        "../envs/cm.yaml"
    params:
        spec=lambda w: trace_plan.spec_json(w.tracer),
        results=parent_of("input", "train", levels=2),  # manifests/ is under results
        out_dir=parent_of("output", "spec"),
    shell:
        "python -m codecfake step cm-select --spec {params.spec:q} --train-manifest {input.train:q}"
        " --dev-manifest {input.dev:q} --results-dir {params.results:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule trace_train:
    input:
        spec=rules.trace_select.output.spec,
        train=rules.trace_select.output.train,
        dev=rules.trace_select.output.dev,
    output:
        model=f"{R}/trace/{{tracer}}/model.pt",
        log_table=report(
            f"{R}/trace/{{tracer}}/train_log.tsv",
            caption="../report/trace_train_log.rst",
            category="Source tracing",
            subcategory="Training",
        ),
    log:
        f"{R}/logs/trace/train/{{tracer}}.log",
    conda:
        "../envs/cm.yaml"
    threads: trace_plan.resource("threads")
    resources:
        gpu=trace_plan.gpus(),
        mem_mb=trace_plan.resource("mem_mb"),
        runtime=trace_plan.resource("train_runtime"),
    params:
        out_dir=parent_of("output", "model"),
        device=trace_plan.device,
        cache=f"{config['weights_dir']}/ssl",
    shell:
        "python -m codecfake step trace-train --spec {input.spec:q} --train {input.train:q} --dev {input.dev:q}"
        " --out-dir {params.out_dir:q} --device {params.device:q} --cache-dir {params.cache:q} --threads {threads}"
        " 2> {log:q}"


rule trace_eval_set:
    input:
        lambda w: trace_plan.cm_plan.eval_set_inputs(w.trace_set),
    output:
        f"{R}/trace/sets/{{trace_set}}.tsv",
    log:
        f"{R}/logs/trace/eval_sets/{{trace_set}}.log",
    conda:
        "../envs/cm.yaml"
    params:
        spec=lambda w: trace_plan.cm_plan.eval_set_json(w.trace_set),
        results=parent_of("output", 0, levels=3),  # trace/sets/ is under results
    shell:
        "python -m codecfake step cm-eval-set --name {wildcards.trace_set:q} --spec {params.spec:q}"
        " --results-dir {params.results:q} --out {output:q} 2> {log:q}"


# One folder per (tracer, set): predictions.tsv, metrics.tsv and confusion_<head>.{tsv,png} of the tracer's heads
# (+ held_out/ where codecs are held out of a CoRS set); a directory output, since heads differ between tracers.
rule trace_evaluate:
    input:
        model=rules.trace_train.output.model,
        trials=rules.trace_eval_set.output[0],
    output:
        report(
            directory(f"{R}/trace/{{tracer}}/{{trace_set}}"),
            patterns=["{name}.png"],
            caption="../report/trace_confusion.rst",
            category="Source tracing",
            subcategory="Confusion matrices",
        ),
    log:
        f"{R}/logs/trace/evaluate/{{tracer}}/{{trace_set}}.log",
    conda:
        "../envs/cm.yaml"
    threads: trace_plan.resource("threads")
    resources:
        gpu=trace_plan.gpus(),
        mem_mb=trace_plan.resource("mem_mb"),
        runtime=trace_plan.resource("eval_runtime"),
    params:
        held_out=lambda w: trace_plan.held_out(w.tracer, w.trace_set),
        device=trace_plan.device,
    shell:
        "python -m codecfake step trace-evaluate --model {input.model:q} --trials {input.trials:q}"
        " --tracer {wildcards.tracer:q} --eval-set {wildcards.trace_set:q} --held-out {params.held_out:q}"
        " --out-dir {output:q} --device {params.device:q} --threads {threads} 2> {log:q}"


rule trace_metrics:
    input:
        expand(rules.trace_evaluate.output[0], zip, **trace_plan.evaluation_pairs()),
    output:
        report(f"{R}/trace/metrics.tsv", caption="../report/trace_metrics.rst", category="Source tracing"),
    log:
        f"{R}/logs/trace/metrics.log",
    conda:
        "../envs/cm.yaml"
    params:
        tables=lambda w, input: [os.path.join(folder, "metrics.tsv") for folder in input],
    shell:
        "python -m codecfake step concat --tables {params.tables:q} --out {output:q} 2> {log:q}"
