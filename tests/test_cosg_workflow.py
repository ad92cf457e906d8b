"""rules/cosg.smk in the workflow: the jobs a demo-like config plans, and the CoSG part run end to end on the demo
corpus with the test doubles of tests/cosg_stub/sitecustomize.py in place of a real generator (their docstring
says what they stand for); plus the CM side: generated sets as data sets and the `external` train_set strategy."""
from __future__ import annotations

import os
from collections import Counter
from types import SimpleNamespace

import pandas as pd
import pytest
import soundfile as sf
import yaml

from codecfake.cm.selection import SelectionError, select
from codecfake.cm.workflow import CMPlan
from codecfake.cosg.plan import generated_datasets
from tests.tinyrun import REPO, demo_config, dry_run_jobs, run, run_plan

STUB = {"PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "cosg_stub"), str(REPO)])}
DEMO_COSG = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())["cosg"]


def cosg_config(**changes) -> dict:
    return {**DEMO_COSG, "generators": ["MaskGCT"], **changes}


def _counts(jobs) -> Counter:
    return Counter(job["rule"] for job in jobs if job["rule"].startswith("cosg_") or job["rule"] == "cm_eval_set")


def test_the_dag_lists_the_cosg_jobs(tmp_path):
    cm = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())["cm"]
    config = demo_config(tmp_path, cosg=cosg_config(shards={"train": 2, "dev": 1, "eval": 1}),
                         cm={**cm, "eval_sets": ["CoRS_eval", "MaskGCT-VCTK_eval"]})
    jobs = dry_run_jobs(tmp_path, config, "--cores", "2", env=STUB)
    counts = _counts(jobs)
    # quality.utmos is off in the demo: no cosg_utmos jobs
    assert counts == {"cosg_prompts": 3, "cosg_generate": 4, "cosg_protocol": 3, "cosg_card": 3, "cm_eval_set": 2}
    generate = [job for job in jobs if job["rule"] == "cosg_generate"]
    assert sorted((j["wildcards"]["split"], j["wildcards"]["shard"]) for j in generate) == [
        ("dev", "000of001"), ("eval", "000of001"), ("train", "000of002"), ("train", "001of002")]
    assert {j["wildcards"]["cosg_set"] for j in generate} == {"MaskGCT-VCTK"}
    assert {j["resources"].get("gpu") for j in generate} == {"0"}  # device cpu: no GPU asked for
    assert "cm_train_eval_heatmap" in {job["rule"] for job in jobs}


def test_e2_sets_and_gpu_resources_in_the_plan(tmp_path):
    listing = tmp_path / "e2.lst"
    listing.write_text("1089-134686-0000\t3.2\tHe hoped.\t1089-134686-0004\t6.1\tHello Bertie.\n")
    config = demo_config(tmp_path, cosg=cosg_config(device="cuda", weights="pretrained",
                                                    e2={"list": str(listing), "root": "ls"}),
                         quality={"enabled": True, "utmos": {"enabled": True, "weights": "random"}})
    # the local profile caps gpu at the GPUs this machine has (none here): allow one for the dry run
    jobs = dry_run_jobs(tmp_path, config, "--cores", "2", "--resources", "gpu=1", env=STUB)
    counts = _counts(jobs)
    assert counts["cosg_prompts"] == 4 and counts["cosg_generate"] == 4 and counts["cosg_protocol"] == 4
    assert counts["cosg_utmos"] == 4 and counts["cosg_utmos_summary"] == 1
    sets = {(j["wildcards"]["cosg_set"], j["wildcards"]["split"]) for j in jobs if j["rule"] == "cosg_generate"}
    assert ("MaskGCT-E2", "eval") in sets
    assert {j["resources"].get("gpu") for j in jobs if j["rule"] == "cosg_generate"} == {"1"}
    # pretrained: the checkpoints are fetched once, by a local rule, before any generation job
    fetches = [j for j in jobs if j["rule"] == "fetch_generator_weights"]
    assert [j["wildcards"] for j in fetches] == [{"generator": "MaskGCT"}]


