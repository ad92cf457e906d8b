"""The Codecfake demo (configs/demo_codecfake.yaml) end to end, trimmed: both synthetic corpora split by utterance,
seven Codecfake conditions with random weights (DAC's C7 left out: slower than real time on CPU), Codecfake's
layout written, a tiny CM trained on the C1-C6 codecs and evaluated per condition on the layout read back."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from codecfake import registry
from tests.tinyrun import REPO, run

LINE = re.compile(r"^(\S+\.wav) (real|fake) (\S+)$")
#: configs/demo_codecfake.yaml's codecs less DAC44_8kbps (C7), each with the condition its registry entry names.
CODECS = {"SpeechTokenizer_hubert_avg": "C2", "FunCodec_en-libritts-16k-gr1nq32ds320": "C3",
          "FunCodec_en-libritts-16k-gr1nq32ds320_3k": "C3-1", "Encodec_6b24k": "C4", "Encodec_3b24k": "C4-1",
          "Encodec_12b24k": "C4-2", "Encodec_24b24k": "C4-3"}


def demo_codecfake_config(workdir) -> dict:
    config = yaml.safe_load((REPO / "configs" / "demo_codecfake.yaml").read_text())
    results = "results"
    config["results_dir"] = results
    for corpus in config["corpora"]:
        corpus["root"] = f"{results}/corpus/{corpus['name']}"
        corpus["split"].update(dev_fraction=0.25, eval_fraction=0.25)  # 4 utterances: 2 train, 1 dev, 1 eval
    config["demo_corpus"].update(utterances=4, min_seconds=0.8, max_seconds=1.0)
    config["codecs"] = list(CODECS)
    config["cm"]["datasets"]["Codecfake"]["root"] = f"{results}/codecfake"
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo_codecfake")
    config = demo_codecfake_config(workdir)
    run(workdir, workdir / "config.yaml", "--cores", "2", timeout=600)
    return workdir / "results", config


def test_the_codecs_are_the_demo_configs_less_c7():
    demo_codecs = yaml.safe_load((REPO / "configs" / "demo_codecfake.yaml").read_text())["codecs"]
    assert [c for c in demo_codecs if c != "DAC44_8kbps"] == list(CODECS)
    assert {c: registry.get(c).codecfake_condition for c in CODECS} == CODECS


@pytest.mark.slow
def test_labels_cover_both_corpora_and_seven_conditions(demo):
    results, _ = demo
    labels = sorted((results / "codecfake" / "label").glob("*.txt"))
    assert sorted(p.stem for p in labels) == sorted(["train", "dev", *CODECS.values()])
    lines = [line for path in labels for line in path.read_text().splitlines()]
    assert lines and all(LINE.fullmatch(line) for line in lines), [x for x in lines if not LINE.fullmatch(x)][:3]
    files = [LINE.fullmatch(line).group(1) for line in lines]
    assert any(re.search(r"SSB\d{8}\.wav$", f) for f in files) and any(re.search(r"p\d{3}_\d{3}\.wav$", f)
                                                                       for f in files)
    fake_types = {LINE.fullmatch(line).group(3) for line in lines if " fake " in line}
    # methods: 2, 3, 4 for C2-C4, the sub-conditions by their ids
    assert fake_types == {"2", "3", "4", "C3-1", "C4-1", "C4-2", "C4-3"}
    for condition in CODECS.values():
        rows = [LINE.fullmatch(x).groups() for x in (results / "codecfake/label" / f"{condition}.txt").read_text()
                .splitlines()]
        reals = [f for f, kind, _ in rows if kind == "real"]
        assert len(reals) == 4 and len(rows) == 8  # one test utterance per speaker, and its fake
        for name, _, _ in rows:
            assert (results / "codecfake/test" / condition / name).is_file()


@pytest.mark.slow
def test_an_eer_row_per_condition_with_its_interval(demo):
    results, _ = demo
    table = pd.read_csv(results / "eval/codecfake_conditions.tsv", sep="\t", keep_default_na=False)
    # the order of Codecfake's tables (C1, C2, C3, C3-1..C3-4, C4, C4-1..C4-3, C5-C7, A1-A3), then pooled
    assert list(table["condition"]) == ["C2", "C3", "C3-1", "C4", "C4-1", "C4-2", "C4-3", "pooled"]
    assert set(table["cm"]) == {"aasist_tiny_codec_trained"} and set(table["eval_set"]) == {"Codecfake"}
    eer = table["eer"].astype(float).to_numpy()
    assert np.all((eer >= 0) & (eer <= 1))
    low, high = table["ci_low"].astype(float).to_numpy(), table["ci_high"].astype(float).to_numpy()
    assert np.all(low <= eer + 1e-12) and np.all(eer <= high + 1e-12)
    convention = table["eer_codecfake_convention"].astype(float).to_numpy()
    assert np.all(convention <= eer + 1e-12)
    assert (table.loc[table["condition"] != "pooled", "n_bonafide"] == 4).all()
    assert (table.loc[table["condition"] != "pooled", "n_spoof"] == 4).all()
