"""Provenance cards: a provenance.json beside each generated subset's audio (audio/<subset>/<split>/).

A folder of audio copied out of the results says nothing about how it was made. The card travels with it: the
codec configuration and architecture, where the weights came from and their sha256 (or that they were random,
so the audio is not representative of the codec), the package versions of the env the job ran in (read with
importlib.metadata in that env: the rule runs in the subset's own conda env), a hash of the config that defines
the output, and row counts (files, hours, rejects) from the tables the jobs wrote.
"""
from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from codecfake import __version__, registry
from codecfake.registry import BONAFIDE
from codecfake.tables import read_tsv, write_text_atomic, write_tsv_atomic

REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(?P<pin>.*)$")
#: The repository root (the workflow's envs/ live there, not in the package data): env files are named relative to
#: it, so cards of the same run agree across checkouts.
REPO = Path(__file__).resolve().parents[2]
#: Columns of the fetch step's table (`codecfake fetch codec-weights`): what the lock file holds for the codec.
CHECKSUM_COLUMNS = ["codec", "key", "path", "commit", "sha256"]
RANDOM_NOTE = ("random weights: no checkpoint was loaded; the audio shows the pipeline working, not the codec's "
               "artifacts")


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of the settings that define the subset's audio."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _requirement_name(line: str) -> tuple[str, str] | None:
    """(name, pin) of a pip line of an env file, e.g. `encodec==0.1.1` or `name @ git+https://...@sha`; None for
    pip options. A regex, not `packaging`, since the card is written in every codec env."""
    match = REQUIREMENT.match(line.strip())
    if match is None or line.startswith("-"):
        return None
    return match["name"], match["pin"].strip().lstrip("@").strip()


def environment(env_file: str | Path) -> dict:
    """Pinned and installed versions of the env file's packages, as this interpreter sees them."""
    spec = yaml.safe_load(Path(env_file).read_text()) or {}
    conda, pip = {}, {}
    for item in spec.get("dependencies", []):
        if isinstance(item, dict):
            for line in item.get("pip", []):
                parsed = _requirement_name(str(line))
                if parsed:
                    pip[parsed[0]] = parsed[1]
        else:
            name, _, pin = str(item).partition("=")
            conda[name] = pin.lstrip("=")
    packages = {}
    for name, pin in pip.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        packages[name] = {"pinned": pin, "installed": installed}
    env_file = Path(env_file).resolve()
    shown = env_file.relative_to(REPO) if env_file.is_relative_to(REPO) else env_file
    return {"env_file": str(shown), "python": platform.python_version(), "platform": platform.platform(),
            "executable": sys.executable, "conda": conda, "packages": packages}


def weights_record(subset: str, mode: str, checksums: str | None) -> dict:
    if subset == BONAFIDE:
        return {"mode": "none", "random_weights": False, "note": "bona fide: resampled to 16 kHz, no model"}
    entry = registry.get(subset)
    record = {"mode": mode, "random_weights": mode == "random", "sources": entry.weights}
    if mode == "random":
        record["note"] = RANDOM_NOTE
        return record
    table = pd.read_csv(checksums, sep="\t", header=None, names=CHECKSUM_COLUMNS, dtype=str)
    record["sha256"] = dict(zip(table["key"], table["sha256"]))
    record["commit"] = dict(zip(table["key"], table["commit"]))  # hub commit; "-" for a release URL
    return record


def _rows(tables: list[str], rejects: list[str]) -> dict:
    written = pd.concat([read_tsv(p) for p in tables], ignore_index=True) if tables else pd.DataFrame()
    rejected = pd.concat([read_tsv(p) for p in rejects], ignore_index=True) if rejects else pd.DataFrame()
    seconds = pd.to_numeric(written["duration"]).sum() if len(written) else 0.0
    return {"files": len(written), "hours": round(float(seconds) / 3600, 6), "rejects": len(rejected),
            "weights_in_tables": sorted(set(written["weights"])) if "weights" in written else []}


def card(subset: str, split: str, mode: str, env_file, config: dict, tables: list[str], rejects: list[str],
         checksums: str | None = None) -> dict:
    codec = None
    if subset != BONAFIDE:
        entry = registry.get(subset)
        codec = {field: getattr(entry, field) for field in ("protocol_name", "id", "family", "config", "arch",
                                                             "QUA", "AUX", "DEC", "sample_rate", "settings",
                                                             "wrapper", "env")}
        codec["architecture"] = entry.architecture_params()
    return {"subset": subset, "split": split, "label": "bonafide" if subset == BONAFIDE else "spoof",
            "codec": codec, "weights": weights_record(subset, mode, checksums), "environment": environment(env_file),
            "config": config, "config_sha256": config_hash(config), "rows": _rows(tables, rejects),
            "codecfake_version": __version__}


def write_card(out, **fields) -> dict:
    record = card(**fields)
    write_text_atomic(json.dumps(record, indent=2, sort_keys=False, default=str) + "\n", out)
    return record


def summary(cards: list[str]) -> pd.DataFrame:
    """One row per card, for the report: what each subset is and whether its weights were real."""
    rows = []
    for path in cards:
        record = json.loads(Path(path).read_text())
        weights = record["weights"]
        packages = record["environment"]["packages"]
        rows.append({
            "subset": record["subset"], "split": record["split"], "files": record["rows"]["files"],
            "hours": record["rows"]["hours"], "rejects": record["rows"]["rejects"], "weights": weights["mode"],
            "random_weights": weights["random_weights"],
            "weights_sha256": "; ".join(f"{k}={v[:16]}" for k, v in weights.get("sha256", {}).items()) or "-",
            "config_sha256": record["config_sha256"][:16], "env": Path(record["environment"]["env_file"]).name,
            "packages": ", ".join(f"{n}={v['installed'] or 'missing'}" for n, v in packages.items()),
            "card": str(path)})
    return pd.DataFrame(rows)


def write_summary(cards: list[str], out) -> pd.DataFrame:
    table = summary(cards)
    write_tsv_atomic(table, out)
    return table
