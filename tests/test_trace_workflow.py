"""The trace rules at parse time: held-out codecs leave the training selection and add held-out outputs, GPU
resources, configuration errors stop the workflow before any job runs."""
from __future__ import annotations

import json
import re

import yaml

from tests.tinyrun import REPO, demo_config, run

CODECS = ["Encodec_6b24k", "vocos_encodec_6", "Encodec_24b24k"]


def trace_config(**tracer) -> dict:
    demo = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())["trace"]
    return {**demo, "device": None, "tracers": [{**demo["tracers"][0], **tracer}]}


def test_held_out_codecs_and_gpu_resources_in_the_plan(tmp_path):
    config = demo_config(tmp_path, codecs=CODECS, quality={"enabled": False}, cm={}, device="auto",
                         trace=trace_config(held_out=["Encodec_24b24k"], tasks=["binary", "DEC"]))
    # the local profile caps gpu at the GPUs this machine has (none here): allow one for the dry run
    result = run(tmp_path, config, "--cores", "2", "-n", "-p", "results/trace/metrics.tsv", "--resources", "gpu=1")
    out = result.stdout
    spec = json.loads(re.search(r"cm-select --spec '(\{.*?\})'", out).group(1))
    assert spec["train_set"]["codecs"] == ["Encodec_6b24k", "vocos_encodec_6"]
    assert spec["trace"]["held_out"] == ["Encodec_24b24k"] and spec["trace"]["tasks"] == ["binary", "DEC"]
    evaluations = re.findall(r"rule trace_evaluate:.*?output: ([^\n]*)", out, re.S)
    assert evaluations == ["results/trace/tracer_tiny/CoRS_eval"]  # one rule, one folder per (tracer, set)
    assert "--held-out Encodec_24b24k" in out
    trains = re.findall(r"rule trace_train:.*?resources: ([^\n]*)", out, re.S)
    assert len(trains) == 1 and "gpu=1" in trains[0]


def test_trace_config_errors_stop_at_parse_time(tmp_path):
    config = demo_config(tmp_path, codecs=CODECS[:2], quality={"enabled": False}, cm={},
                         trace=trace_config(held_out=["DAC24"]))
    result = run(tmp_path, config, "--cores", "2", "-n", check=False)
    assert result.returncode != 0
    assert "codec 'DAC24' is not in the workflow's codecs list" in result.stdout + result.stderr
    config = demo_config(tmp_path, codecs=CODECS[:2], quality={"enabled": False}, cm={},
                         trace=trace_config(tasks=["binary", "codec"]))
    result = run(tmp_path, config, "--cores", "2", "-n", check=False)
    assert result.returncode != 0 and "tasks" in result.stdout + result.stderr
