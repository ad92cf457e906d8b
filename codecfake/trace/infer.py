"""Tracing arbitrary audio files (the `codecfake trace` / `detect` commands).

Any file libsndfile reads is accepted: every channel is mixed to mono and the rate converted to 16 kHz with soxr
(codecfake.audio.resample), then the first crop is scored exactly as in evaluation (repeat-padded to the
tracer's crop). The pipeline's own reader (codecfake.audio.read_mono) rejects multichannel files on purpose; user
files are mixed down instead. Folders are searched recursively for audio by suffix.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

from codecfake.audio import TARGET_RATE, resample
from codecfake.cm.data import CROP_SAMPLES, repeat_to
from codecfake.trace.predict import bonafide_score
from codecfake.trace.tasks import classes

AUDIO_SUFFIXES = {"." + fmt.lower() for fmt in sf.available_formats()} | {".aif", ".oga", ".opus"}


class UnreadableAudio(Exception):
    pass


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
    """16 kHz mono float32 of any readable file, or UnreadableAudio saying why."""
    if not path.exists():
        raise UnreadableAudio("no such file")
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


@torch.no_grad()
def trace_files(model: torch.nn.Module, spec: dict, paths: list[Path], device: torch.device,
                progress: bool = True) -> list[dict]:
    """One result per file: {path, score, <task>: {class: probability}} or {path, error}."""
    crop = spec["train"].get("crop_samples", CROP_SAMPLES)
    results = []
    for path in tqdm(paths, desc="tracing", unit="file", file=sys.stderr, disable=not progress or len(paths) < 2):
        try:
            audio = load_any(path)
        except UnreadableAudio as err:
            results.append({"path": str(path), "error": str(err)})
            continue
        wave = torch.from_numpy(np.ascontiguousarray(repeat_to(audio, crop), dtype=np.float32))[None]
        probabilities = {t: torch.softmax(v.double(), dim=-1).cpu().numpy()
                         for t, v in model(wave.to(device)).items()}
        result = {"path": str(path), "score": float(bonafide_score(probabilities)[0])}
        for task, p in probabilities.items():
            result[task] = {name: float(p[0, i]) for i, name in enumerate(classes(task))}
        results.append(result)
    return results


def format_table(results: list[dict], tasks: list[str]) -> str:
    """Fixed-width table: path, bona fide score, then per head its most likely class and every probability."""
    header = ["path", "score"]
    for task in tasks:
        header += [f"{task}"] + [f"{task}:{name}" for name in classes(task)]
    rows = []
    for result in results:
        if "error" in result:
            rows.append([result["path"], f"ERROR: {result['error']}"])
            continue
        row = [result["path"], f"{result['score']:.4f}"]
        for task in tasks:
            probs = result[task]
            row += [max(probs, key=probs.get)] + [f"{probs[name]:.3f}" for name in classes(task)]
        rows.append(row)
    full = [r for r in rows if len(r) == len(header)]
    widths = [max(len(h), *(len(r[i]) for r in full)) if full else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() if len(row) == len(header)
                     else "  ".join([row[0].ljust(widths[0]), row[1]]))
    return "\n".join(lines)
