"""Codecfake's dataset layout (Xie et al., arXiv 2405.04880; xieyuankun/Codecfake README and raw_dataset.py):
its condition names, file names and label files, written from a run's CoRS manifests and read as published.

Layout: `label/<part>.txt`, lines `<file> real|fake <method>`; audio `train/<file>`, `dev/<file>` and
`test/<condition>/<file>` (the README's tree; the authors' own scripts read `<condition>/<file>`, accepted too).
Method: 0 real, 1-7 for C1-C7, a sub-condition's own id (C3-1 ... C4-3), L1-L3 for the ALM sets A1-A3 (whose
real rows carry it too). Fakes are named `F01_<utt>.wav` ... `F07_<utt>.wav`, sub-conditions `C3-1_<utt>.wav`.
Train and dev hold each real with its six fakes of C1-C6; each C1-C6 and sub-condition test set is the test
reals with that condition's fakes; C7 (the unseen codec) is every utterance through codec 7 plus the test reals.
The published files keep each codec's native rate; the ones written here are the run's 16 kHz files.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import soundfile

from codecfake import registry
from codecfake.audio import write_atomic
from codecfake.errors import UserError
from codecfake.tables import read_text, write_text_atomic

MAIN = tuple(f"C{k}" for k in range(1, 8))
SUB = ("C3-1", "C3-2", "C3-3", "C3-4", "C4-1", "C4-2", "C4-3")
ALM = ("A1", "A2", "A3")
#: Every test condition, in the order of Codecfake's tables.
CONDITIONS = (*MAIN[:3], *SUB[:4], MAIN[3], *SUB[4:], *MAIN[4:], *ALM)
#: The conditions whose fakes train and dev hold (C7 is unseen in training, the sub-conditions test only).
TRAINED = MAIN[:6]
PARTS = ("train", "dev")
#: Our split -> Codecfake's part (eval is its test).
SPLIT_PART = {"train": "train", "dev": "dev", "eval": "test"}
REAL, FAKE = "real", "fake"
#: A label line; the file is a bare name in its part's folder (no folder part, not hidden: nothing outside is read).
LINE = re.compile(r"(?P<file>[^\s/\\.][^\s/\\]*)\s+(?P<label>real|fake)\s+(?P<method>\S+)")


class LayoutError(UserError):
    pass


def method(condition: str | None) -> str:
    """The third label field: 0 for a real, 1-7 for C1-C7, the id of a sub-condition, L1-L3 for A1-A3."""
    if condition is None:
        return "0"
    if condition in MAIN:
        return condition[1:]
    if condition in ALM:
        return f"L{condition[1:]}"
    return condition


def condition_of_method(token: str, part: str) -> str | None:
    """The condition a fake's method names (None for 0); an ALM part's rows all belong to it."""
    if part in ALM:
        return part
    if token == "0":
        return None
    if token in {method(c) for c in MAIN}:
        return f"C{token}"
    if token in SUB:
        return token
    raise LayoutError(f"label/{part}.txt: method {token!r} is none of 0, 1-7, {', '.join(SUB)}")


def file_name(utt: str, condition: str | None) -> str:
    """`<utt>.wav` for a real, `F0k_<utt>.wav` for Ck, `<id>_<utt>.wav` for a sub-condition."""
    if condition is None:
        return f"{utt}.wav"
    return f"{'F0' + condition[1:] if condition in MAIN else condition}_{utt}.wav"


def utterance(file: str, condition: str | None) -> str:
    """The source utterance of a file name (file_name's inverse); an ALM file's own stem."""
    stem = Path(file).stem
    if condition is None or condition in ALM:
        return stem
    prefix = Path(file_name("", condition)).stem
    return stem[len(prefix):] if stem.startswith(prefix) else stem


def conditions_of(codecs: list[str]) -> dict[str, str]:
    """Registry codec -> the Codecfake condition it runs, for the codecs that run one."""
    entries = registry.codecs()
    return {name: entries[name].codecfake_condition for name in codecs if entries[name].codecfake_condition}


# -- writing ---------------------------------------------------------------------------------------------------
def _place(source: Path, target: Path) -> None:
    """A hard link to the run's file (no copy of the audio), or a copy across file systems; a run that keeps its
    16 kHz files as FLAC (audio_format) has them written as WAV, Codecfake's format."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() != ".wav":
        audio, rate = soundfile.read(source, dtype="float32")
        write_atomic(target, audio, rate, "wav")
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _rows(manifest: pd.DataFrame, conditions: dict[str, str], wanted, results: Path) -> list[tuple]:
    """(file name, label, method, source path) of the manifest's reals and of its fakes of the `wanted` conditions."""
    rows = []
    for record in manifest.to_dict("records"):
        if record["label"] == "bonafide":
            condition = None
        else:
            condition = conditions.get(record["subset"])
            if condition not in wanted:
                continue
        rows.append((file_name(record["source_utt"], condition), FAKE if condition else REAL, method(condition),
                     results / record["path"]))
    return rows


def _write_part(rows: list[tuple], audio_dir: Path, label: Path) -> int:
    names = [row[0] for row in rows]
    if len(set(names)) != len(names):
        raise LayoutError(f"{label}: two files would be named {next(n for n in names if names.count(n) > 1)}")
    for name, _, _, source in rows:
        _place(source, audio_dir / name)
    write_text_atomic("".join(f"{name} {kind} {token}\n" for name, kind, token, _ in rows), label)
    return len(rows)


def write(manifests: dict[str, pd.DataFrame], codecs: list[str], results: str | Path, out: str | Path) -> dict:
    """Codecfake's train/dev/test layout under `out` from the run's CoRS manifests (split -> table); returns the
    number of files per label file. Codecs that run no Codecfake condition are left out."""
    results, out = Path(results), Path(out)
    conditions = conditions_of(codecs)
    if not conditions:
        raise LayoutError("codecfake layout: none of the run's codecs runs a Codecfake condition (registry "
                          "`codecfake_condition`)")
    if out.exists():
        shutil.rmtree(out)
    counts = {}
    for split in ("train", "dev"):
        part = SPLIT_PART[split]
        counts[part] = _write_part(_rows(manifests[split], conditions, TRAINED, results), out / part,
                                   out / "label" / f"{part}.txt")
    present = [c for c in CONDITIONS if c in conditions.values()]
    for condition in present:
        rows = _rows(manifests["eval"], conditions, {condition}, results)
        if condition == "C7":
            rows += [row for split in ("train", "dev") for row in
                     _rows(manifests[split], conditions, {condition}, results) if row[1] == FAKE]
        counts[condition] = _write_part(rows, out / "test" / condition, out / "label" / f"{condition}.txt")
    return counts


# -- reading ---------------------------------------------------------------------------------------------------
def read_labels(root: str | Path, part: str) -> pd.DataFrame:
    """label/<part>.txt as rows (file, label, condition, path); strict: a malformed line is an error naming it."""
    root = Path(root)
    label = root / "label" / f"{part}.txt"
    if not label.is_file():
        raise LayoutError(f"Codecfake {part}: {label} does not exist")
    audio_dir = audio_folder(root, part)
    rows = []
    for number, line in enumerate(read_text(label).splitlines(), 1):
        if not line.strip():
            continue
        match = LINE.fullmatch(line.strip())
        if not match:
            raise LayoutError(f"{label} line {number}: expected `<file> real|fake <method>` (a bare file name), got "
                              f"{line.strip()!r}")
        condition = condition_of_method(match["method"], part)
        if match["label"] == FAKE and condition is None:
            raise LayoutError(f"{label} line {number}: a fake with method 0")
        rows.append({"file": match["file"], "label": match["label"],
                     "condition": condition if match["label"] == FAKE else None,
                     "path": str((audio_dir / match["file"]).resolve())})
    return pd.DataFrame(rows, columns=["file", "label", "condition", "path"])


def audio_folder(root: Path, part: str) -> Path:
    """train/ and dev/; a test condition's test/<C>/ (the README's tree), else <C>/ (the authors' scripts)."""
    if part in PARTS:
        return root / part
    nested = root / "test" / part
    return nested if nested.is_dir() or not (root / part).is_dir() else root / part


def test_parts(root: str | Path) -> list[str]:
    """The test conditions whose label files are present, in Codecfake's order."""
    return [c for c in CONDITIONS if (Path(root) / "label" / f"{c}.txt").is_file()]
