"""The quality part of the workflow end to end on a tiny run, the report rendered in headless Chromium, and the
demo's own outputs where `make demo` has produced them."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from codecfake.quality.report_check import check_report, chromium
from tests.tinyrun import REPO, dry_run_jobs, run, tiny_config

CODECS = ["Encodec_6b24k", "Encodec_24b24k"]
SPLITS = ("train", "dev", "eval")
SUBSETS = ["bonafide", *CODECS]
DNSMOS = ["dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"]
#: 2.3-2.45 s clips: DNSMOS tiles a clip to >= 9.01 s and scores every 1 s hop of the tiling, so these lengths
#: cost one segment each (a 1 s clip costs seven).
CLIPS = {"speakers": ["p225", "p226", "p227"], "utterances": 1, "min_seconds": 2.3, "max_seconds": 2.45}


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def quality_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("quality")
    config = tiny_config(workdir, CODECS, demo_corpus=CLIPS,
                         quality={"utmos": {"enabled": False}, "artifacts": {"utterances": 1}})
    run(workdir, config, "--cores", "2")
    run(workdir, config, "--report", "results/report.html")
    return workdir


def check_metrics(table: pd.DataFrame, codecs: list[str]) -> None:
    """One row per (split, subset), bona fide included; DNSMOS in 0..5 and bona fide unlike some codec.

    DNSMOS P.835's polynomial mapping is not clipped to 1..5: very degraded audio maps below 1 (SIG 0.95 for the
    input-following random-weight codecs), as Microsoft's and speechmos' own scripts report it."""
    assert sorted(zip(table["split"], table["subset"])) == sorted((s, c) for s in SPLITS
                                                                  for c in ["bonafide", *codecs])
    for column in DNSMOS:
        assert table[f"{column}_mean"].between(0, 5).all(), column
    for split in SPLITS:
        rows = table[table["split"] == split].set_index("subset")["dnsmos_ovrl_mean"]
        assert (rows.drop("bonafide") - rows["bonafide"]).abs().max() > 0.05, split
    codec_rows = table[table["subset"] != "bonafide"]
    assert codec_rows["pesq_wb_mean"].between(1, 4.7).all() and codec_rows["stoi_mean"].between(0, 1).all()
    assert table.loc[table["subset"] == "bonafide", "pesq_wb_n"].eq(0).all()


@pytest.mark.slow
def test_metrics_have_a_row_per_split_and_subset_with_valid_dnsmos(quality_run):
    check_metrics(read(quality_run / "results/quality/metrics.tsv"), CODECS)


@pytest.mark.slow
def test_artifacts_stats_and_provenance_cards(quality_run):
    results = quality_run / "results"
    groups = read(results / "quality/artifacts.tsv").set_index("group")
    assert list(groups.index) == ["intra_family", "inter_family_same_taxonomy", "quantization", "auxiliary",
                                  "decoder"]
    assert groups.loc["intra_family", "pairs_used"] == "Encodec_6b24k~Encodec_24b24k"
    assert 0 < groups.loc["intra_family", "ssim_mean"] <= 1 and groups.loc["decoder", "pairs"] == 0
    pairs = read(results / "quality/artifact_pairs.tsv")
    assert pairs[["codec_a", "codec_b", "group"]].values.tolist() == [["Encodec_6b24k", "Encodec_24b24k",
                                                                     "intra_family"]]
    stats = read(results / "quality/stats.tsv")
    assert len(stats) == len(SPLITS) * (len(SUBSETS) + 1)
    assert stats.loc[stats["subset"] != "all", "utterances"].eq(1).all()
    for split in SPLITS:
        for subset in SUBSETS:
            card = json.loads((results / f"audio/{subset}/{split}/provenance.json").read_text())
            assert card["rows"]["files"] == 1 and card["weights"]["random_weights"] == (subset != "bonafide")
    summary = read(results / "quality/provenance.tsv")
    assert len(summary) == len(SPLITS) * len(SUBSETS)
    assert len(list((results / "quality/tables").glob("*.html"))) == 5


@pytest.mark.slow
def test_report_renders_with_its_figures_in_headless_chromium(quality_run, tmp_path):
    report = quality_run / "results/report.html"
    assert report.stat().st_size > 100_000
    if chromium() is None:
        pytest.skip("no Chromium here (apt-get install -y chromium): the report's rendering is not checked")
    found = check_report(report, tmp_path, "dnsmos_ovrl.png")
    assert found["figures"] == len(DNSMOS) + 4 + 1  # per-metric figures + residual examples
    assert found["blank_fraction"] < 0.9


def test_quality_jobs_grow_with_codecs_and_splits_not_utterances(tmp_path):
    def scheduled(utterances: int, codecs: list[str]) -> dict[str, int]:
        workdir = tmp_path / f"{utterances}_{len(codecs)}"
        config = tiny_config(workdir, codecs, shards={"train": 4, "dev": 1, "eval": 1},
                             demo_corpus={"speakers": ["p225", "p226", "p227"], "utterances": utterances})
        counts: dict[str, int] = {}
        for job in dry_run_jobs(workdir, config):
            counts[job["rule"]] = counts.get(job["rule"], 0) + 1
        return counts

    small, large = scheduled(1, CODECS), scheduled(40, CODECS)
    for rule in ("quality_scores", "utmos_scores", "provenance_card"):
        assert small[rule] == large[rule] == len(SPLITS) * len(SUBSETS), rule
    assert small["fetch_utmos_weights"] == 1
    assert scheduled(1, CODECS[:1])["quality_scores"] == len(SPLITS) * 2


@pytest.mark.slow
def test_utmos_rule_scores_with_random_weights_marked_and_fails_fast_offline(quality_run):
    target = "results/quality/utmos/bonafide/dev.tsv"
    config = tiny_config(quality_run, CODECS, name="random_utmos.yaml", demo_corpus=CLIPS,
                         quality={"utmos": {"weights": "random"}})
    run(quality_run, config, "--cores", "1", target)
    table = read(quality_run / target)
    assert len(table) == 1 and np.isfinite(table["utmos"]).all()
    assert table["utmos_weights"].str.startswith("random").all()
    config = tiny_config(quality_run, CODECS, name="pretrained_utmos.yaml", demo_corpus=CLIPS)
    failed = run(quality_run, config, "--cores", "1", "results/quality/utmos/bonafide/eval.tsv", check=False)
    assert failed.returncode != 0
    log = (quality_run / "weights/logs/utmos.log").read_text()
    assert "HF_HUB_OFFLINE=1" in log and "fetch_utmos_weights" in log


def test_demo_outputs_when_the_demo_has_run(tmp_path):
    metrics = REPO / "results/demo/quality/metrics.tsv"
    if not metrics.exists():
        pytest.skip("results/demo has no quality outputs (run `make demo`)")
    codecs = yaml.safe_load((REPO / "configs/demo.yaml").read_text())["codecs"]
    check_metrics(read(metrics), codecs)
    for split in SPLITS:
        for subset in ["bonafide", *codecs]:
            assert (REPO / f"results/demo/audio/{subset}/{split}/provenance.json").exists()
    report = REPO / "results/demo/report.html"
    if report.exists() and chromium() is not None:
        assert check_report(report, tmp_path)["figures"] >= 9
