"""Corpus -> manifest: the VCTK 0.92 reader and user manifests.

The manifest is the pipeline's one view of the corpus: a TSV with utt_id, speaker, path, sample_rate, samples,
duration, text (paths absolute). VCTK 0.92 keeps two microphones per utterance
(`wav48_silence_trimmed/{spk}/{spk}_{nnn}_mic{1,2}.flac`); utt_id drops the mic suffix.
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
    except Exception:
        return 0, 0


def _finish(rows: list[dict]) -> pd.DataFrame:
    for row in tqdm(rows, desc="reading headers", file=sys.stderr, mininterval=10):
        row["sample_rate"], row["samples"] = _header(Path(row["path"]))
        row["duration"] = round(row["samples"] / row["sample_rate"], 6) if row["sample_rate"] else 0.0
    frame = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    duplicated = frame["utt_id"][frame["utt_id"].duplicated()]
    if len(duplicated):
        raise CorpusError(f"duplicate utt_id in corpus: {', '.join(duplicated.unique()[:5])}")
    return frame.sort_values("utt_id", kind="stable").reset_index(drop=True)


def read_vctk(root: str | Path, mic: str = "mic1") -> pd.DataFrame:
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
        rows.append({"utt_id": match["utt"], "speaker": match["spk"], "path": str(path.resolve()), "text": text})
    if not rows:
        raise CorpusError(f"no *_{mic}.flac files under {audio_dir}")
    return _finish(rows)


def read_user_manifest(path: str | Path) -> pd.DataFrame:
    """A user's TSV (at least utt_id, speaker, path; relative paths are relative to the manifest)."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus.manifest: {path} does not exist")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_USER_COLUMNS if c not in frame.columns]
    if missing:
        raise CorpusError(f"corpus.manifest {path}: missing column(s) {', '.join(missing)}; "
                          f"need at least {', '.join(REQUIRED_USER_COLUMNS)}")
    rows = []
    for record in frame.to_dict("records"):
        audio = Path(record["path"])
        audio = audio if audio.is_absolute() else (path.parent / audio)
        rows.append({"utt_id": record["utt_id"], "speaker": record["speaker"], "path": str(audio.resolve()),
                     "text": record.get("text", "")})
    return _finish(rows)
