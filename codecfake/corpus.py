"""Corpus -> manifest: the VCTK 0.92 reader and user manifests.

The manifest is the pipeline's one view of the corpus: a TSV with utt_id, speaker, path, sample_rate, samples,
duration, text (paths absolute). VCTK 0.92 keeps two microphones per utterance
(`wav48_silence_trimmed/{spk}/{spk}_{nnn}_mic{1,2}.flac`); utt_id drops the mic suffix.

utt_id and speaker become file names and protocol fields, so they are checked here, once, before anything is
written: they must match IDENTIFIER (letters, digits, `_`, `-`, `.`; starting with a letter, digit or `_`; at
most 128 characters: no `/`, `..`, spaces or absolute paths), be unique, and no utt_id may equal another's
`<utt_id>_<codec protocol name>` (the name of that utterance's resynthesis). A bad row is an error naming it, or,
with `corpus.invalid_ids: reject`, a row of the manifest's rejects table with its reason.
"""
from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path

import pandas as pd
import soundfile as sf
import yaml
from tqdm import tqdm

from codecfake import RESOURCES
from codecfake.download import download
from codecfake.errors import UserError

MANIFEST_COLUMNS = ["utt_id", "speaker", "path", "sample_rate", "samples", "duration", "text"]
REJECT_COLUMNS = ["row", "utt_id", "speaker", "path", "reason"]
IDENTIFIER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IDENTIFIER_RULE = "letters, digits, '_', '-', '.', starting with a letter, digit or '_', at most 128 characters"
INVALID_ID_MODES = ("error", "reject")
REQUIRED_USER_COLUMNS = ["utt_id", "speaker", "path"]
VCTK_FILE = re.compile(r"^(?P<utt>(?P<spk>[ps]\d+)_\d+)_(?P<mic>mic[12])\.flac$")


class CorpusError(UserError):
    pass


def vctk_layout() -> dict:
    return yaml.safe_load((RESOURCES / "vctk.yaml").read_text())


def download_vctk(root: str | Path, url: str | None = None, sha256: str | None = None) -> Path:
    """Fetch the official archive beside `root` (resumable, checksum-verified) and extract it into `root`.

    The archive has no top-level folder. It is extracted into a temporary sibling that is renamed to `root` once
    complete, so an interrupted extraction is never taken for the corpus.
    """
    layout = vctk_layout()
    root = Path(root)
    archive = download(url or layout["url"], root.parent / layout["archive_name"], sha256=sha256 or layout["sha256"])
    partial = root.with_name(root.name + ".extracting")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as handle:
        handle.extractall(partial)
    if not (partial / layout["audio_dir"]).is_dir():
        raise CorpusError(f"{archive} holds no {layout['audio_dir']}/ folder: not the VCTK 0.92 archive")
    partial.rename(root)
    return root


def _header(path: Path) -> tuple[int, int]:
    """Sample rate and length; (0, 0) for an unreadable file, which the shard jobs then reject with its reason."""
    try:
        info = sf.info(str(path))
        return info.samplerate, info.frames
    except (RuntimeError, OSError):  # soundfile's LibsndfileError is a RuntimeError
        return 0, 0


def _identifier_problems(rows: list[dict], codec_names: list[str]) -> list[str | None]:
    """Per row, why its utt_id/speaker cannot be used (None if it can); later duplicates are the bad rows."""
    ids = {row["utt_id"] for row in rows}
    seen: set[str] = set()
    problems: list[str | None] = []
    for row in rows:
        utt, speaker = row["utt_id"], row["speaker"]
        problem = None
        if not IDENTIFIER.match(utt):
            problem = f"utt_id {utt!r} is not a safe identifier ({IDENTIFIER_RULE})"
        elif not IDENTIFIER.match(speaker):
            problem = f"speaker {speaker!r} is not a safe identifier ({IDENTIFIER_RULE})"
        elif utt in seen:
            problem = f"utt_id {utt!r} is duplicated"
        else:
            clash = next((c for c in codec_names if utt.endswith(f"_{c}") and utt[: -len(c) - 1] in ids), None)
            if clash:
                problem = (f"utt_id {utt!r} collides with the {clash} resynthesis of utt_id "
                           f"{utt[: -len(clash) - 1]!r}")
        seen.add(utt)
        problems.append(problem)
    return problems


