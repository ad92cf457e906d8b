"""Audio I/O, checks and resampling shared by every job.

soundfile for I/O and soxr (HQ) for resampling: the PyPI torchaudio is a CUDA build, and soxr is both the
fastest and the most accurate resampler measured here (alias rejection ~-140 dB).
"""
from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from codecfake.tables import atomic_output

TARGET_RATE = 16000
#: soundfile subtype per output format; 16-bit PCM is what the published CodecFake+ audio uses.
FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}


class BadAudio(Exception):
    """An utterance that cannot enter the dataset; its message is the reason listed in the rejects table."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    samples: int
    channels: int


def _wav_declared_frames(path: Path) -> int | None:
    """Frames the RIFF header's `data` chunk declares; None when it declares none (streamed) or is not WAV.

    libsndfile shortens `frames` to what the file holds, so a WAV cut in half reads as a valid shorter file: the
    declared chunk size is the only trace of what was lost.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while chunk := handle.read(8):
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                body = handle.read(size)
                block_align = struct.unpack("<H", body[12:14])[0] if len(body) >= 14 else None
                handle.seek(size % 2, os.SEEK_CUR)
            elif name == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                handle.seek(size + size % 2, os.SEEK_CUR)
    return None


#: What a path that is not a regular file is, by its stat type (symlinks followed).
_NOT_A_FILE = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def file_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be an audio file, without opening it (None if it is a regular file): reading a FIFO or a
    device blocks or never ends, so they are named for what they are and never read. The text is a reject reason."""
    if not str(path):
        return "missing: the manifest gives no path"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"missing: {path} does not exist (fix the manifest's path column or restore the file)"
    except OSError as err:
        return f"unreadable: {path}: {err.strerror}"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _NOT_A_FILE if test(mode)), "a special file")
    return f"not a regular file: {path} is {kind}, not an audio file (fix the manifest's path column)"


def probe(path: str | os.PathLike) -> AudioInfo:
    """Header-only checks (cheap): missing, unreadable, empty, truncated and multichannel files and paths that are
    not regular files are rejected."""
    problem = file_problem(path)
    if problem:
        raise BadAudio(problem)
    path = Path(path)
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises several types for corrupt files
        raise BadAudio(f"unreadable: {path.name}: {type(err).__name__}: {err}".replace("\n", " ")) from err
    if info.frames == 0:
        raise BadAudio("empty: 0 samples")
    if info.channels != 1:
        raise BadAudio(f"multichannel: {info.channels} channels")
    declared = _wav_declared_frames(path)
    if declared is not None and declared > info.frames:
        raise BadAudio(f"truncated: header declares {declared} samples, the file holds {info.frames}")
    return AudioInfo(info.samplerate, info.frames, info.channels)


def read_mono(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Float32 samples of a mono file, rejected if missing, unreadable, empty, truncated, multichannel or
    non-finite."""
    info = probe(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise BadAudio(f"corrupt: {type(err).__name__}: {err}".replace("\n", " ")) from err
    data = data[:, 0]
    if data.size == 0:
        raise BadAudio("empty: 0 samples")
    if data.size < info.samples:
        raise BadAudio(f"truncated: header declares {info.samples} samples, {data.size} could be read")
    if not np.isfinite(data).all():
        raise BadAudio("non-finite samples")
    return data, rate


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float32)
    return soxr.resample(np.asarray(x, dtype=np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Trim, or pad with zeros at the end, to exactly `length` samples."""
    if x.shape[-1] >= length:
        return x[..., :length]
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, length - x.shape[-1])])


def full_scale(x: np.ndarray) -> np.ndarray:
    """The samples as 16-bit PCM holds them: beyond +-1 is clipped (`signal_checks` counts those samples)."""
    return np.clip(x, -1.0, 1.0)


def write_atomic(path: str | os.PathLike, x: np.ndarray, rate: int, fmt: str = "wav") -> None:
    """Write through a temp file in the same folder and rename (tables.atomic_output): never a partial file."""
    container, subtype = FORMATS[fmt]
    with atomic_output(path) as tmp:
        sf.write(tmp, full_scale(x), rate, format=container, subtype=subtype)


def signal_checks(x: np.ndarray, rate: int) -> dict:
    """Per-file checks recorded in every shard table, of the audio as written: `peak` and `rms` after clipping to
    full scale, and `clipped`, the number of samples that were beyond it (resampling full-scale noise overshoots
    to ~2.0), so a clipped file is never passed off as clean."""
    finite = bool(np.isfinite(x).all())
    safe = np.nan_to_num(x)
    written = full_scale(safe)
    return {
        "samples": int(x.shape[-1]),
        "duration": round(x.shape[-1] / rate, 6),
        "peak": round(float(np.abs(written).max(initial=0.0)), 6),
        "rms": round(float(np.sqrt(np.mean(np.square(written, dtype=np.float64)))) if x.size else 0.0, 6),
        "clipped": int(np.count_nonzero(np.abs(safe) > 1.0)),
        "finite": finite,
    }


# -- users' files (`codecfake detect` / `trace`) ----------------------------------------------------------------
#: Suffixes a folder given to `detect` / `trace` is searched for (what libsndfile reads, and common aliases).
AUDIO_SUFFIXES = {"." + fmt.lower() for fmt in sf.available_formats()} | {".aif", ".oga", ".opus"}


class UnreadableAudio(Exception):
    """A user's file that cannot be scored; the message says why (reported per file, the others still run)."""


def expand(paths: list[str]) -> list[Path]:
    """Files as given (whatever their suffix, so a wrong file gets its own error) and folders' audio files."""
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            found.append(path)
    return found


def load_any(path: Path) -> np.ndarray:
    """16 kHz mono float32 of any file libsndfile reads, or UnreadableAudio saying why. Unlike read_mono (the
    pipeline's reader, which rejects multichannel files on purpose), every channel is mixed down."""
    if not path.exists():
        raise UnreadableAudio("no such file")
    problem = file_problem(path)
    if problem:  # a FIFO or device is never opened: reading it would block or never end
        raise UnreadableAudio(problem)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise UnreadableAudio(f"not readable audio ({type(err).__name__}: {str(err).strip()})") from err
    if data.shape[0] == 0:
        raise UnreadableAudio("no samples")
    mono = data.mean(axis=1)
    if not np.isfinite(mono).all():
        raise UnreadableAudio("non-finite samples")
    return resample(mono, rate, TARGET_RATE)
