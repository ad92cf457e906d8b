"""Per-file scores of one subset x split: one job each, so the DAG grows with codecs x splits, not utterances.

A job reads the shard tables of its subset and of the bona fide (its references), not the split manifest, so
adding a codec scores only that codec. Bona fide rows carry no full-reference metric (their reference would be
themselves); their no-reference scores are the baseline the figures draw.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from codecfake.audio import read_mono
from codecfake.errors import UserError
from codecfake.protocols import build_manifest
from codecfake.registry import BONAFIDE
from codecfake.tables import write_tsv_atomic

ID_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "subset", "duration"]
INTRUSIVE = ("pesq_wb", "stoi", "mel_distance", "si_sdr")
#: Metric names a config may list (config.schema.yaml quality.metrics); dnsmos expands to its four columns.
METRIC_NAMES = (*INTRUSIVE, "dnsmos")


def subset_files(bonafide_tables, codec_tables, subset: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The subset's CoRS rows (as the protocol rule lists them) and each source utterance's bona fide path."""
    codecs = [] if subset == BONAFIDE else [subset]
    manifest = build_manifest(bonafide_tables, codec_tables if codecs else [], codecs)
    rows = manifest[manifest["subset"] == subset].reset_index(drop=True)
    bonafide = manifest[manifest["subset"] == BONAFIDE]
    return rows, dict(zip(bonafide["source_utt"], bonafide["path"]))


def _audio(results_dir: Path, relative: str) -> np.ndarray:
    wave, rate = read_mono(results_dir / relative)
    if rate != 16000:
        raise UserError(f"{results_dir / relative}: {rate} Hz, expected the 16 kHz CoRS audio")
    return wave


def score_subset(bonafide_tables, codec_tables, subset: str, results_dir, metrics: list[str], out,
                 dnsmos_batch: int = 16, threads: int = 1) -> pd.DataFrame:
    results_dir = Path(results_dir)
    unknown = sorted(set(metrics) - set(METRIC_NAMES))
    if unknown:
        raise UserError(f"unknown metrics {unknown}; choose from {list(METRIC_NAMES)}")
    rows, references = subset_files(bonafide_tables, codec_tables, subset)
    frame = rows[ID_COLUMNS].copy()
    intrusive = [m for m in INTRUSIVE if m in metrics]
    if intrusive:
        from codecfake.quality.intrusive import score_pair

        values = []
        for record in tqdm(rows.to_dict("records"), desc=f"{subset} intrusive", unit="file", file=sys.stderr,
                           mininterval=10):
            if subset == BONAFIDE:
                values.append(dict.fromkeys(intrusive, np.nan))
                continue
            try:
                values.append(score_pair(_audio(results_dir, references[record["source_utt"]]),
                                         _audio(results_dir, record["path"]), intrusive))
            except ValueError as err:
                raise UserError(f"{record['path']}: {err}") from err
        frame = pd.concat([frame, pd.DataFrame(values, columns=intrusive, index=frame.index)], axis=1)
    if "dnsmos" in metrics:
        from codecfake.quality.dnsmos import COLUMNS, Dnsmos

        waves = (_audio(results_dir, path) for path in rows["path"])
        scores = list(Dnsmos(batch_segments=dnsmos_batch, threads=threads).score(waves, total=len(rows)))
        frame = pd.concat([frame, pd.DataFrame(scores, columns=list(COLUMNS.values()), index=frame.index)], axis=1)
    write_tsv_atomic(frame, out)
    return frame


def utmos_subset(bonafide_tables, codec_tables, subset: str, results_dir, model, weights_label: str, out,
                 *, device: str, batch_items: int, batch_seconds: float) -> pd.DataFrame:
    from codecfake.quality.utmos import score_files

    rows, _ = subset_files(bonafide_tables, codec_tables, subset)
    paths = [str(Path(results_dir) / path) for path in rows["path"]]
    frame = rows[ID_COLUMNS].copy()
    frame["utmos"] = score_files(model, paths, device=device, batch_items=batch_items, batch_seconds=batch_seconds)
    frame["utmos_weights"] = weights_label
    write_tsv_atomic(frame, out)
    return frame
