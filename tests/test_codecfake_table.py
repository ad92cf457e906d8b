"""Codecfake's per-condition table: the standard EER per condition in the paper's order, then pooled, with
Codecfake's better-polarity figure beside it (never in place of it)."""
import pandas as pd
import pytest

from codecfake.cm.report import codecfake_conditions, evaluate
from codecfake.cm.trials import SHARED_BONAFIDE
from codecfake.codecfake_layout import CONDITIONS


def _scores() -> pd.DataFrame:
    # bona fide 0.9, 0.8; C3's fakes score above every bona fide (a CM pointing the wrong way), C2's below
    rows = [("b1", "bonafide", SHARED_BONAFIDE, 0.9), ("b2", "bonafide", SHARED_BONAFIDE, 0.8),
            ("c3a", "spoof", "C3", 0.95), ("c3b", "spoof", "C3", 0.99),
            ("c2a", "spoof", "C2", 0.1), ("c2b", "spoof", "C2", 0.2)]
    return pd.DataFrame([{"utt_id": u, "label": label, "system": system, "score": score, "bonafide_probability": score,
                          "source_utt": u} for u, label, system, score in rows])


def test_rows_in_codecfakes_order_with_the_standard_eer_and_codecfakes_figure_beside_it():
    scores = _scores()
    eer, _ = evaluate(scores, "cm", "Codecfake", None, bootstraps=0, alpha=5)
    table = codecfake_conditions(eer, {("cm", "Codecfake"): scores}, CONDITIONS)
    assert list(table["condition"]) == ["C2", "C3", "pooled"]
    # C2: separated, 0 both ways; C3: every fake above every real, EER 1 (Codecfake's figure: 0, the flipped
    # polarity); pooled: 2 real, 4 fake, FRR = FAR = 0.5 between 0.8 and 0.9, and the same with the scores negated
    assert list(table["eer"]) == pytest.approx([0.0, 1.0, 0.5])
    assert list(table["eer_codecfake_convention"]) == pytest.approx([0.0, 0.0, 0.5])
    assert list(table["n_bonafide"]) == [2, 2, 2] and list(table["n_spoof"]) == [2, 2, 4]
