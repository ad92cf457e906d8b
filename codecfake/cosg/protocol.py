"""A generated CoSG set's split: protocol, manifest and rejects from its shard tables, and its provenance card.

Protocol lines are the published CoSG layout our readers take (codecfake.protocols.read_protocol, 5 fields):
`SYSTEM KEY - VQ label`, e.g. `MASKGCT p225_001_MaskGCT - MVQ spoof` and `MASKGCT p225_001 - REAL bonafide`; the
audio is `<set root>/<SYSTEM>/<KEY>.wav` (codecfake.cm.evalsets.cosg). The system and its taxonomy come from
codecfake/resources/cosg_systems.tsv (paper Table IV), never from file names. Each spoof is listed right after its
bona fide source; a bona fide prompt whose generation was rejected leaves the protocol (it is paired with nothing)
and joins the rejects.

The manifest (ours) has the CoRS manifest's columns (codecfake.protocols.MANIFEST_COLUMNS, paths relative to the
results folder, so codecfake.cm.evalsets.cors reads it with speakers and sources) plus the target utterance and
both texts.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from codecfake import __version__
from codecfake.errors import UserError
from codecfake.protocols import MANIFEST_COLUMNS, UNKNOWN
from codecfake.registry import BONAFIDE, protocol_labels
from codecfake.tables import read_tsv, write_text_atomic, write_tsv_atomic

COSG_MANIFEST_COLUMNS = [*MANIFEST_COLUMNS, "target_utt", "prompt_text", "target_text"]
RANDOM_NOTE = ("random weights: no checkpoint was loaded; the audio shows the pipeline working, not the "
               "generator's artifacts")


def _concat(paths) -> pd.DataFrame:
    frames = [read_tsv(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def system_taxonomy(system: str) -> dict[str, str]:
    """AUX, DEC, VQ of a CoSG system in protocol spellings (cosg_systems.tsv)."""
    from codecfake.cosg.systems import cosg_systems

    systems = cosg_systems()
    if system not in systems.index:
        raise UserError(f"CoSG system {system!r} is not in codecfake/resources/cosg_systems.tsv "
                        f"({', '.join(systems.index)}): add its row (paper name, codec, taxonomy) before generating "
                        f"with it")
    return {"AUX": systems.at[system, "AUX"], "DEC": systems.at[system, "DEC"], "VQ": systems.at[system, "QUA"]}


def build_manifest(tables, system: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(manifest, bona fide rows dropped as unpaired) of one split from its shard tables."""
    rows = _concat(tables)
    if rows.empty:
        return pd.DataFrame(columns=COSG_MANIFEST_COLUMNS), pd.DataFrame()
    spoof = rows[rows["label"] == "spoof"]
    bonafide = rows[rows["label"] == "bonafide"].drop_duplicates("utt_id")
    paired = bonafide["source_utt"].isin(set(spoof["source_utt"]))
    real = protocol_labels()["bonafide"]
    taxonomy = system_taxonomy(system)
    frame = pd.concat([bonafide[paired].assign(subset=BONAFIDE, codec_id=UNKNOWN, family=UNKNOWN, AUX=real,
                                               DEC=real, VQ=real),
                       spoof.assign(subset=spoof["generator"], codec_id=UNKNOWN, family=system, **taxonomy)],
                      ignore_index=True)
    frame["_spoof"] = frame["label"] == "spoof"
    frame = frame.sort_values(["speaker", "source_utt", "_spoof", "utt_id"], kind="stable")
    return frame[COSG_MANIFEST_COLUMNS].reset_index(drop=True), bonafide[~paired]


def protocol_lines(manifest: pd.DataFrame, system: str) -> list[str]:
    """`SYSTEM KEY - VQ label` per row."""
    return [f"{system} {r.utt_id} {UNKNOWN} {r.VQ} {r.label}" for r in manifest.itertuples()]


def write_split(tables, rejects_tables, system: str, protocol, manifest_out, rejects_out) -> pd.DataFrame:
    manifest, unpaired = build_manifest(tables, system)
    if manifest.empty:
        raise UserError(f"{Path(protocol).name}: no generated utterance in this split (every prompt was rejected: "
                        f"see {rejects_out})")
    rejects = _concat(rejects_tables)
    if len(unpaired):
        dropped = unpaired.assign(source_path=unpaired["path"], reason="unpaired: its generation was rejected")
        rejects = pd.concat([rejects, dropped[["utt_id", "source_utt", "speaker", "split", "source_path", "reason"]]],
                            ignore_index=True)
    write_tsv_atomic(rejects, rejects_out)
    write_tsv_atomic(manifest, manifest_out)
    write_text_atomic("".join(line + "\n" for line in protocol_lines(manifest, system)), protocol)
    counts = manifest.groupby("label").size().to_dict()
    print(f"{Path(protocol).name}: {counts.get('spoof', 0)} spoof, {counts.get('bonafide', 0)} bona fide files; "
          f"{len(rejects)} rejected", file=sys.stderr)
    return manifest


def card(cosg_set: str, split: str, system: str, generator: str, weights: str, env_file, config: dict,
         manifest, rejects) -> dict:
    """What a copy of the set's audio needs to say how it was made (codecfake.quality.provenance, for CoSG)."""
    from codecfake import generator_registry
    from codecfake.quality.provenance import config_hash, environment

    entry = generator_registry.generators()[generator]
    frame, rejected = read_tsv(manifest), read_tsv(rejects) if Path(rejects).stat().st_size else pd.DataFrame()
    spoof = frame[frame["label"] == "spoof"]
    record = {"mode": weights, "random_weights": weights == "random"}
    if weights == "random":
        record["note"] = RANDOM_NOTE
    return {"set": cosg_set, "split": split, "system": system,
            "generator": {"name": entry.name, "env": str(entry.env), "sample_rate": int(entry.sample_rate),
                          "taxonomy": system_taxonomy(system)},
            "weights": record, "environment": environment(env_file), "config": config,
            "config_sha256": config_hash(config),
            "rows": {"spoof": len(spoof), "bonafide": int((frame["label"] == "bonafide").sum()),
                     "spoof_hours": round(float(pd.to_numeric(spoof["duration"]).sum()) / 3600, 6),
                     "rejects": len(rejected)},
            "codecfake_version": __version__}


def write_card(out, **fields) -> dict:
    record = card(**fields)
    write_text_atomic(json.dumps(record, indent=2, default=str) + "\n", out)
    return record
