"""The shard jobs: bona fide audio to 16 kHz, and codec resynthesis (CoRS) of one (codec, split, shard).

A job processes its slice of the split manifest, writes every file atomically, and writes its shard table (one
row per output with its checks) and rejects table (one row per utterance it could not use, with the reason)
last: a killed job leaves no table, so Snakemake reruns it, and no half-written audio.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from codecfake.audio import TARGET_RATE, BadAudio, fit_length, probe, read_mono, resample, signal_checks, write_atomic
from codecfake.paths import inside_results
from codecfake.registry import BONAFIDE
from codecfake.shard import length_batches, parse_shard, shard_slice
from codecfake.tables import read_tsv, write_tsv_atomic

SHARD_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "subset", "path", "sample_rate", "samples",
                 "duration", "peak", "rms", "clipped", "finite", "delay_samples", "weights"]
REJECT_COLUMNS = ["source_utt", "speaker", "split", "subset", "source_path", "reason"]


@dataclass
class JobStats:
    """What a job did, for its log line and for benchmarks/resynth_throughput.py."""
    written: int = 0
    rejected: Counter = field(default_factory=Counter)
    audio_seconds: float = 0.0
    codec_seconds: float = 0.0
    wall_seconds: float = 0.0

    def summary(self, label: str) -> str:
        reasons = ", ".join(f"{n} {r.split(':')[0]}" for r, n in self.rejected.most_common()) or "none"
        return (f"{label}: {self.written} written, {sum(self.rejected.values())} rejected ({reasons}); "
                f"{self.audio_seconds:.1f} s audio in {self.wall_seconds:.1f} s")


def output_name(utt_id: str, subset: str, fmt: str) -> str:
    """`{utt}.wav` for bona fide, `{utt}_{codec}.wav` for a codec, as in the published CodecFake+ files."""
    return f"{utt_id}.{fmt}" if subset == BONAFIDE else f"{utt_id}_{subset}.{fmt}"


def audio_dir(results_dir: str | Path, subset: str, split: str) -> Path:
    return Path(results_dir) / "audio" / subset / split


class _Shard:
    """Bookkeeping shared by both jobs: the slice, its output rows and rejects."""

    def __init__(self, split_manifest, shard: str, subset: str, results_dir, fmt: str):
        index, count = parse_shard(shard)
        self.rows = shard_slice(read_tsv(split_manifest), index, count).to_dict("records")
        self.subset, self.results_dir, self.fmt = subset, Path(results_dir), fmt
        self.outputs: list[dict] = []
        self.rejects: list[dict] = []
        self.stats = JobStats()

    def reject(self, row: dict, reason: str) -> None:
        self.rejects.append({"source_utt": row["utt_id"], "speaker": row["speaker"], "split": row["split"],
                             "subset": self.subset, "source_path": row["path"], "reason": reason})
        self.stats.rejected[reason] += 1

    def write(self, row: dict, audio: np.ndarray, delay: int, weights: str) -> None:
        checks = signal_checks(audio, TARGET_RATE)
        if not checks["finite"]:
            self.reject(row, "non-finite output")
            return
        name = output_name(row["utt_id"], self.subset, self.fmt)
        path = inside_results(self.results_dir, audio_dir(self.results_dir, self.subset, row["split"]) / name)
        write_atomic(path, audio, TARGET_RATE, self.fmt)
        self.outputs.append({"utt_id": Path(name).stem, "source_utt": row["utt_id"], "speaker": row["speaker"],
                             "split": row["split"], "subset": self.subset,
                             "path": str(path.relative_to(self.results_dir.resolve())), "sample_rate": TARGET_RATE,
                             **checks, "delay_samples": delay, "weights": weights})
        self.stats.written += 1
        self.stats.audio_seconds += checks["duration"]

    def finish(self, table, rejects) -> JobStats:
        write_tsv_atomic(pd.DataFrame(self.rejects, columns=REJECT_COLUMNS).sort_values("source_utt"), rejects)
        write_tsv_atomic(pd.DataFrame(self.outputs, columns=SHARD_COLUMNS).sort_values("utt_id"), table)
        return self.stats


def run_bonafide_shard(split_manifest, shard: str, results_dir, table, rejects, fmt: str = "wav") -> JobStats:
    """Bona fide audio is only resampled to 16 kHz: written once, never passed through anything else."""
    start = time.perf_counter()
    job = _Shard(split_manifest, shard, BONAFIDE, results_dir, fmt)
    for row in tqdm(job.rows, desc=f"bonafide {shard}", file=sys.stderr, mininterval=10):
        try:
            audio, rate = read_mono(row["path"])
        except BadAudio as bad:
            job.reject(row, str(bad))
            continue
        job.write(row, resample(audio, rate, TARGET_RATE), 0, "none")
    job.stats.wall_seconds = time.perf_counter() - start
    return job.finish(table, rejects)


def resynthesize_batch(codec, waves: list[np.ndarray], targets: list[int]) -> list[np.ndarray]:
    """Waves at the codec's rate -> 16 kHz resyntheses, each delay-corrected, trimmed to its input's duration and
    fitted to its bona fide file's exact length (`targets`)."""
    import torch  # here, not at the top: bona fide jobs import this module in the core env, which has no torch

    padded = torch.zeros(len(waves), max(len(wave) for wave in waves))
    for slot, wave in enumerate(waves):
        padded[slot, : len(wave)] = torch.from_numpy(wave)
    decoded = codec.resynthesize(padded).numpy()
    outputs = []
    for slot, (wave, target) in enumerate(zip(waves, targets)):
        aligned = fit_length(decoded[slot, codec.delay_samples:], len(wave))
        outputs.append(fit_length(resample(aligned, codec.sample_rate, TARGET_RATE), target))
    return outputs


