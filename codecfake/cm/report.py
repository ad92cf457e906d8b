"""Evaluation tables and figures: per-system and pooled EER with CIs, confusion counts, paper Table V, Figs. 6, 7.

Per system, a CM is scored on that system's spoofs against the bona fide trials that go with them: the
system's own (CoSG: prompts from the same page) or, where bona fide is shared (`system` = bonafide, as on
CoRS), all of them. `pooled` takes every trial of the set.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from codecfake.cm.metrics import codecfake_convention_eer, confusion_at, eer_of_labels, eer_with_ci
from codecfake.cm.trials import SHARED_BONAFIDE, label_codes
from codecfake.registry import TAXONOMY_FIELDS
from codecfake.tables import atomic_output

EER_COLUMNS = ["cm", "eval_set", "system", "eer", "ci_low", "ci_high", "n_bonafide", "n_spoof",
               "valid_bootstraps", "ci_condition"]
CONFUSION_COLUMNS = ["cm", "eval_set", "system", "threshold", "bonafide_as_bonafide", "bonafide_as_spoof",
                     "spoof_as_bonafide", "spoof_as_spoof", "accuracy"]
TAXONOMY_COLUMNS = ["attribute", "eval_set", "train_class", "eval_class", "mean_eer", "se_eer", "n_pairs", "n_cms",
                    "n_systems", "quality_filter"]
CODECFAKE_COLUMNS = ["cm", "eval_set", "condition", "eer", "ci_low", "ci_high", "n_bonafide", "n_spoof",
                     "eer_codecfake_convention"]
POOLED = "pooled"
MIXED = "mixed"
UNKNOWN = "-"


def systems_of(scores: pd.DataFrame) -> list[str]:
    return sorted(set(scores.loc[scores["label"] == "spoof", "system"]))


def system_trials(scores: pd.DataFrame, system: str) -> pd.DataFrame:
    if system == POOLED:
        return scores
    own = scores["system"] == system
    shared = (scores["label"] == "bonafide") & (scores["system"] == SHARED_BONAFIDE)
    return scores[own | shared]


def evaluate(scores: pd.DataFrame, cm: str, eval_set: str, condition: str | None, bootstraps: int,
             alpha: float, threshold: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(EER rows, confusion rows) for every system of the set and pooled."""
    eer_rows, confusion_rows = [], []
    for system in [*systems_of(scores), POOLED]:
        trials = system_trials(scores, system)
        labels, values = label_codes(trials), trials["score"].to_numpy(dtype=np.float64)
        conditions = trials[condition].to_numpy() if condition else None
        result = eer_with_ci(labels, values, conditions, bootstraps, alpha)
        eer_rows.append({"cm": cm, "eval_set": eval_set, "system": system, "eer": result.eer,
                         "ci_low": result.ci_low, "ci_high": result.ci_high,
                         "n_bonafide": int((labels == 1).sum()), "n_spoof": int((labels == 0).sum()),
                         "valid_bootstraps": result.valid_bootstraps, "ci_condition": condition or "trial"})
        counts = confusion_at(labels, trials["bonafide_probability"].to_numpy(dtype=np.float64), threshold)
        correct = counts["bonafide_as_bonafide"] + counts["spoof_as_spoof"]
        confusion_rows.append({"cm": cm, "eval_set": eval_set, "system": system, "threshold": threshold, **counts,
                               "accuracy": correct / max(len(trials), 1)})
    return pd.DataFrame(eer_rows, columns=EER_COLUMNS), pd.DataFrame(confusion_rows, columns=CONFUSION_COLUMNS)


def training_classes(train: pd.DataFrame) -> dict[str, str]:
    """The taxonomy class of a CM's training spoofs per attribute: the class, `mixed`, or `-` if unknown."""
    spoof = train[train["label"] == "spoof"]
    classes = {}
    for attribute in TAXONOMY_FIELDS:
        known = sorted(set(spoof[attribute]) - {UNKNOWN})
        classes[attribute] = known[0] if len(known) == 1 else (MIXED if known else UNKNOWN)
    return classes


def quality_filter(scores: pd.DataFrame, quality: pd.DataFrame, key: str, column: str,
                   threshold: float) -> pd.DataFrame:
    """Trials whose predicted quality is above the threshold (trials without a quality value are dropped)."""
    values = pd.to_numeric(quality.set_index(key)[column], errors="coerce")
    return scores[scores["utt_id"].map(values).gt(threshold).fillna(False).to_numpy(dtype=bool)]


