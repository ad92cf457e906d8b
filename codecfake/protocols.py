"""CoRS protocol files in the published CodecFake+ line format, and the per-split manifest of 16 kHz files.

Protocol line: `SPK UTT - AUX DEC VQ label`, e.g. `p260 p260_075_Encodec_24b24k - Trad TIME MVQ spoof` and
`p260 p260_075 - REAL REAL REAL bonafide`. Taxonomy comes from the registry, never from file names.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from codecfake import registry
from codecfake.registry import BONAFIDE
from codecfake.tables import read_tsv, write_text_atomic, write_tsv_atomic

PROTOCOL_COLUMNS = ["speaker", "utt_id", "dash", "AUX", "DEC", "VQ", "label"]
MANIFEST_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "subset", "label", "codec_id", "family", "AUX",
                    "DEC", "VQ", "path", "samples", "duration", "weights"]


def _concat(paths) -> pd.DataFrame:
    frames = [read_tsv(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def build_manifest(bonafide_tables, codec_tables, codecs: list[str]) -> pd.DataFrame:
    """One row per 16 kHz file: bona fide utterances, then each codec's resynthesis of an accepted bona fide."""
    bonafide = _concat(bonafide_tables)
    spoof = _concat(codec_tables)
    if bonafide.empty:
        return pd.DataFrame(columns=MANIFEST_COLUMNS)
    rows = []
    for record in bonafide.to_dict("records"):
        rows.append({**record, "label": "bonafide", "codec_id": "-", "family": "-",
                     **registry.protocol_taxonomy(None)})
    if not spoof.empty:
        spoof = spoof[spoof["source_utt"].isin(set(bonafide["source_utt"]))]
        for record in spoof.to_dict("records"):
            entry = registry.get(record["subset"])
            rows.append({**record, "label": "spoof", "codec_id": entry.id, "family": entry.family,
                         **registry.protocol_taxonomy(entry)})
    frame = pd.DataFrame(rows)[MANIFEST_COLUMNS]
    order = {name: rank for rank, name in enumerate([BONAFIDE, *codecs])}
    frame["_rank"] = frame["subset"].map(order)
    return frame.sort_values(["speaker", "source_utt", "_rank"], kind="stable").drop(columns="_rank") \
        .reset_index(drop=True)


def protocol_lines(manifest: pd.DataFrame) -> list[str]:
    return [f"{r.speaker} {r.utt_id} - {r.AUX} {r.DEC} {r.VQ} {r.label}" for r in manifest.itertuples()]


def read_protocol(path: str | os.PathLike) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=r"\s+", header=None, names=PROTOCOL_COLUMNS, dtype=str, engine="python")
    return frame.drop(columns="dash")


def write_split(bonafide_tables, codec_tables, codecs: list[str], rejects_tables, protocol, manifest_out,
                rejects_out) -> pd.DataFrame:
    manifest = build_manifest(bonafide_tables, codec_tables, codecs)
    write_tsv_atomic(manifest, manifest_out)
    write_text_atomic("".join(line + "\n" for line in protocol_lines(manifest)), protocol)
    rejects = _concat(rejects_tables)
    write_tsv_atomic(rejects, rejects_out)
    return manifest


def summarize(manifest: pd.DataFrame, rejects_path: str | os.PathLike, split: str) -> str:
    rejects = read_tsv(rejects_path) if Path(rejects_path).stat().st_size else pd.DataFrame()
    counts = manifest.groupby("label").size().to_dict() if len(manifest) else {}
    reasons = (rejects["reason"].str.split(":").str[0].value_counts().to_dict() if len(rejects) else {})
    return (f"CoRS {split}: {counts.get('bonafide', 0)} bona fide, {counts.get('spoof', 0)} spoof files; "
            f"{len(rejects)} rejected {reasons or ''}").rstrip()
