"""EER semantics (official ASVspoof: bona fide positive, higher = more bona fide) and bootstrap CIs."""
import numpy as np
import pytest
from sklearn.metrics import roc_curve

from codecfake.cm.metrics import compute_eer, confusion_at, eer_of_labels, eer_with_ci


def brute_force_eer(bonafide, spoof):
    """Accept when score > t; try every threshold (below all scores and at each score)."""
    thresholds = np.concatenate([[-np.inf], np.sort(np.concatenate([bonafide, spoof]))])
    best = None
    for t in thresholds:
        frr = np.mean(bonafide <= t)
        far = np.mean(spoof > t)
        if best is None or abs(frr - far) < best[0]:
            best = (abs(frr - far), (frr + far) / 2)
    return best[1]


def roc_eer(bonafide, spoof):
    labels = np.concatenate([np.ones(bonafide.size), np.zeros(spoof.size)])
    fpr, tpr, _ = roc_curve(labels, np.concatenate([bonafide, spoof]))
    fnr = 1 - tpr
    index = np.argmin(np.abs(fnr - fpr))
    return (fnr[index] + fpr[index]) / 2


@pytest.mark.parametrize("seed", range(12))
def test_eer_matches_brute_force_and_roc(seed):
    rng = np.random.default_rng(seed)
    n_bonafide, n_spoof = rng.integers(5, 80, size=2)
    bonafide = rng.normal(rng.uniform(-1, 2), 1, n_bonafide)
    spoof = rng.normal(0, rng.uniform(0.5, 2), n_spoof)
    eer, threshold = compute_eer(bonafide, spoof)
    assert eer == pytest.approx(brute_force_eer(bonafide, spoof), abs=1e-12)
    assert abs(eer - roc_eer(bonafide, spoof)) <= 1 / min(n_bonafide, n_spoof) + 1e-12
    assert np.isfinite(threshold)


def test_reversed_scores_are_not_folded_back():
    rng = np.random.default_rng(0)
    bonafide, spoof = rng.normal(2, 0.5, 50), rng.normal(-2, 0.5, 50)
    assert compute_eer(bonafide, spoof)[0] == 0.0
    assert compute_eer(-bonafide, -spoof)[0] == 1.0  # never min(EER(s), EER(-s))


def test_eer_of_labels_and_missing_class():
    labels = np.array([1, 1, 0, 0])
    assert eer_of_labels(labels, np.array([0.9, 0.8, 0.1, 0.85])) == pytest.approx(0.5)
    assert np.isnan(eer_of_labels(np.array([0, 0]), np.array([0.1, 0.2])))
    with pytest.raises(ValueError, match="both classes"):
        compute_eer([], [0.1])


def test_ci_brackets_the_eer_and_is_deterministic():
    rng = np.random.default_rng(1)
    speakers = np.repeat(np.arange(10), 20)
    labels = np.tile(np.r_[np.ones(5), np.zeros(15)], 10).astype(int)
    scores = rng.normal(labels * 1.5, 1.0)
    first = eer_with_ci(labels, scores, speakers, num_bootstraps=200)
    second = eer_with_ci(labels, scores, speakers, num_bootstraps=200)
    assert first == second
    assert first.ci_low <= first.eer <= first.ci_high
    assert 0 < first.ci_high - first.ci_low < 0.5
    assert first.valid_bootstraps == 200


def test_ci_survives_bootstrap_sets_without_bonafide():
    """Conditioning on the attack system with bona fide in its own condition: many sets lose bona fide."""
    rng = np.random.default_rng(2)
    systems = np.array(["bonafide"] * 10 + ["A"] * 20 + ["B"] * 20)
    labels = (systems == "bonafide").astype(int)
    scores = rng.normal(labels * 2.0, 1.0)
    result = eer_with_ci(labels, scores, systems, num_bootstraps=300)
    assert 0 < result.valid_bootstraps < 300
    assert np.isfinite(result.ci_low) and np.isfinite(result.ci_high)
    assert result.ci_low <= result.ci_high


def test_confusion_at_half():
    labels = np.array([1, 1, 1, 0, 0])
    probability = np.array([0.9, 0.5, 0.2, 0.7, 0.1])
    assert confusion_at(labels, probability) == {"bonafide_as_bonafide": 2, "bonafide_as_spoof": 1,
                                                 "spoof_as_bonafide": 1, "spoof_as_spoof": 1}