def taxonomy_level(scores: dict[tuple[str, str], pd.DataFrame], train_classes: dict[str, dict[str, str]],
                   quality_label: str = "none") -> pd.DataFrame:
    """Paper Table V: per attribute, mean +- standard error of the EERs of every (CM, system) pair, CMs grouped
    by their training class (rows), systems by their class (columns), per evaluation set."""
    pairs = []
    for (cm, eval_set), table in scores.items():
        for system in systems_of(table):
            trials = system_trials(table, system)
            eer = eer_of_labels(label_codes(trials), trials["score"].to_numpy(dtype=np.float64))
            spoof = trials[trials["label"] == "spoof"]
            for attribute in TAXONOMY_FIELDS:
                pairs.append({"attribute": attribute, "eval_set": eval_set, "cm": cm, "system": system,
                              "train_class": train_classes[cm][attribute],
                              "eval_class": spoof[attribute].iloc[0], "eer": eer})
    if not pairs:
        return pd.DataFrame(columns=TAXONOMY_COLUMNS)
    frame = pd.DataFrame(pairs).dropna(subset=["eer"])
    rows = []
    for (attribute, eval_set, train_class, eval_class), group in frame.groupby(
            ["attribute", "eval_set", "train_class", "eval_class"], sort=True):
        values = group["eer"].to_numpy()
        se = float(np.std(values, ddof=1) / math.sqrt(values.size)) if values.size > 1 else float("nan")
        rows.append({"attribute": attribute, "eval_set": eval_set, "train_class": train_class,
                     "eval_class": eval_class, "mean_eer": float(values.mean()), "se_eer": se,
                     "n_pairs": int(values.size), "n_cms": group["cm"].nunique(),
                     "n_systems": group["system"].nunique(), "quality_filter": quality_label})
    return pd.DataFrame(rows, columns=TAXONOMY_COLUMNS)


def heatmap(eer: pd.DataFrame, eval_sets: list[str], path: str | Path) -> None:
    """Paper Fig. 6: CM (rows) x system (columns) EER in %, one panel per evaluation set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [s for s in eval_sets if (eer["eval_set"] == s).any()] or sorted(set(eer["eval_set"]))
    tables = [eer[eer["eval_set"] == s].pivot_table(index="cm", columns="system", values="eer", aggfunc="first")
              for s in panels]
    tables = [t[[c for c in t.columns if c != POOLED] + ([POOLED] if POOLED in t.columns else [])] * 100
              for t in tables]
    height = sum(max(2.0, 0.45 * len(t) + 1.6) for t in tables) if tables else 2.0
    width = max(6.0, 0.7 * max((t.shape[1] for t in tables), default=1) + 3)
    figure, axes = plt.subplots(max(1, len(tables)), 1, figsize=(width, height), squeeze=False)
    for ax, name, table in zip(axes[:, 0], panels, tables):
        values = table.to_numpy(dtype=float)
        top = max(50.0, float(np.nanmax(values))) if np.isfinite(values).any() else 50.0
        image = ax.imshow(values, cmap="viridis_r", vmin=0, vmax=top, aspect="auto")
        ax.set_xticks(range(table.shape[1]), table.columns, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7,
                        color="white" if value > 25 else "black")
        ax.set_title(f"EER (%) per system: {name}", fontsize=10)
        figure.colorbar(image, ax=ax, fraction=0.03)
    figure.tight_layout()
    try:
        with atomic_output(path) as tmp:
            figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    finally:
        plt.close(figure)


TRAIN_EVAL_PANEL = "training set x evaluation set"


def train_eval_heatmap(eer: pd.DataFrame, path: str | Path) -> None:
    """Paper Fig. 7: the pooled EER of each CM (a training set: BL1, BL2, the CoRS subsets...) on each evaluation
    set, as one panel of the Fig. 6 heatmap with the evaluation sets as its columns."""
    pooled = eer[eer["system"] == POOLED]
    heatmap(pooled.assign(system=pooled["eval_set"], eval_set=TRAIN_EVAL_PANEL), [TRAIN_EVAL_PANEL], path)


def codecfake_conditions(eer: pd.DataFrame, scores: dict[tuple[str, str], pd.DataFrame],
                         order: tuple[str, ...]) -> pd.DataFrame:
    """Codecfake's per-condition table: for each (CM, set) scored on a Codecfake layout, the EER rows (standard EER
    and bootstrap CI, from `evaluate`) of its conditions in Codecfake's `order`, then pooled, with Codecfake's own
    polarity-free figure beside them (eer_codecfake_convention), for comparison with its tables only."""
    rows = []
    for (cm, eval_set), table in scores.items():
        mine = eer[(eer["cm"] == cm) & (eer["eval_set"] == eval_set)].set_index("system")
        for condition in [c for c in (*order, POOLED) if c in mine.index]:
            trials = system_trials(table, condition)
            row = mine.loc[condition]
            rows.append({"cm": cm, "eval_set": eval_set, "condition": condition, "eer": row["eer"],
                         "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n_bonafide": row["n_bonafide"],
                         "n_spoof": row["n_spoof"], "eer_codecfake_convention": codecfake_convention_eer(
                             label_codes(trials), trials["score"].to_numpy(dtype=np.float64))})
    return pd.DataFrame(rows, columns=CODECFAKE_COLUMNS)
