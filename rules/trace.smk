# Source tracing (multi-task CMs): selection (cm-select, taxonomy-balanced, held-out codecs removed) -> training
# (GPU) -> per-set predictions, per-head metrics and confusion matrices -> trace/metrics.tsv. Runs only when
# `trace.tracers` is set.
import os

wildcard_constraints:
    **tplan.wildcard_constraints(),


rule trace_select:
    input:
        train=f"{R}/manifests/cors_train.tsv",
        dev=f"{R}/manifests/cors_dev.tsv",
    output:
        spec=f"{R}/trace/{{tracer}}/spec.json",
        train=f"{R}/trace/{{tracer}}/train.tsv",
        dev=f"{R}/trace/{{tracer}}/dev.tsv",
        train_protocol=f"{R}/trace/{{tracer}}/train_protocol.txt",
        dev_protocol=f"{R}/trace/{{tracer}}/dev_protocol.txt",
    params:
        spec=lambda w: tplan.spec_json(w.tracer),
        results=lambda w, input: os.path.dirname(os.path.dirname(input.train)),  # manifests/ is under results
        out_dir=lambda w, output: os.path.dirname(output.spec),
    log:
        f"{R}/logs/trace/select/{{tracer}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-select --spec {params.spec:q} --train-manifest {input.train}"
        " --dev-manifest {input.dev} --results-dir {params.results} --out-dir {params.out_dir} 2> {log}"


rule trace_train:
    input:
        spec=f"{R}/trace/{{tracer}}/spec.json",
        train=f"{R}/trace/{{tracer}}/train.tsv",
        dev=f"{R}/trace/{{tracer}}/dev.tsv",
    output:
        model=f"{R}/trace/{{tracer}}/model.pt",
        log_table=report(f"{R}/trace/{{tracer}}/train_log.tsv", caption="../report/trace_train_log.rst",
                         category="Source tracing", subcategory="Training"),
    params:
        out_dir=lambda w, output: os.path.dirname(output.model),
        device=tplan.device,
        cache=f"{config['weights_dir']}/ssl",
    threads: tplan.resource("threads", 4)
    resources:
        gpu=tplan.gpus(),
        mem_mb=tplan.resource("mem_mb", 32000),
        runtime=tplan.resource("train_runtime", 2880),
    log:
        f"{R}/logs/trace/train/{{tracer}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake trace-train --spec {input.spec} --train {input.train} --dev {input.dev}"
        " --out-dir {params.out_dir} --device {params.device} --cache-dir {params.cache} --threads {threads}"
        " 2> {log}"


rule trace_eval_set:
    input:
        lambda w: tplan.cmplan.eval_set_inputs(w.trace_set),
    output:
        f"{R}/trace/sets/{{trace_set}}.tsv",
    params:
        spec=lambda w: tplan.cmplan.eval_set_json(w.trace_set),
        results=lambda w, output: os.path.dirname(os.path.dirname(os.path.dirname(output[0]))),  # trace/sets/
    log:
        f"{R}/logs/trace/eval_sets/{{trace_set}}.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake cm-eval-set --name {wildcards.trace_set} --spec {params.spec:q}"
        " --results-dir {params.results} --out {output} 2> {log}"


# One evaluation rule per (tracer, set): its outputs name that tracer's heads' confusion matrices (and the
# held-out ones where codecs are held out of a CoRS set).
for _tracer, _set in tplan.evaluations():

    rule:
        name:
            tplan.rule_name("trace_evaluate", _tracer, _set)
        input:
            model=f"{R}/trace/{_tracer}/model.pt",
            trials=f"{R}/trace/sets/{_set}.tsv",
        output:
            tables=tplan.eval_outputs(_tracer, _set, "tsv"),
            figures=report(tplan.eval_outputs(_tracer, _set, "png"), caption="../report/trace_confusion.rst",
                           category="Source tracing", subcategory="Confusion matrices"),
        params:
            tracer=_tracer,
            eval_set=_set,
            out_dir=lambda w, output: os.path.dirname(output.tables[0]),
            held_out=tplan.held_out(_tracer, _set),
            device=tplan.device,
        threads: tplan.resource("threads", 4)
        resources:
            gpu=tplan.gpus(),
            mem_mb=tplan.resource("mem_mb", 32000),
            runtime=tplan.resource("eval_runtime", 240),
        log:
            f"{R}/logs/trace/evaluate/{_tracer}/{_set}.log",
        conda:
            "../envs/cm.yaml"
        shell:
            "python -m codecfake trace-evaluate --model {input.model} --trials {input.trials}"
            " --tracer {params.tracer} --eval-set {params.eval_set} --held-out {params.held_out}"
            " --out-dir {params.out_dir} --device {params.device} --threads {threads} 2> {log}"


rule trace_metrics:
    input:
        tplan.metrics(),
    output:
        report(f"{R}/trace/metrics.tsv", caption="../report/trace_metrics.rst", category="Source tracing"),
    log:
        f"{R}/logs/trace/metrics.log",
    conda:
        "../envs/cm.yaml"
    shell:
        "python -m codecfake trace-collect --metrics {input} --out {output} 2> {log}"
