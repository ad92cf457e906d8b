"""Dataset statistics (paper Table II) from the CoRS manifests and rejects tables the protocol rule writes.

Per split and subset: utterances, hours, min/mean/max duration in seconds, and how many source utterances were
rejected, with the reasons; a row per split sums its subsets. Read from the manifests, i.e. what was published,
not from the corpus that went in.
"""
from __future__ import annotations

from collections import Counter

import pandas as pd

from codecfake.registry import BONAFIDE
from codecfake.tables import read_tsv, write_tsv_atomic

COLUMNS = ["split", "subset", "label", "utterances", "hours", "min_s", "mean_s", "max_s", "rejects",
           "reject_reasons"]
ALL = "all"


def _reasons(reasons: pd.Series) -> str:
    """`too short: 2; unreadable: 1`: reason kinds (text before the first colon) by count."""
    counts = Counter(reason.split(":")[0].strip() for reason in reasons)
    return "; ".join(f"{kind}: {n}" for kind, n in counts.most_common())


def _row(split: str, subset: str, label: str, durations: pd.Series, rejects: pd.DataFrame) -> dict:
    return {"split": split, "subset": subset, "label": label, "utterances": len(durations),
            "hours": round(durations.sum() / 3600, 6),
            "min_s": durations.min(), "mean_s": durations.mean(), "max_s": durations.max(),
            "rejects": len(rejects), "reject_reasons": _reasons(rejects["reason"])}


def _read(path, columns: list[str]) -> pd.DataFrame:
    """A table, or an empty one with `columns` when the file holds no header (no rows were ever written)."""
    try:
        frame = read_tsv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=columns)
    return frame if set(columns) <= set(frame.columns) else pd.DataFrame(columns=columns)


def split_stats(split: str, manifest: pd.DataFrame, rejects: pd.DataFrame, subsets: list[str]) -> list[dict]:
    durations = pd.to_numeric(manifest["duration"]).astype(float)
    rows = [_row(split, subset, "bonafide" if subset == BONAFIDE else "spoof",
                 durations[manifest["subset"] == subset], rejects[rejects["subset"] == subset])
            for subset in subsets]
    rows.append(_row(split, ALL, ALL, durations, rejects))
    return rows


def dataset_stats(manifests: dict[str, str], rejects: dict[str, str], codecs: list[str]) -> pd.DataFrame:
    """manifests/rejects: split -> TSV path. Subsets are bona fide and the run's codecs, in config order."""
    rows = []
    for split, path in manifests.items():
        rows.extend(split_stats(split, _read(path, ["subset", "duration"]),
                                _read(rejects[split], ["subset", "reason"]), [BONAFIDE, *codecs]))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_stats(manifests, rejects, codecs, out) -> pd.DataFrame:
    table = dataset_stats(manifests, rejects, codecs)
    write_tsv_atomic(table, out)
    return table
