"""Training: resume after a crash ends where an uninterrupted run ends; AMP off on CPU; CSAM runs."""
import numpy as np
import pandas as pd
import pytest
import torch

from codecfake.cm import data as cm_data
from codecfake.cm.presets import resolve
from codecfake.cm.scoring import amp_dtype, loader_workers, score_trials
from codecfake.cm.train import ShuffledBatchSampler, dev_augmentation, train
from tests.cm_fixtures import ARCH, one_thread, tone_noise_trials  # noqa: F401 (autouse)


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    return tone_noise_trials(tmp_path_factory.mktemp("trials"))


def spec(**train):
    result = resolve("aasist", ARCH, {"epochs": 3, "batch_size": 4, "lr": 1e-3, "crop_samples": 6000,
                                      "rawboost": 5, **train})
    result["seed"] = 0
    return result


def log_without_timing(path):
    return pd.read_csv(path, sep="\t").drop(columns=["seconds", "samples_per_second"])


def test_resume_after_crash_matches_uninterrupted_run(trials, tmp_path, monkeypatch):
    reference = train(spec(epochs=2), trials, trials, tmp_path / "reference", device="cpu", progress=False)
    assert reference.epochs_run == 2

    calls = {"n": 0}
    original = cm_data.CropDataset.__getitem__

    def crash_in_epoch_two(self, index):
        calls["n"] += 1
        if calls["n"] > 30:  # epoch 1 reads 12 train + 12 dev trials
            raise RuntimeError("simulated crash")
        return original(self, index)

    monkeypatch.setattr(cm_data.CropDataset, "__getitem__", crash_in_epoch_two)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(spec(epochs=2), trials, trials, tmp_path / "resumed", device="cpu", progress=False)
    assert sorted(p.name for p in (tmp_path / "resumed/checkpoints").glob("epoch_*.pt")) == ["epoch_0001.pt"]
    monkeypatch.setattr(cm_data.CropDataset, "__getitem__", original)

    resumed = train(spec(epochs=2), trials, trials, tmp_path / "resumed", device="cpu", progress=False)
    assert resumed == reference
    pd.testing.assert_frame_equal(log_without_timing(tmp_path / "resumed/train_log.tsv"),
                                  log_without_timing(tmp_path / "reference/train_log.tsv"))
    ours = torch.load(tmp_path / "resumed/model.pt", weights_only=True)["model"]
    theirs = torch.load(tmp_path / "reference/model.pt", weights_only=True)["model"]
    assert all(torch.allclose(ours[k].float(), theirs[k].float()) for k in theirs)

    extended = train(spec(epochs=3), trials, trials, tmp_path / "resumed", device="cpu", progress=False)
    assert extended.epochs_run == 3  # more epochs continue the same run
    kept = sorted(p.name for p in (tmp_path / "resumed/checkpoints").glob("epoch_*.pt"))
    assert kept == ["epoch_0002.pt", "epoch_0003.pt"]  # keep_checkpoints: 2
    changed = train(spec(epochs=1, lr=5e-4), trials, trials, tmp_path / "resumed", device="cpu", progress=False)
    assert changed.epochs_run == 1  # another spec starts afresh instead of resuming a stale run


def test_amp_is_disabled_cleanly_on_cpu(trials, tmp_path, capsys):
    cpu = torch.device("cpu")
    assert amp_dtype(True, cpu) is None and amp_dtype(False, cpu) is None
    assert loader_workers(4, cpu) == 0
    result = train(spec(epochs=1, amp=True, workers=4), trials, trials, tmp_path, device="cpu", progress=False)
    assert result.epochs_run == 1
    assert "amp: off" in capsys.readouterr().err
    scored = score_trials(tmp_path / "model.pt", trials, device="cpu", progress=False)
    assert np.isfinite(scored["score"]).all() and (scored["score"] <= 0).all()  # log-probabilities


def test_csam_training_runs_with_two_domains(trials, tmp_path, capsys):
    result = train(spec(epochs=1, csam={"enabled": True}), trials, trials, tmp_path, device="cpu", progress=False)
    assert result.epochs_run == 1
    # the reference's counts: int(4 * 8/12) = 2 and int(4 * 4/12) = 1 per round; 2 domains x ceil(8 / 4) steps
    expected = "rounds of {'CoRS': 2, 'EXT': 1} by domain cut into batches of 4, 4 steps per epoch"
    assert expected in capsys.readouterr().err


def test_csam_with_one_domain_names_the_fix(trials, tmp_path):
    with pytest.raises(Exception, match="add an external set"):
        train(spec(csam={"enabled": True}), trials.assign(domain="CoRS"), trials, tmp_path, device="cpu",
              progress=False)


def test_a_set_without_bonafide_is_refused(trials, tmp_path):
    with pytest.raises(Exception, match="bona fide and spoof"):
        train(spec(), trials[trials["label"] == "spoof"], trials, tmp_path, device="cpu", progress=False)


def test_partial_last_batch_is_dropped_as_the_references_drop_it():
    """DataLoader(..., shuffle=True, drop_last=True) in clovaai/aasist, SSL_Anti-spoofing and the tracing code."""
    batches = list(ShuffledBatchSampler(10, 4, seed=0))
    assert [len(b) for b in batches] == [4, 4] and len(set(sum(batches, []))) == 8
    assert [len(b) for b in ShuffledBatchSampler(3, 4)] == [3]  # a set smaller than a batch still trains


def test_dev_rawboost_augments_the_dev_set_afresh_each_epoch(trials):
    cfg = {"dev_rawboost": True, "rawboost": 5, "crop": "random", "rawboost_exact_delay": False}
    dev = cm_data.CropDataset(trials, 6000, **dev_augmentation(cfg, 0))
    plain = cm_data.CropDataset(trials, 6000, **dev_augmentation({**cfg, "dev_rawboost": False}, 0))
    first = plain[1][0]
    assert torch.equal(first, torch.from_numpy(cm_data.repeat_to(cm_data.load_16k(trials["path"][1]), 6000)))
    epoch0 = dev[1][0]
    dev.set_epoch(1)
    assert not torch.allclose(epoch0, first, atol=1e-3) and not torch.allclose(epoch0, dev[1][0], atol=1e-3)
