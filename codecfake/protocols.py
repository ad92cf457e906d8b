"""CoRS protocol files in the published CodecFake+ line format, and the per-split manifest of 16 kHz files.

Protocol line: `SPK UTT - AUX DEC VQ label`, e.g. `p260 p260_075_Encodec_24b24k - Trad TIME MVQ spoof` and
`p260 p260_075 - REAL REAL REAL bonafide`. Taxonomy comes from the registry, never from file names.

`read_protocol` is the one reader of every published CodecFake+ layout (first field: speaker, or the CoSG system):
  7 fields  `SPK UTT - AUX DEC VQ label`   taxonomy lists (CoRS train/dev/test, ours)
  5 fields  `SPK UTT - VQ label`           CoSG_SEEN.txt (VQ may be `-`: CoRS_ALL.txt `SPK UTT - - label`,
                                           CoSG_ALL.txt)
  4 fields  `SYSTEM KEY - label`           CoSG_ALL.txt
Columns a layout lacks are `-`. It is strict: any other field count, a third field that is not `-`, a taxonomy
value outside the published vocabulary or an unknown label is an error naming the file and line. The one typo
in the published lists (`spoofs`, CoRS_ALL.txt line 7554) is read as `spoof` with a warning naming the line.

The per-split manifest (ours, not a published format) ends with a `corpus` column in a run over several corpora;
the protocol lines stay the published seven fields whatever the corpus.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from codecfake import registry
from codecfake.corpus import CORPUS_COLUMN
from codecfake.errors import UserError
from codecfake.registry import BONAFIDE
from codecfake.tables import read_text, read_tsv, write_text_atomic, write_tsv_atomic

PROTOCOL_COLUMNS = ["speaker", "utt_id", "AUX", "DEC", "VQ", "label"]
UNKNOWN = "-"
LABELS = ("bonafide", "spoof")
#: Misspellings found in published protocol files, accepted with a warning.
KNOWN_TYPOS = {"spoofs": "spoof"}
MANIFEST_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "subset", "label", "codec_id", "family", "AUX",
                    "DEC", "VQ", "path", "samples", "duration", "clipped", "weights"]


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
    frame = pd.DataFrame(rows)[MANIFEST_COLUMNS + ([CORPUS_COLUMN] if CORPUS_COLUMN in bonafide.columns else [])]
    order = {name: rank for rank, name in enumerate([BONAFIDE, *codecs])}
    frame["_rank"] = frame["subset"].map(order)
    return frame.sort_values(["speaker", "source_utt", "_rank"], kind="stable").drop(columns="_rank") \
        .reset_index(drop=True)


def protocol_lines(manifest: pd.DataFrame) -> list[str]:
    """`SPK UTT - AUX DEC VQ label` per row; a field that is empty or holds whitespace, or a repeated utt_id, is an
    error (it would make a truncated, extra-field or colliding line), whatever let it through the manifest step."""
    duplicated = manifest["utt_id"][manifest["utt_id"].duplicated()]
    if len(duplicated):
        raise ProtocolError(f"protocol: utt_id {duplicated.iloc[0]!r} would appear on two lines")
    lines = []
    for r in manifest.itertuples():
        fields = [str(r.speaker), str(r.utt_id), UNKNOWN, str(r.AUX), str(r.DEC), str(r.VQ), str(r.label)]
        bad = [f for f in fields if not f or f != "".join(f.split())]
        if bad:
            raise ProtocolError(f"protocol: field {bad[0]!r} of utt_id {r.utt_id!r} is empty or holds whitespace")
        lines.append(" ".join(fields))
    return lines


class ProtocolError(UserError):
    pass


def _vocabulary() -> dict[str, set[str]]:
    labels = registry.protocol_labels()
    real = {labels["bonafide"], UNKNOWN}
    return {"AUX": set(labels["AUX"].values()) | real, "DEC": set(labels["DEC"].values()) | real,
            "VQ": set(labels["QUA"].values()) | real}


def _parse_line(fields: list[str], vocabulary: dict[str, set[str]]) -> dict[str, str]:
    """One line's columns; ValueError says what is wrong with it."""
    if len(fields) == 7:
        taxonomy = dict(zip(("AUX", "DEC", "VQ"), fields[3:6]))
    elif len(fields) == 5:
        taxonomy = {"AUX": UNKNOWN, "DEC": UNKNOWN, "VQ": fields[3]}
    elif len(fields) == 4:
        taxonomy = {"AUX": UNKNOWN, "DEC": UNKNOWN, "VQ": UNKNOWN}
    else:
        raise ValueError(f"{len(fields)} fields; a published layout has 7 (SPK UTT - AUX DEC VQ label), "
                         f"5 (SPK UTT - VQ label) or 4 (SYSTEM KEY - label)")
    if fields[2] != UNKNOWN:
        raise ValueError(f"third field is {fields[2]!r}, not '-'")
    for column, value in taxonomy.items():
        if value not in vocabulary[column]:
            raise ValueError(f"{column} {value!r} is not one of {', '.join(sorted(vocabulary[column]))}")
    return {"speaker": fields[0], "utt_id": fields[1], **taxonomy, "label": fields[-1]}


