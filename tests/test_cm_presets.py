"""The papers' presets (configs/codecfake_plus.yaml, codecfake.yaml, source_tracing.yaml) validate on top of the main
config and resolve to the papers' training settings."""
import copy

import pytest
import yaml
from snakemake.utils import validate

from codecfake.cm.workflow import CMPlan
from codecfake.trace.workflow import TracePlan
from tests.tinyrun import REPO


def merged(preset: str) -> dict:
    """config.yaml, then the preset over it key by key (as a second --configfile), validated with defaults."""
    def merge(base, over):
        out = copy.deepcopy(base)
        for key, value in over.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out
    config = merge(yaml.safe_load((REPO / "config.yaml").read_text()),
                   yaml.safe_load((REPO / "configs" / preset).read_text()))
    validate(config, str(REPO / "config.schema.yaml"))
    return config


def test_codecfake_plus():
    config = merged("codecfake_plus.yaml")
    plan = CMPlan(config, "results")
    codec_level = [n for n in plan.names if n.startswith("cfp_codec_")]
    assert len(codec_level) == len(config["codecs"])
    for name in plan.names:
        spec = plan.spec(name)
        train, ssl = spec["train"], spec["arch"]["ssl"]
        assert spec["model"] == "w2v2_aasist" and ssl["pretrained"] == "facebook/wav2vec2-xls-r-300m"
        assert not ssl["freeze"] and spec["arch"]["backend"] == "aasist"
        assert (train["rawboost"], train["lr"], train["weight_decay"], train["batch_size"]) == (5, 1e-6, 1e-4, 14)
        assert train["epochs"] == (4 if name in codec_level else 20)
    assert {plan.spec(n)["train_set"]["attribute"] for n in ("cfp_vq", "cfp_aux", "cfp_dec")} == {"QUA", "AUX", "DEC"}


def test_codecfake():
    plan = CMPlan(merged("codecfake.yaml"), "results")
    assert plan.names == ["cf_mel_lcnn", "cf_w2v2_lcnn", "cf_w2v2_aasist", "cf_w2v2_aasist_csam"]
    for name in plan.names:
        train = plan.spec(name)["train"]
        assert (train["lr"], train["weight_decay"], train["batch_size"], train["epochs"]) == (5e-4, 5e-4, 128, 10)
        assert train["scheduler"] == {"name": "step", "every_epochs": 2, "gamma": 0.5}
        assert train["class_weights"] == {"spoof": 1.0, "bonafide": 10.0}
    for name in ("cf_w2v2_lcnn", "cf_w2v2_aasist"):
        ssl = plan.spec(name)["arch"]["ssl"]
        assert (ssl["kind"], ssl["layer"], ssl["freeze"]) == ("wav2vec2", 5, True)
    csam = plan.spec("cf_w2v2_aasist_csam")
    assert csam["train"]["csam"]["enabled"] and csam["train"]["csam"]["rho"] == 0.05
    assert [s["name"] for s in csam["train_set"]["external"]] == ["ASVspoof2019"]


@pytest.mark.parametrize("tracer, tasks", [("st_m1", ["binary", "VQ", "AUX", "DEC"]), ("st_m2", ["VQ", "AUX", "DEC"])])
def test_source_tracing(tracer, tasks):
    spec = TracePlan(merged("source_tracing.yaml"), "results").spec(tracer)
    train = spec["train"]
    assert spec["model"] == "w2v2_aasist" and spec["trace"]["tasks"] == tasks
    assert (train["epochs"], train["batch_size"], train["lr"], train["weight_decay"]) == (20, 8, 1e-6, 1e-4)
    assert (train["crop"], train["crop_samples"], train["rawboost"]) == ("first", 64600, 5)
    assert spec["trace"]["class_weights"] == "reference" and spec["trace"]["select"] == "loss"
    assert spec["trace"]["head_weights"] == {} and not spec["trace"]["learn_head_weights"]
    assert spec["train_set"]["attribute"] == "AUX"
