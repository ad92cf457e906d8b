"""Tracing arbitrary audio files (the `codecfake trace` command): codecfake.detector's model and score per file
(the same result `codecfake detect --json` gives for a tracer), every head's probabilities, and a table of them.

Files are read by codecfake.audio.load_any (any readable file, mixed to mono, resampled to 16 kHz).
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from tqdm import tqdm

from codecfake.audio import UnreadableAudio
from codecfake.detector import Detector, score_file
from codecfake.trace.tasks import classes


def trace_files(detector: Detector, paths: list[Path], device: torch.device, progress: bool = True) -> list[dict]:
    """One result per file: codecfake.detector.score_file's {path, score, <task>: {class: probability}, ...}, or
    {path, error}."""
    results = []
    for path in tqdm(paths, desc="tracing", unit="file", file=sys.stderr, disable=not progress or len(paths) < 2):
        try:
            results.append(score_file(detector, path, device))
        except UnreadableAudio as err:
            results.append({"path": str(path), "error": str(err)})
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
