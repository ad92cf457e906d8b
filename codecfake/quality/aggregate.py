"""Per split x subset summary of the per-file scores: n, mean, std and the 95% confidence interval of the mean.

The interval is Student's t on the per-file values (files of a subset are the unit; a split has tens to
thousands of them). One row per (split, subset), bona fide included, with the subset's taxonomy, so the table
reads like the paper's per-codec figures and is what the figures are drawn from.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from codecfake import registry
from codecfake.quality.scoring import ID_COLUMNS
from codecfake.registry import BONAFIDE
from codecfake.tables import read_tsv, write_tsv_atomic

KEYS = ["split", "subset"]
#: Column that says which UTMOS weights produced the utmos column ("random ..." is never a quality score).
UTMOS_WEIGHTS = "utmos_weights"


def summarize(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(np.mean(values)) if n else np.nan
    std = float(np.std(values, ddof=1)) if n > 1 else np.nan
    half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else np.nan
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}


def taxonomy(subset: str) -> dict[str, str]:
    """Family and taxonomy classes (paper spellings, Table III) of a subset; bona fide is its own class."""
    if subset == BONAFIDE:
        return {"label": "bonafide", "codec_id": "-", "family": "-", "QUA": BONAFIDE, "AUX": BONAFIDE,
                "DEC": BONAFIDE}
    entry = registry.get(subset)
    return {"label": "spoof", "codec_id": entry.id, "family": entry.family, "QUA": entry.QUA, "AUX": entry.AUX,
            "DEC": entry.DEC}


def merge_scores(score_tables, utmos_tables=()) -> pd.DataFrame:
    """All per-file scores, one row per file; UTMOS columns joined on the file when it was scored."""
    scores = pd.concat([read_tsv(p) for p in score_tables], ignore_index=True)
    if utmos_tables:
        utmos = pd.concat([read_tsv(p) for p in utmos_tables], ignore_index=True)
        scores = scores.merge(utmos[["utt_id", "split", "utmos", UTMOS_WEIGHTS]], on=["utt_id", "split"],
                              how="left", validate="one_to_one")
    return scores


def metric_columns(scores: pd.DataFrame) -> list[str]:
    return [c for c in scores.columns if c not in ID_COLUMNS and c != UTMOS_WEIGHTS]


def aggregate(scores: pd.DataFrame) -> pd.DataFrame:
    metrics = metric_columns(scores)
    rows = []
    for (split, subset), group in scores.groupby(KEYS, sort=False):
        row = {"split": split, "subset": subset, **taxonomy(subset), "files": len(group)}
        for metric in metrics:
            summary = summarize(pd.to_numeric(group[metric], errors="coerce").to_numpy(float))
            row.update({f"{metric}_{key}": value for key, value in summary.items()})
        if UTMOS_WEIGHTS in group:
            row[UTMOS_WEIGHTS] = ";".join(sorted(set(group[UTMOS_WEIGHTS].dropna())))
        rows.append(row)
    return pd.DataFrame(rows)


def write_metrics(score_tables, utmos_tables, out) -> pd.DataFrame:
    table = aggregate(merge_scores(score_tables, utmos_tables))
    write_tsv_atomic(table, out)
    return table