def run_codec_shard(split_manifest, shard: str, codec, results_dir, table, rejects, fmt: str = "wav",
                    batch_seconds: float = 5.0, batch_items: int = 16) -> JobStats:
    """Resynthesize a shard through a loaded codec wrapper (codec_wrappers.load)."""
    start, codec_start = time.perf_counter(), codec.codec_seconds
    job = _Shard(split_manifest, shard, codec.name, results_dir, fmt)
    rate = codec.sample_rate
    usable, lengths = [], []
    for row in job.rows:
        try:
            info = probe(row["path"])
        except BadAudio as bad:
            job.reject(row, str(bad))
            continue
        length = int(np.ceil(info.samples * rate / info.sample_rate))
        if length < codec.hop_length:
            job.reject(row, f"too short: {length} samples at {rate} Hz, below one codec frame ({codec.hop_length})")
            continue
        usable.append(row)
        lengths.append(length)
    batches = list(length_batches(lengths, int(batch_seconds * rate), batch_items, exact=not codec.causal))
    progress = tqdm(total=len(usable), desc=f"{codec.name} {shard}", file=sys.stderr, mininterval=10)
    for batch in batches:
        items = []
        for index in batch:
            row = usable[index]
            try:
                audio, source_rate = read_mono(row["path"])
            except BadAudio as bad:
                job.reject(row, str(bad))
                continue
            target = len(resample(audio, source_rate, TARGET_RATE))  # the bona fide file's exact length
            items.append((row, resample(audio, source_rate, rate), target))
        progress.update(len(batch))
        if not items:
            continue
        outputs = resynthesize_batch(codec, [wave for _, wave, _ in items], [target for _, _, target in items])
        for (row, _, _), audio in zip(items, outputs):
            job.write(row, audio, codec.delay_samples, codec.weights_mode)
    progress.close()
    job.stats.codec_seconds = codec.codec_seconds - codec_start
    job.stats.wall_seconds = time.perf_counter() - start
    return job.finish(table, rejects)
