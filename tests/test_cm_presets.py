"""The papers' presets (configs/codecfake_plus.yaml, codecfake.yaml, source_tracing.yaml) validate on top of the main
config and resolve to the papers' training settings."""
import copy

import pytest
import yaml
from snakemake.utils import validate

from codecfake import registry
from codecfake.cm.workflow import CMPlan
from codecfake.trace.workflow import TracePlan
from tests.tinyrun import REPO, run_plan


def merged(*presets: str) -> dict:
    """config.yaml, then each preset over it key by key (as further --configfiles), validated with defaults."""
    def merge(base, over):
        out = copy.deepcopy(base)
        for key, value in over.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for preset in presets:
        config = merge(config, yaml.safe_load((REPO / "configs" / preset).read_text()))
    validate(config, str(REPO / "config.schema.yaml"))
    return config


def test_codecfake_plus():
    config = merged("codecfake_plus.yaml")
    plan = CMPlan(run_plan(config, "results"))
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
    """Codecfake's three settings (vocoder-, codec-, co-trained + CSAM) over its dataset preset, with its own
    training (main_train.py) and choices: first 4 s, lowest dev loss, softmax bona fide probability as the score."""
    config = merged("codecfake_dataset.yaml", "codecfake.yaml")
    plan = CMPlan(run_plan(config, config["results_dir"]))
    assert plan.names == ["cf_vocoder_mel_lcnn", "cf_vocoder_w2v2_lcnn", "cf_vocoder_w2v2_aasist", "cf_codec_mel_lcnn",
                          "cf_codec_w2v2_lcnn", "cf_codec_w2v2_aasist", "cf_codec_wavlm_aasist",
                          "cf_cotrain_w2v2_aasist_csam"]
    for name in plan.names:
        train = plan.spec(name)["train"]
        assert (train["lr"], train["weight_decay"], train["batch_size"], train["epochs"]) == (5e-4, 5e-4, 128, 10)
        assert train["scheduler"] == {"name": "step", "every_epochs": 2, "gamma": 0.5}
        assert train["class_weights"] == {"spoof": 1.0, "bonafide": 10.0}
        assert (train["crop"], train["crop_samples"], train["select"], train["score"]) == \
            ("first", 64600, "loss", "probability")
    for name in ("cf_vocoder_w2v2_lcnn", "cf_codec_w2v2_aasist", "cf_cotrain_w2v2_aasist_csam"):
        ssl = plan.spec(name)["arch"]["ssl"]
        assert (ssl["kind"], ssl["pretrained"], ssl["layer"], ssl["freeze"]) == \
            ("wav2vec2", "facebook/wav2vec2-xls-r-300m", 5, True)
    wavlm = plan.spec("cf_codec_wavlm_aasist")["arch"]["ssl"]
    assert (wavlm["kind"], wavlm["pretrained"], wavlm["layer"]) == ("wavlm", "microsoft/wavlm-large", 5)
    vocoder = plan.spec("cf_vocoder_mel_lcnn")["train_set"]
    assert vocoder["strategy"] == "external" and [s["name"] for s in vocoder["external"]] == ["ASVspoof2019"]
    codec = plan.spec("cf_codec_w2v2_aasist")["train_set"]
    entries = registry.codecs()
    assert sorted(entries[c].codecfake_condition for c in codec["codecs"]) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    csam = plan.spec("cf_cotrain_w2v2_aasist_csam")
    assert csam["train"]["csam"]["enabled"] and csam["train"]["csam"]["rho"] == 0.05
    assert csam["train_set"]["codecs"] == codec["codecs"]
    assert [s["name"] for s in csam["train_set"]["external"]] == ["ASVspoof2019"]
    layout = plan.eval_set_spec("Codecfake")
    assert (layout["format"], layout["root"]) == ("codecfake", f"{config['results_dir']}/codecfake")


def test_codecfake_dataset_runs_one_configuration_per_condition():
    config = merged("codecfake_dataset.yaml")
    conditions = [registry.get(codec).codecfake_condition for codec in config["codecs"]]
    assert sorted(conditions) == sorted(["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C3-1", "C3-2", "C3-3", "C3-4",
                                         "C4-1", "C4-2", "C4-3"])
    assert [c["name"] for c in config["corpora"]] == ["vctk", "aishell3"]
    assert all(c["split"]["by"] == "utterance" for c in config["corpora"]) and config["codecfake_layout"]["write"]


@pytest.mark.parametrize("tracer, tasks", [("st_m1", ["binary", "VQ", "AUX", "DEC"]), ("st_m2", ["VQ", "AUX", "DEC"])])
def test_source_tracing(tracer, tasks):
    spec = TracePlan(run_plan(merged("source_tracing.yaml"))).spec(tracer)
    train = spec["train"]
    assert spec["model"] == "w2v2_aasist" and spec["trace"]["tasks"] == tasks
    assert (train["epochs"], train["batch_size"], train["lr"], train["weight_decay"]) == (20, 8, 1e-6, 1e-4)
    assert (train["crop"], train["crop_samples"], train["rawboost"]) == ("first", 64600, 5)
    assert spec["trace"]["class_weights"] == "reference" and spec["trace"]["select"] == "loss"
    assert spec["trace"]["head_weights"] == {} and not spec["trace"]["learn_head_weights"]
    assert spec["train_set"]["attribute"] == "AUX"
