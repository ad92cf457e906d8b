"""A tiny tracer end to end on synthetic CoRS data: DEC-balanced selection without a held-out codec, training,
evaluation. Every head must beat the majority-class macro F1 on held-in codecs; the held-out codec gets its own
rows and confusion matrices."""
import numpy as np
import pandas as pd
import pytest
import torch

from codecfake.cm import evalsets
from codecfake.cm.presets import resolve
from codecfake.cm.selection import select
from codecfake.trace.evaluate import evaluate
from codecfake.trace.train import train_tracer
from tests.cm_fixtures import one_thread  # noqa: F401 (autouse)
from tests.trace_fixtures import ARCH, CODECS, make_results

HELD_OUT = "SemantiCodec_0.70kbps_16k"  # the only SEM codec: its AUX class is never seen in training
TASKS = ["binary", "VQ", "AUX", "DEC"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the autouse one_thread; tiny models are faster on one
    try:
        return _run(tmp_path_factory)
    finally:
        torch.set_num_threads(threads)


def _run(tmp_path_factory):
    root = make_results(tmp_path_factory.mktemp("trace_e2e"), {"train": 8, "dev": 3, "eval": 4})
    sets = {split: evalsets.cors(root / "manifests" / f"cors_{split}.tsv", root) for split in ("train", "dev", "eval")}
    strategy = {"strategy": "balanced", "attribute": "DEC", "scale": 4,
                "codecs": [c for c in CODECS if c != HELD_OUT]}
    train, dev = select(sets["train"], strategy, 0), select(sets["dev"], strategy, 0)
    spec = resolve("aasist", ARCH, {"epochs": 15, "batch_size": 8, "lr": 5e-3, "crop_samples": 8000, "rawboost": 0,
                                    "scheduler": {"name": "constant"}})
    spec.update(name="tiny", seed=0, trace={"tasks": TASKS, "learn_head_weights": True})
    out = root / "trace" / "tiny"
    result = train_tracer(spec, train, dev, out, device="cpu", progress=False)
    metrics = evaluate(out / "model.pt", sets["eval"], "tiny", "CoRS_eval", out / "CoRS_eval", [HELD_OUT],
                       device="cpu", progress=False)
    return {"train": train, "result": result, "metrics": metrics, "out": out}


@pytest.mark.slow
def test_selection_is_balanced_and_excludes_the_held_out_codec(run):
    train = run["train"]
    assert HELD_OUT not in set(train["system"])
    spoof = train[train["label"] == "spoof"]
    counts = spoof["DEC"].value_counts()
    assert len(counts) == 2 and counts.max() - counts.min() <= 1  # DEC-balanced: TIME and FREQ within one


@pytest.mark.slow
def test_every_head_beats_the_majority_class_on_held_in_codecs(run):
    metrics = run["metrics"]
    held_in = metrics[metrics["subset"] == "held_in"].set_index("head")
    assert list(held_in.index) == TASKS
    for head, row in held_in.iterrows():
        assert row["macro_f1"] > row["majority_macro_f1"], (head, row.to_dict())
    assert held_in.loc["binary", "eer"] < 0.25
    log = pd.read_csv(run["out"] / "train_log.tsv", sep="\t")
    assert len(log) == 15 and log["best"].any()
    assert {f"weight_{t}" for t in TASKS} <= set(log.columns)
    assert not np.allclose(log[[f"weight_{t}" for t in TASKS]].iloc[-1], 1.0)  # the weights were learned


@pytest.mark.slow
def test_outputs_per_head_and_subset(run):
    out, metrics = run["out"] / "CoRS_eval", run["metrics"]
    assert set(metrics["subset"]) == {"pooled", "held_in", "held_out", *(f"system={c}" for c in CODECS)}
    assert metrics.equals(pd.read_csv(out / "metrics.tsv", sep="\t"))
    held_out = metrics[metrics["subset"] == "held_out"]
    assert set(held_out["n"]) == {8}  # 4 bona fide + 4 spoofs of the held-out codec
    for folder in (out, out / "held_out"):
        for head in TASKS:
            table = pd.read_csv(folder / f"confusion_{head}.tsv", sep="\t")
            assert list(table["true"]) == list(table.columns[1:])
            assert (folder / f"confusion_{head}.png").read_bytes()[:4] == b"\x89PNG"
    pooled = pd.read_csv(out / "confusion_AUX.tsv", sep="\t").set_index("true")
    assert int(pooled.to_numpy().sum()) == 24
    predictions = pd.read_csv(out / "predictions.tsv", sep="\t")
    for head in TASKS:
        columns = [c for c in predictions.columns if c.startswith(f"p_{head}_")]
        assert np.allclose(predictions[columns].sum(axis=1), 1.0)