def _finish(rows: list[dict], on_invalid: str = "error") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated manifest (headers read) and the rows rejected for bad identifiers (only with on_invalid=reject)."""
    if on_invalid not in INVALID_ID_MODES:
        raise CorpusError(f"corpus.invalid_ids must be one of {', '.join(INVALID_ID_MODES)}, got {on_invalid!r}")
    from codecfake.registry import codecs

    problems = _identifier_problems(rows, list(codecs()))
    bad = [(row, problem) for row, problem in zip(rows, problems) if problem]
    if bad and on_invalid == "error":
        listed = "; ".join(f"{row['row']}: {problem}" for row, problem in bad[:5])
        raise CorpusError(f"{len(bad)} manifest row(s) cannot be used: {listed}"
                          f"{' ...' if len(bad) > 5 else ''} (fix them, or set corpus.invalid_ids: reject to "
                          f"leave them out, listed in corpus/manifest.rejects.tsv)")
    rejects = pd.DataFrame([{**row, "reason": problem} for row, problem in bad], columns=REJECT_COLUMNS)
    rows = [row for row, problem in zip(rows, problems) if not problem]
    for row in tqdm(rows, desc="reading headers", file=sys.stderr, mininterval=10):
        row["sample_rate"], row["samples"] = _header(Path(row["path"]))
        row["duration"] = round(row["samples"] / row["sample_rate"], 6) if row["sample_rate"] else 0.0
    frame = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    unreadable = frame.loc[frame["sample_rate"] == 0, "path"]
    if len(unreadable):
        print(f"manifest: warning: {len(unreadable)} audio file(s) are missing or unreadable, e.g. "
              f"{unreadable.iloc[0]}; the shard jobs will reject them with the reason", file=sys.stderr)
    if frame.empty:
        raise CorpusError(f"no usable utterance in the corpus ({len(rejects)} rejected for their identifiers)")
    return frame.sort_values("utt_id", kind="stable").reset_index(drop=True), rejects


def read_vctk(root: str | Path, mic: str = "mic1", on_invalid: str = "error") -> tuple[pd.DataFrame, pd.DataFrame]:
    layout = vctk_layout()
    root = Path(root)
    audio_dir, text_dir = root / layout["audio_dir"], root / layout["text_dir"]
    if not audio_dir.is_dir():
        raise CorpusError(f"VCTK 0.92 not found: expected {audio_dir} (set corpus.root, or corpus.download: true)")
    rows = []
    for path in sorted(audio_dir.glob(f"*/*_{mic}.flac")):
        match = VCTK_FILE.match(path.name)
        if match is None:
            continue
        text_file = text_dir / match["spk"] / f"{match['utt']}.txt"
        text = text_file.read_text(errors="replace").strip() if text_file.exists() else ""
        rows.append({"row": str(path), "utt_id": match["utt"], "speaker": match["spk"], "path": str(path.resolve()),
                     "text": text})
    if not rows:
        raise CorpusError(f"no *_{mic}.flac files under {audio_dir}")
    return _finish(rows, on_invalid)


def read_user_manifest(path: str | Path, on_invalid: str = "error") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user's TSV (at least utt_id, speaker, path; relative paths are relative to the manifest)."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"corpus.manifest: {path} does not exist")
    need = f"a header line with at least {', '.join(REQUIRED_USER_COLUMNS)} (tab-separated) and one row per utterance"
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise CorpusError(f"corpus.manifest {path} is empty: it needs {need}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CorpusError(f"corpus.manifest {path} is not a readable TSV ({err}): it needs {need}") from None
    missing = [c for c in REQUIRED_USER_COLUMNS if c not in frame.columns]
    if missing:
        raise CorpusError(f"corpus.manifest {path}: missing column(s) {', '.join(missing)}; need {need}")
    if frame.empty:
        raise CorpusError(f"corpus.manifest {path} has a header but no rows: it needs {need}")
    rows = []
    for line, record in enumerate(frame.to_dict("records"), start=2):
        audio = Path(record["path"])
        audio = audio if audio.is_absolute() else (path.parent / audio)
        rows.append({"row": f"{path.name} line {line}", "utt_id": record["utt_id"], "speaker": record["speaker"],
                     "path": str(audio.resolve()), "text": record.get("text", "")})
    return _finish(rows, on_invalid)