def test_an_unknown_generator_stops_at_parse_time(tmp_path):
    config = demo_config(tmp_path, cosg=cosg_config(generators=["NoSuchTTS"]))
    result = run(tmp_path, config, "--cores", "2", "-n", check=False, env=STUB)
    assert result.returncode != 0
    assert "cosg.generators[0]: unknown generator 'NoSuchTTS'" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def cosg_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cosg")
    corpus = {**yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())["demo_corpus"], "utterances": 3,
              "min_seconds": 0.6, "max_seconds": 1.0}
    cm = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())["cm"]
    config = demo_config(workdir, cosg=cosg_config(), demo_corpus=corpus,
                         cm={**cm, "eval_sets": ["CoRS_eval", "MaskGCT-VCTK_eval"]})
    targets = [f"results/{kind}" for split in ("train", "dev", "eval")
               for kind in (f"protocols/MaskGCT-VCTK_{split}.txt", f"audio/cosg/MaskGCT-VCTK/provenance_{split}.json")]
    run(workdir, config, "--cores", "2", *targets, "results/eval/sets/MaskGCT-VCTK_eval.tsv", env=STUB)
    return workdir / "results"


@pytest.mark.slow
def test_the_demo_cosg_sets_end_to_end(cosg_run):
    expected = {"train": ["p225_001", "p225_002"], "dev": ["p226_001", "p226_002"], "eval": ["p227_001", "p227_002"]}
    for split, prompts in expected.items():
        lines = (cosg_run / f"protocols/MaskGCT-VCTK_{split}.txt").read_text().splitlines()
        assert lines == [line for utt in prompts for line in (f"MASKGCT {utt} - REAL bonafide",
                                                              f"MASKGCT {utt}_MaskGCT - MVQ spoof")]
        for line in lines:
            info = sf.info(cosg_run / "audio/cosg/MaskGCT-VCTK/MASKGCT" / f"{line.split()[1]}.wav")
            assert info.samplerate == 16000 and info.frames > 0
        manifest = pd.read_csv(cosg_run / f"manifests/cosg/MaskGCT-VCTK_{split}.tsv", sep="\t")
        spoof = manifest[manifest["label"] == "spoof"]
        # the next transcript of the same speaker (the demo corpus writes "... utterance N of speaker S.")
        speaker = prompts[0].split("_")[0]
        assert list(spoof["target_text"]) == [f"Synthetic demo utterance {n} of speaker {speaker}." for n in (2, 3)]
        card = yaml.safe_load((cosg_run / f"audio/cosg/MaskGCT-VCTK/provenance_{split}.json").read_text())
        assert card["rows"]["spoof"] == 2 and card["weights"]["random_weights"] is True
        assert card["generator"]["taxonomy"] == {"AUX": "Trad", "DEC": "FREQ", "VQ": "MVQ"}
    trials = pd.read_csv(cosg_run / "eval/sets/MaskGCT-VCTK_eval.tsv", sep="\t")
    assert Counter(trials["label"]) == {"bonafide": 2, "spoof": 2} and set(trials["system"]) == {"MASKGCT"}


def test_generated_sets_are_cm_data_sets(tmp_path):
    config = {"cosg": {**cosg_config(), "corpus_label": "VCTK", "e2": {"list": "e2.lst", "root": "ls"}},
              "cm": {"models": [{"name": "bl2", "model": "aasist", "train_set": {
                  "strategy": "external", "external": ["MaskGCT-VCTK_train"], "external_dev": ["MaskGCT-VCTK_dev"]}}],
                  "eval_sets": ["MaskGCT-VCTK_eval", "MaskGCT-E2"]},
              "codecs": [], "seed": 0}
    vctk, e2 = "res/audio/cosg/MaskGCT-VCTK", "res/audio/cosg/MaskGCT-E2"
    def generated(cosg_set, split):
        return {"cosg_set": cosg_set, "split": split}

    assert generated_datasets(config, "res") == {
        "MaskGCT-VCTK_train": {"format": "cosg", "root": vctk, "generated": generated("MaskGCT-VCTK", "train")},
        "MaskGCT-VCTK_dev": {"format": "cosg", "root": vctk, "generated": generated("MaskGCT-VCTK", "dev")},
        "MaskGCT-VCTK_eval": {"format": "cosg", "root": vctk, "generated": generated("MaskGCT-VCTK", "eval")},
        "MaskGCT-E2": {"format": "cosg", "root": e2, "generated": generated("MaskGCT-E2", "eval")}}
    protocol = SimpleNamespace(output=SimpleNamespace(protocol="res/protocols/{cosg_set}_{split}.txt"))
    plan = CMPlan(run_plan(config, "res", SimpleNamespace(cosg_protocol=protocol)))  # rules.cosg_protocol
    assert plan.external_inputs("bl2") == ["res/protocols/MaskGCT-VCTK_train.txt",
                                           "res/protocols/MaskGCT-VCTK_dev.txt"]
    assert plan.eval_set_inputs("MaskGCT-E2") == ["res/protocols/MaskGCT-E2_eval.txt"]
    assert plan.dataset_spec("MaskGCT-VCTK_eval") == {"format": "cosg", "root": vctk,
                                                      "protocol": "res/protocols/MaskGCT-VCTK_eval.txt"}
    assert plan.ci_condition("MaskGCT-VCTK_eval") == "system"
    assert plan.spec("bl2")["train_set"]["strategy"] == "external"


