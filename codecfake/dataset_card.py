"""The dataset card (README.md at results_dir) written by `codecfake export`, and the third-party licence table.

A folder of audio handed on says nothing of what may be done with it: the card's YAML front matter (the Hugging
Face dataset-card header) names the source corpus and its licence, each codec used with its code and weights
licences and whether its weights were random, the provenance cards the quality part wrote (if any), and, when
parquet shards were written, the `configs` that make `load_dataset(results_dir)` read them by split. Licences
come from codecfake/resources/licences.yaml, the one home of those facts; README.md's table is `licence_table()`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from codecfake import RESOURCES, registry
from codecfake.errors import UserError
from codecfake.registry import BONAFIDE
from codecfake.tables import write_text_atomic

TABLE_HEADER = "| family | upstream code | code licence | weights licence |\n|---|---|---|---|\n"
#: A registry family that codecfake/resources/licences.yaml does not list yet (adding a codec needs no edit here).
NOT_LISTED = {"code": "-", "code_license": "not listed in codecfake/resources/licences.yaml",
              "weights_license": "not listed in codecfake/resources/licences.yaml"}


@lru_cache(maxsize=None)
def licences() -> dict:
    return yaml.safe_load((RESOURCES / "licences.yaml").read_text())


def family_licence(family: str) -> dict:
    return licences()["codecs"].get(family, NOT_LISTED)


def licence_table() -> str:
    """Markdown: one row per family that codecfake/resources/licences.yaml lists (code, code and weights licences), then
    the corpora and the other models codecfake fetches."""
    table = licences()
    rows = [f"| {family} | {c['code']} | {c['code_license']} | {c['weights_license']} |"
            for family, c in sorted(table["codecs"].items(), key=lambda item: item[0].lower())]
    corpora = [f"| {c['name']} | {c['url']} | {c['license']} |" for c in table["corpora"].values()]
    models = [f"| {name} | {c['code_license']} | {c['weights_license']} |" for name, c in table["models"].items()]
    return (TABLE_HEADER + "\n".join(rows) + "\n\n| corpus | source | licence |\n|---|---|---|\n"
            + "\n".join(corpora) + "\n\n| other model | code licence | weights licence |\n|---|---|---|\n"
            + "\n".join(models) + "\n")


def _codecs(table: pd.DataFrame) -> list[dict]:
    codecs = []
    for subset, part in table[table["subset"] != BONAFIDE].groupby("subset", sort=False):
        entry = registry.get(subset)
        licence = family_licence(entry.family)
        codecs.append({"name": subset, "id": entry.id, "family": entry.family, "QUA": entry.QUA, "AUX": entry.AUX,
                       "DEC": entry.DEC, "weights": sorted(set(part["weights"])), "code": licence["code"],
                       "code_license": licence["code_license"], "weights_license": licence["weights_license"]})
    return codecs


def _provenance(root: Path) -> list[dict]:
    """What the provenance cards (audio/<subset>/<split>/provenance.json) say of each subset's weights."""
    records = []
    for path in sorted(root.glob("audio/*/*/provenance.json")):
        card = json.loads(path.read_text())
        weights = card["weights"]
        records.append({"subset": card["subset"], "split": card["split"], "card": path.relative_to(root).as_posix(),
                        "weights": weights["mode"], "random_weights": weights["random_weights"],
                        "weights_sha256": weights.get("sha256", {}), "config_sha256": card["config_sha256"],
                        "codecfake_version": card["codecfake_version"]})
    return records


def _corpora(table: pd.DataFrame, corpus: str | None) -> list[dict]:
    """The source corpora: the one named, else those of the rows' corpus column (a run over several), else
    unknown."""
    known = licences()["corpora"]
    names = [corpus] if corpus else sorted(set(table["corpus"])) if "corpus" in table.columns else ["unknown"]
    for name in names:
        if name not in known:
            raise UserError(f"export: unknown corpus {name!r}; codecfake/resources/licences.yaml lists "
                            f"{', '.join(known)}")
    return [known[name] for name in names]


def header(table: pd.DataFrame, root: Path, corpus: str | None, shards: list[str]) -> dict:
    head = {"pretty_name": "CodecFake+ CoRS (codecfake)", "license": "other",
            "license_name": "mixed: see source_corpora and codecs", "task_categories": ["audio-classification"],
            "tags": ["anti-spoofing", "audio-deepfake-detection", "neural-audio-codec", "codecfake"],
            "source_corpora": _corpora(table, corpus), "codecs": _codecs(table),
            "provenance": _provenance(root) or "no provenance cards (the workflow's quality part writes them)"}
    if shards:
        splits = [s for s in table["split"].unique() if any(Path(p).name.startswith(f"{s}-") for p in shards)]
        head["configs"] = [{"config_name": "default",
                            "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits]}]
    return head


def body(table: pd.DataFrame) -> str:
    counts = table.groupby(["split", "label"], sort=False).size().unstack(fill_value=0)
    lines = ["| split | " + " | ".join(counts.columns) + " |", "|---" * (len(counts.columns) + 1) + "|"]
    lines += [f"| {split} | " + " | ".join(str(v) for v in row) + " |" for split, row in counts.iterrows()]
    random = sorted(table.loc[table["weights"] == "random", "subset"].unique())
    warning = (f"\n**Random weights** ({', '.join(random)}): no checkpoint was loaded; this audio shows the pipeline "
               "working, not the codecs' artifacts.\n" if random else "")
    return ("# CodecFake+ CoRS, made with codecfake\n\nCodec-resynthesized speech for anti-spoofing and source "
            "tracing, laid out as CodecFake+ (audio/<subset>/<split>/, protocols/CoRS_<split>.txt).\n\n"
            + "\n".join(lines) + "\n" + warning +
            "\nLoading: `load_dataset(\"audiofolder\", data_files=\"<this folder>/metadata.csv\", drop_labels=True)` "
            "(one row per protocol line, `split` a column); with parquet shards, `load_dataset(\"<this folder>\")` "
            "(splits from `configs`); Kaldi lists under kaldi/<split>/. Licences: the front matter above.\n")


def write_card(table: pd.DataFrame, root: Path, corpus: str | None, shards: list[str]) -> Path:
    out = root / "README.md"
    front = yaml.safe_dump(header(table, root, corpus, shards), sort_keys=False, allow_unicode=True)
    write_text_atomic(f"---\n{front}---\n\n{body(table)}", out)
    return out
