"""Codecfake's own training choices as options: the epoch of lowest dev loss kept (train.select: loss), the softmax
bona fide probability as the score (train.score: probability), and a CM trained on external sets alone (its
vocoder-trained setting; a published copy of a data set)."""
import numpy as np
import pandas as pd
import pytest

from codecfake.cm import train as cm_train
from codecfake.cm.presets import resolve
from codecfake.cm.scoring import cm_scores
from codecfake.cm.selection import SelectionError, select
from codecfake.cm.trials import label_codes
from tests.cm_fixtures import ARCH, one_thread, tone_noise_trials  # noqa: F401 (autouse)


def test_the_probability_score_reads_both_logits_where_the_logit_score_reads_one():
    logits = np.array([[5.0, 3.0], [-3.0, -2.0]])  # columns: spoof, bona fide
    assert cm_scores(logits, "logit") == pytest.approx([3.0, -2.0])  # the first trial ranks higher
    # softmax bona fide = 1 / (1 + e^(spoof - bonafide)): 1 / (1 + e^2) and 1 / (1 + e^-1); the second ranks higher
    assert cm_scores(logits, "probability") == pytest.approx([0.11920292, 0.73105858])


def test_strategy_external_trains_on_the_external_sets_alone(tmp_path):
    trials = tone_noise_trials(tmp_path)
    run, external = trials[trials["domain"] != "EXT"], trials[trials["domain"] == "EXT"]
    selected = select(run, {"strategy": "external"}, 0, [external])
    assert sorted(selected["utt_id"]) == sorted(external["utt_id"])
    with pytest.raises(SelectionError, match="strategy external trains on external sets only"):
        select(run, {"strategy": "external"}, 0, [])


def _dev_logits(labels: np.ndarray, epoch: int) -> np.ndarray:
    """Epoch 1: every trial ranked right by a hair (EER 0, loss near log 2); epoch 2: confident, one spoof scored
    as bona fide (EER above 0, lower loss)."""
    bonafide = labels == 1
    if epoch == 1:
        return np.where(bonafide[:, None], [[0.0, 0.1]], [[0.1, 0.0]]).astype(np.float32)
    logits = np.where(bonafide[:, None], [[-5.0, 5.0]], [[5.0, -5.0]]).astype(np.float32)
    logits[np.flatnonzero(~bonafide)[0]] = [-5.0, 5.0]
    return logits


@pytest.mark.parametrize("rule,best", [("loss", 2), ("eer", 1)])
def test_select_keeps_the_epoch_of_lowest_dev_loss_or_eer(tmp_path, monkeypatch, rule, best):
    (tmp_path / "trials").mkdir()
    trials = tone_noise_trials(tmp_path / "trials")
    labels = label_codes(trials)
    calls = []

    def scripted(model, dataset, *args, **kwargs):
        calls.append(1)
        return _dev_logits(labels, len(calls))

    monkeypatch.setattr(cm_train, "predict_logits", scripted)
    spec = resolve("aasist", ARCH, {"epochs": 2, "batch_size": 4, "lr": 1e-3, "crop_samples": 6000, "rawboost": 0,
                                    "select": rule})
    spec["seed"] = 0
    result = cm_train.train(spec, trials, trials, tmp_path / "cm", device="cpu", progress=False)
    log = pd.read_csv(tmp_path / "cm" / "train_log.tsv", sep="\t")
    assert log["dev_loss"].iloc[1] < log["dev_loss"].iloc[0] and log["dev_eer"].iloc[1] > log["dev_eer"].iloc[0]
    assert result.best_epoch == best
