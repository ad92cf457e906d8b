"""UTMOS of a generated set's split, and the per-set summary (paper Table II reports UTMOS of MaskGCT-VCTK).

Scoring is codecfake.quality.utmos's, as for CoRS: only the file list differs (a generated set's manifest).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from codecfake.tables import read_tsv, write_tsv_atomic

ID_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "subset", "label", "duration"]
SUMMARY_COLUMNS = ["set", "split", "label", "files", "utmos_mean", "utmos_std", "utmos_weights"]


def utmos_table(manifest, results_dir, model, weights_label: str, out, *, device: str, batch_items: int,
                batch_seconds: float) -> pd.DataFrame:
    from codecfake.quality.utmos import score_files

    rows = read_tsv(manifest)
    frame = rows[ID_COLUMNS].copy()
    frame.insert(0, "set", Path(manifest).stem.rsplit("_", 1)[0])
    frame["utmos"] = score_files(model, [str(Path(results_dir) / p) for p in rows["path"]], device=device,
                                 batch_items=batch_items, batch_seconds=batch_seconds)
    frame["utmos_weights"] = weights_label
    write_tsv_atomic(frame, out)
    return frame


def summary(tables) -> pd.DataFrame:
    scores = pd.concat([read_tsv(p) for p in tables], ignore_index=True)
    scores["utmos"] = scores["utmos"].astype(float)
    rows = [{"set": cosg_set, "split": split, "label": label, "files": len(group),
             "utmos_mean": round(float(group["utmos"].mean()), 4), "utmos_std": round(float(group["utmos"].std()), 4),
             "utmos_weights": "; ".join(sorted(set(group["utmos_weights"])))}
            for (cosg_set, split, label), group in scores.groupby(["set", "split", "label"], sort=True)]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_summary(tables, out) -> pd.DataFrame:
    table = summary(tables)
    write_tsv_atomic(table, out)
    return table
