"""Tracers train in codecfake.cm.train's loop: per-epoch checkpoints, and a run killed after an epoch resumes to
the same final state as an uninterrupted run; selection follows trace.select."""
import pandas as pd
import pytest
import torch

from codecfake.cm import data as cm_data
from codecfake.cm import evalsets
from codecfake.cm.presets import resolve
from codecfake.cm.selection import select
from codecfake.trace.train import train_tracer
from tests.cm_fixtures import one_thread  # noqa: F401 (autouse)
from tests.trace_fixtures import ARCH, CODECS, make_results


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = make_results(tmp_path_factory.mktemp("trace_train"), {"train": 2, "dev": 1}, seconds=0.3)
    strategy = {"strategy": "union", "codecs": CODECS}
    return [select(evalsets.cors(root / "manifests" / f"cors_{split}.tsv", root), strategy, 0)
            for split in ("train", "dev")]


def spec(epochs, **trace):
    result = resolve("aasist", ARCH, {"epochs": epochs, "batch_size": 4, "lr": 1e-3, "crop_samples": 4000,
                                      "rawboost": 5, "scheduler": {"name": "constant"}})
    result.update(name="tiny", seed=0, trace={"tasks": ["binary", "VQ", "AUX", "DEC"], **trace})
    return result


def log(path):
    return pd.read_csv(path, sep="\t").drop(columns=["seconds", "samples_per_second"])


def test_tracer_resumes_after_a_crash_to_the_uninterrupted_state(tables, tmp_path, monkeypatch):
    train, dev = tables
    reference = train_tracer(spec(2), train, dev, tmp_path / "reference", device="cpu", progress=False)
    assert reference.epochs_run == 2

    calls = {"n": 0}
    original = cm_data.CropDataset.__getitem__
    reads_per_epoch = len(train) + len(dev)

    def crash_in_epoch_two(self, index):
        calls["n"] += 1
        if calls["n"] > reads_per_epoch + 3:
            raise RuntimeError("simulated crash")
        return original(self, index)

    monkeypatch.setattr(cm_data.CropDataset, "__getitem__", crash_in_epoch_two)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_tracer(spec(2), train, dev, tmp_path / "resumed", device="cpu", progress=False)
    assert [p.name for p in (tmp_path / "resumed/checkpoints").glob("epoch_*.pt")] == ["epoch_0001.pt"]
    monkeypatch.setattr(cm_data.CropDataset, "__getitem__", original)

    resumed = train_tracer(spec(2), train, dev, tmp_path / "resumed", device="cpu", progress=False)
    assert resumed.best_epoch == reference.best_epoch and resumed.epochs_run == 2
    pd.testing.assert_frame_equal(log(tmp_path / "resumed/train_log.tsv"), log(tmp_path / "reference/train_log.tsv"))
    ours = torch.load(tmp_path / "resumed/model.pt", weights_only=True)
    theirs = torch.load(tmp_path / "reference/model.pt", weights_only=True)
    assert ours["tasks"] == theirs["tasks"] and ours["epoch"] == theirs["epoch"]
    assert all(torch.allclose(ours["model"][k].float(), theirs["model"][k].float()) for k in theirs["model"])
    last = {name: torch.load(tmp_path / name / "checkpoints/epoch_0002.pt", weights_only=True)["model"]
            for name in ("resumed", "reference")}
    assert all(torch.equal(last["resumed"][k], last["reference"][k]) for k in last["reference"])


def test_selection_follows_trace_select(tables, tmp_path):
    train, dev = tables
    result = train_tracer(spec(2, select="macro_f1", learn_head_weights=True), train, dev, tmp_path / "f1",
                          device="cpu", progress=False)
    history = log(tmp_path / "f1/train_log.tsv")
    best = history.sort_values(["dev_mean_macro_f1", "dev_loss"], ascending=[False, True]).iloc[0]
    assert result.best_epoch == int(best["epoch"])
    assert {"dev_loss", "dev_eer", "dev_macro_f1_DEC", "weight_VQ"} <= set(history.columns)
    checkpoint = torch.load(tmp_path / "f1/checkpoints/epoch_0002.pt", weights_only=True)
    assert "log_vars" in checkpoint["criterion"]  # learned head weights are part of the resumable state
    with pytest.raises(Exception, match="trace.select"):
        train_tracer(spec(1, select="accuracy"), train, dev, tmp_path / "bad", device="cpu", progress=False)