def read_protocol(path: str | os.PathLike) -> pd.DataFrame:
    """Any published CodecFake+ protocol file as speaker, utt_id, AUX, DEC, VQ, label (see the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise ProtocolError(f"protocol {path} does not exist")
    vocabulary = _vocabulary()
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _parse_line(line.split(), vocabulary)
        except ValueError as err:
            raise ProtocolError(f"{path} line {number}: {err}: {line!r}") from None
        if row["label"] in KNOWN_TYPOS:
            print(f"warning: {path} line {number}: label {row['label']!r} read as {KNOWN_TYPOS[row['label']]!r} "
                  f"(a typo in the published list)", file=sys.stderr)
            row["label"] = KNOWN_TYPOS[row["label"]]
        if row["label"] not in LABELS:
            raise ProtocolError(f"{path} line {number}: label {row['label']!r} is not bonafide or spoof: {line!r}")
        rows.append(row)
    if not rows:
        raise ProtocolError(f"protocol {path} has no lines")
    return pd.DataFrame(rows, columns=PROTOCOL_COLUMNS)


def drop_unpaired_bonafide(manifest: pd.DataFrame, codecs: list[str], rejects: pd.DataFrame
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A bona fide utterance that every codec rejected (e.g. shorter than any codec's frame) leaves the protocol
    and joins the rejects: a CoRS protocol pairs each bona fide with its resyntheses, so it is rejected everywhere.
    One that some codecs could use stays, with those codecs' files (the others list it in their rejects)."""
    if not codecs or manifest.empty:
        return manifest, rejects
    paired = set(manifest.loc[manifest["label"] == "spoof", "source_utt"])
    unpaired = manifest[(manifest["label"] == "bonafide") & ~manifest["source_utt"].isin(paired)]
    if unpaired.empty:
        return manifest, rejects
    source_paths = (dict(zip(rejects["source_utt"], rejects["source_path"]))
                    if {"source_utt", "source_path"} <= set(rejects.columns) else {})
    dropped = pd.DataFrame([{"source_utt": r.source_utt, "speaker": r.speaker, "split": r.split, "subset": BONAFIDE,
                             "source_path": source_paths.get(r.source_utt, UNKNOWN),
                             "reason": "unpaired: every codec rejected it, so it leaves the protocol"}
                            for r in unpaired.itertuples()])
    kept = manifest[~manifest["source_utt"].isin(set(unpaired["source_utt"]))].reset_index(drop=True)
    return kept, pd.concat([rejects, dropped], ignore_index=True)


def write_split(bonafide_tables, codec_tables, codecs: list[str], rejects_tables, protocol, manifest_out,
                rejects_out) -> pd.DataFrame:
    manifest, rejects = drop_unpaired_bonafide(build_manifest(bonafide_tables, codec_tables, codecs), codecs,
                                               _concat(rejects_tables))
    write_tsv_atomic(manifest, manifest_out)
    write_text_atomic("".join(line + "\n" for line in protocol_lines(manifest)), protocol)
    write_tsv_atomic(rejects, rejects_out)
    return manifest


def summarize(manifest: pd.DataFrame, rejects_path: str | os.PathLike, split: str) -> str:
    rejects = read_tsv(rejects_path) if Path(rejects_path).stat().st_size else pd.DataFrame()
    counts = manifest.groupby("label").size().to_dict() if len(manifest) else {}
    reasons = (rejects["reason"].str.split(":").str[0].value_counts().to_dict() if len(rejects) else {})
    clipped = int((pd.to_numeric(manifest["clipped"]) > 0).sum()) if len(manifest) else 0
    return (f"CoRS {split}: {counts.get('bonafide', 0)} bona fide, {counts.get('spoof', 0)} spoof files "
            f"({clipped} clipped); {len(rejects)} rejected {reasons or ''}").rstrip()
