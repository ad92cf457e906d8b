"""Detection metrics with the official ASVspoof semantics, and bootstrap confidence intervals.

Bona fide is the positive class and a higher score means more bona fide. The EER is the one of the official
ASVspoof evaluation code: the point of the DET curve where |FRR - FAR| is smallest, reported as the mean of the
two rates there. It is never min(EER(s), EER(-s)): a CM whose scores point the wrong way must show it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from confidence_intervals import Bootstrap, get_conf_int
from sklearn.metrics import confusion_matrix

#: Class index of bona fide in labels and in the models' two logits (spoof = 0).
BONAFIDE_LABEL = 1
SPOOF_LABEL = 0


def det_curve(bonafide: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FRR and FAR when accepting scores above each threshold; thresholds run from below the lowest score up."""
    bonafide = np.asarray(bonafide, dtype=np.float64)
    spoof = np.asarray(spoof, dtype=np.float64)
    scores = np.concatenate([bonafide, spoof])
    is_bonafide = np.concatenate([np.ones(bonafide.size), np.zeros(spoof.size)])
    order = np.argsort(scores, kind="mergesort")
    rejected_bonafide = np.cumsum(is_bonafide[order])
    rejected_spoof = np.arange(1, scores.size + 1) - rejected_bonafide
    frr = np.concatenate([[0.0], rejected_bonafide / bonafide.size])
    far = np.concatenate([[1.0], (spoof.size - rejected_spoof) / spoof.size])
    thresholds = np.concatenate([[scores[order[0]] - 0.001], scores[order]])
    return frr, far, thresholds


def compute_eer(bonafide, spoof) -> tuple[float, float]:
    """(EER, threshold) at the DET point nearest to FRR = FAR."""
    bonafide, spoof = np.asarray(bonafide), np.asarray(spoof)
    if bonafide.size == 0 or spoof.size == 0:
        raise ValueError(f"EER needs both classes: {bonafide.size} bona fide and {spoof.size} spoof scores")
    frr, far, thresholds = det_curve(bonafide, spoof)
    index = int(np.argmin(np.abs(frr - far)))
    return float((frr[index] + far[index]) / 2), float(thresholds[index])


def eer_of_labels(labels, scores) -> float:
    """EER from labels (1 = bona fide) and scores; NaN when a class is missing (e.g. in a bootstrap set)."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    bonafide, spoof = scores[labels == BONAFIDE_LABEL], scores[labels == SPOOF_LABEL]
    if bonafide.size == 0 or spoof.size == 0:
        return float("nan")
    return compute_eer(bonafide, spoof)[0]


def codecfake_convention_eer(labels, scores) -> float:
    """The figure Codecfake's tables print (its evaluate_score.py): the EER of the better of the two score
    polarities, min(EER(s), EER(-s)). Not an EER to report: only beside the standard one, named as Codecfake's, where
    a table is compared with the paper's (46.991 there where the standard EER is 53.009)."""
    scores = np.asarray(scores, dtype=np.float64)
    return min(eer_of_labels(labels, scores), eer_of_labels(labels, -scores))


@dataclass(frozen=True)
class EERWithCI:
    eer: float
    ci_low: float
    ci_high: float
    #: Bootstrap sets that held both classes; the interval comes from these only.
    valid_bootstraps: int


def eer_with_ci(labels, scores, conditions=None, num_bootstraps: int = 1000, alpha: float = 5.0) -> EERWithCI:
    """EER and its (100 - alpha) % bootstrap interval, resampling `conditions` first, then trials within them.

    Conditions must be shared by both classes (speaker or source utterance on CoRS, system on CoSG where each
    system brings its own bona fide prompts): otherwise whole bootstrap sets lose a class. Those sets give NaN
    and are dropped before taking percentiles, so one such set cannot turn the whole interval into NaN.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    eer = eer_of_labels(labels, scores)
    if num_bootstraps <= 0 or np.isnan(eer):
        return EERWithCI(eer, float("nan"), float("nan"), 0)
    codes = None if conditions is None else np.unique(np.asarray(conditions).astype(str), return_inverse=True)[1]
    values = Bootstrap(num_bootstraps, eer_of_labels).run(scores, labels, codes)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return EERWithCI(eer, float("nan"), float("nan"), 0)
    low, high = get_conf_int(values, alpha)
    return EERWithCI(eer, float(low), float(high), int(values.size))


def confusion_at(labels, bonafide_probability, threshold: float = 0.5) -> dict[str, int]:
    """Counts of the decisions `bona fide if P(bona fide) >= threshold` (the Codecfake paper's fixed 0.5)."""
    labels = np.asarray(labels)
    predicted = (np.asarray(bonafide_probability) >= threshold).astype(int)
    (ss, sb), (bs, bb) = confusion_matrix(labels, predicted, labels=[SPOOF_LABEL, BONAFIDE_LABEL])
    return {"bonafide_as_bonafide": int(bb), "bonafide_as_spoof": int(bs), "spoof_as_bonafide": int(sb),
            "spoof_as_spoof": int(ss)}