def _trials(utts, label, domain):
    return pd.DataFrame([{"utt_id": u, "path": f"/a/{u}.wav", "label": label, "speaker": "s", "source_utt": u,
                          "system": "bonafide" if label == "bonafide" else "MASKGCT", "QUA": "MVQ", "AUX": "Trad",
                          "DEC": "FREQ", "domain": domain} for u in utts])


def test_external_strategy_trains_on_the_external_sets_only():
    cors = pd.concat([_trials(["c1"], "bonafide", "CoRS"), _trials(["c1_codec"], "spoof", "CoRS")])
    generated = pd.concat([_trials(["g1"], "bonafide", "MaskGCT-VCTK_train"),
                           _trials(["g1_MaskGCT"], "spoof", "MaskGCT-VCTK_train")])
    selected = select(cors, {"strategy": "external"}, 0, [generated])
    assert sorted(selected["utt_id"]) == ["g1", "g1_MaskGCT"] and set(selected["domain"]) == {"MaskGCT-VCTK_train"}
    with pytest.raises(SelectionError, match="strategy external trains on external sets only, and none is given"):
        select(cors, {"strategy": "external"}, 0, [])


def test_the_cosg_vs_cors_preset():
    from tests.test_cm_presets import merged

    config = merged("cosg_vs_cors.yaml")
    protocol = SimpleNamespace(output=SimpleNamespace(protocol="results/protocols/{cosg_set}_{split}.txt"))
    plan = CMPlan(run_plan(config, "results", SimpleNamespace(cosg_protocol=protocol)))  # rules.cosg_protocol
    assert plan.names == ["BL1", "BL2", "CoRS_DEC_balanced", "CoRS_EnCodec", "CoRS_DAC", "CoRS_Vocos", "CoRS_FACodec"]
    assert plan.eval_sets == ["CoSG", "MaskGCT-VCTK_eval", "MaskGCT-E2"]
    assert plan.external_inputs("BL2") == ["results/protocols/MaskGCT-VCTK_train.txt",
                                           "results/protocols/MaskGCT-VCTK_dev.txt"]
    assert plan.spec("BL1")["train_set"]["external"][0]["format"] == "asvspoof2019"
    assert plan.spec("CoRS_DEC_balanced")["train_set"]["attribute"] == "DEC"
    assert {plan.ci_condition(s) for s in plan.eval_sets} == {"system"}
    assert plan.eval_set_inputs("MaskGCT-E2") == ["results/protocols/MaskGCT-E2_eval.txt"]
    for name in plan.names:
        train = plan.spec(name)["train"]
        assert (plan.spec(name)["model"], train["epochs"], train["lr"], train["rawboost"]) == (
            "w2v2_aasist", 20, 1e-6, 5)


def test_fig7_heatmap_is_training_set_by_evaluation_set(tmp_path, monkeypatch):
    from codecfake.cm import report

    eer = pd.DataFrame([{"cm": cm, "eval_set": s, "system": system, "eer": value}
                        for cm, s, system, value in [("BL1", "CoSG", "pooled", 0.3), ("BL1", "CoSG", "VALLE", 0.5),
                                                     ("BL2", "CoSG", "pooled", 0.2),
                                                     ("BL1", "MaskGCT-E2", "pooled", 0.4),
                                                     ("BL2", "MaskGCT-E2", "pooled", 0.1)]])
    drawn = []
    monkeypatch.setattr(report, "heatmap", lambda frame, sets, path: drawn.append((frame, sets)))
    report.train_eval_heatmap(eer, tmp_path / "h.png")
    frame, sets = drawn[0]
    table = frame.pivot_table(index="cm", columns="system", values="eer")
    assert table.to_dict() == {"CoSG": {"BL1": 0.3, "BL2": 0.2}, "MaskGCT-E2": {"BL1": 0.4, "BL2": 0.1}}
    assert sets == [report.TRAIN_EVAL_PANEL] and set(frame["eval_set"]) == set(sets)
    monkeypatch.undo()
    report.train_eval_heatmap(eer, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
