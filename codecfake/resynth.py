"""The shard jobs: bona fide audio to 16 kHz, and codec resynthesis (CoRS) of one (codec, split, shard).

A job processes its slice of the split manifest, writes every file atomically, and writes its shard table (one
row per output with its checks) and rejects table (one row per utterance it could not use, with the reason)
last: a killed job leaves no table, so Snakemake reruns it, and no half-written audio.
"""
from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from codecfake.audio import TARGET_RATE, BadAudio, fit_length, probe, read_mono, resample, signal_checks, write_atomic
from codecfake.corpus import CORPUS_COLUMN
from codecfake.paths import inside_results
from codecfake.registry import BONAFIDE
from codecfake.shard import length_batches, parse_shard, shard_batches, shard_slice
from codecfake.tables import read_tsv, write_tsv_atomic

SHARD_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "subset", "path", "sample_rate", "samples",
                 "duration", "peak", "rms", "clipped", "finite", "delay_samples", "weights"]
REJECT_COLUMNS = ["source_utt", "speaker", "split", "subset", "source_path", "reason"]
#: Largest share of zeros in a padded codec batch (measured: benchmarks/resynth_throughput.py prints the share).
MAX_PADDING = 0.1
#: Default longest stretch of one utterance the codec sees at once; longer ones are resynthesized in chunks
#: overlapping by CHUNK_OVERLAP_SECONDS and cross-faded, so memory stays bounded (config `batch.chunk_seconds`).
CHUNK_OVERLAP_SECONDS = 1.0


@dataclass
class JobStats:
    """What a job did, for its log line and for benchmarks/resynth_throughput.py."""
    written: int = 0
    rejected: Counter = field(default_factory=Counter)
    audio_seconds: float = 0.0
    codec_seconds: float = 0.0
    wall_seconds: float = 0.0
    #: Seconds the codec waited for the reader thread to hand it the next batch.
    input_wait_seconds: float = 0.0
    #: Samples the codec was given (padding included), and the utterances' own samples among them.
    padded_samples: int = 0
    input_samples: int = 0
    #: Files written with samples beyond full scale (clipped to it), and how many samples that was.
    clipped_files: int = 0
    clipped_samples: int = 0

    def count_padding(self, lengths: list[int], chunk: int) -> None:
        """Items longer than `chunk` run alone (chunked, no padding); the rest are padded to the longest of them."""
        batched = [length for length in lengths if length <= chunk]
        self.padded_samples += len(batched) * max(batched, default=0) + sum(lengths) - sum(batched)
        self.input_samples += sum(lengths)

    @property
    def padding_fraction(self) -> float:
        return 1.0 - self.input_samples / self.padded_samples if self.padded_samples else 0.0

    @property
    def codec_idle_fraction(self) -> float:
        """Share of the job's wall time outside the codec's encode/decode: on a GPU, the accelerator's idle time."""
        return 1.0 - self.codec_seconds / self.wall_seconds if self.wall_seconds else 0.0

    def summary(self, label: str) -> str:
        reasons = ", ".join(f"{n} {r.split(':')[0]}" for r, n in self.rejected.most_common()) or "none"
        line = (f"{label}: {self.written} written, {sum(self.rejected.values())} rejected ({reasons}), "
                f"{self.clipped_files} clipped ({self.clipped_samples} samples beyond full scale); "
                f"{self.audio_seconds:.1f} s audio in {self.wall_seconds:.1f} s")
        if not self.codec_seconds:
            return line
        return (f"{line}; {self.codec_seconds:.1f} s in the codec, codec_idle_fraction="
                f"{self.codec_idle_fraction:.3f} (input wait {self.input_wait_seconds:.1f} s), "
                f"padding_fraction={self.padding_fraction:.3f}")


def output_name(utt_id: str, subset: str, fmt: str) -> str:
    """`{utt}.wav` for bona fide, `{utt}_{codec}.wav` for a codec, as in the published CodecFake+ files."""
    return f"{utt_id}.{fmt}" if subset == BONAFIDE else f"{utt_id}_{subset}.{fmt}"


def audio_dir(results_dir: str | Path, subset: str, split: str) -> Path:
    return Path(results_dir) / "audio" / subset / split


def _path(row: dict) -> str:
    """A row's audio path; "" for a row without one (a short row of a hand-edited table reads as NaN), which
    audio.probe rejects as missing."""
    path = row.get("path")
    return path if isinstance(path, str) else ""


def shard_columns(manifest: pd.DataFrame) -> list[str]:
    """A shard table's columns: SHARD_COLUMNS, and the split manifest's `corpus` column when it has one (a run
    over several corpora)."""
    return SHARD_COLUMNS + [CORPUS_COLUMN] if CORPUS_COLUMN in manifest.columns else SHARD_COLUMNS


class _Shard:
    """Bookkeeping shared by both jobs: the slice, its output rows and rejects."""

    def __init__(self, subset: str, results_dir, fmt: str, manifest: pd.DataFrame):
        self.subset, self.results_dir, self.fmt = subset, Path(results_dir), fmt
        self.columns = shard_columns(manifest)
        self.outputs: list[dict] = []
        self.rejects: list[dict] = []
        self.stats = JobStats()

    def reject(self, row: dict, reason: str) -> None:
        self.rejects.append({"source_utt": row["utt_id"], "speaker": row["speaker"], "split": row["split"],
                             "subset": self.subset, "source_path": _path(row), "reason": reason})
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
                             **checks, "delay_samples": delay, "weights": weights,
                             **{column: row[column] for column in self.columns[len(SHARD_COLUMNS):]}})
        self.stats.written += 1
        self.stats.audio_seconds += checks["duration"]
        self.stats.clipped_files += checks["clipped"] > 0
        self.stats.clipped_samples += checks["clipped"]

    def finish(self, table, rejects) -> JobStats:
        write_tsv_atomic(pd.DataFrame(self.rejects, columns=REJECT_COLUMNS).sort_values("source_utt"), rejects)
        write_tsv_atomic(pd.DataFrame(self.outputs, columns=self.columns).sort_values("utt_id"), table)
        return self.stats


def run_bonafide_shard(split_manifest, shard: str, results_dir, table, rejects, fmt: str = "wav") -> JobStats:
    """Bona fide audio is only resampled to 16 kHz: written once, never passed through anything else."""
    start = time.perf_counter()
    manifest = read_tsv(split_manifest)
    job = _Shard(BONAFIDE, results_dir, fmt, manifest)
    rows = shard_slice(manifest, *parse_shard(shard)).to_dict("records")
    for row in tqdm(rows, desc=f"bonafide {shard}", file=sys.stderr, mininterval=10):
        try:
            audio, rate = read_mono(_path(row))
        except BadAudio as bad:
            job.reject(row, str(bad))
            continue
        job.write(row, resample(audio, rate, TARGET_RATE), 0, "none")
    job.stats.wall_seconds = time.perf_counter() - start
    return job.finish(table, rejects)


def _positive(value) -> int | None:
    """A manifest's count as an int; None for a missing, empty, zero or malformed one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _native_length(row: dict, rate: int) -> int:
    """An utterance's length at the codec's rate, from the manifest's `samples`/`sample_rate` columns (written by
    the corpus step) or, where they are missing or 0 (the corpus step could not use the file), from the file's
    header: probing it again raises BadAudio with the reason, or reads a file restored since."""
    samples, source_rate = _positive(row.get("samples")), _positive(row.get("sample_rate"))
    if samples is None or source_rate is None:
        info = probe(_path(row))
        samples, source_rate = info.samples, info.sample_rate
    return int(np.ceil(samples * rate / source_rate))


def plan_codec_shard(split: pd.DataFrame, shard: str, codec, batch_seconds: float, batch_items: int,
                     max_padding: float = MAX_PADDING) -> tuple[list[list[dict]], list[tuple[dict, str]]]:
    """This shard's batches of manifest rows, and the rows it rejects before reading any audio.

    The batches are formed over the whole split and the shard takes a contiguous run of them, so every
    utterance shares its batch with the same others whatever the shard count, and the output bytes never depend
    on it. On CPU, a codec that gains nothing from batching (`batching = False`) gets one utterance per batch. Rows that
    cannot be planned (unreadable header, shorter than one codec frame) are reported by the shard that holds them
    in the utt_id slicing of the bona fide jobs."""
    index, count = parse_shard(shard)
    own = set(shard_slice(split, index, count)["utt_id"])
    usable, lengths, rejects = [], [], []
    for row in split.sort_values("utt_id", kind="stable").to_dict("records"):
        try:
            length = _native_length(row, codec.sample_rate)
        except BadAudio as bad:
            reason = str(bad)
        else:
            if length >= codec.hop_length:
                usable.append(row)
                lengths.append(length)
                continue
            reason = (f"too short: {length} samples at {codec.sample_rate} Hz, below one codec frame "
                      f"({codec.hop_length})")
        if row["utt_id"] in own:
            rejects.append((row, reason))
    items = batch_items if codec.batching or codec.device.type != "cpu" else 1
    batches = list(length_batches(lengths, int(batch_seconds * codec.sample_rate), items, exact=not codec.causal,
                                  max_padding=max_padding))
    return [[usable[i] for i in batch] for batch in shard_batches(batches, lengths, index, count)], rejects


def resynthesize_native(codec, waves: list[np.ndarray]) -> list[np.ndarray]:
    """Encode/decode a batch at the codec's rate: each output delay-corrected and trimmed/padded to its input's
    length. Right-padding to the longest item is safe only for causal codecs (the planner batches equal lengths
    otherwise)."""
    import torch  # here, not at the top: bona fide jobs import this module in the core env, which has no torch

    padded = torch.zeros(len(waves), max(len(wave) for wave in waves))
    for slot, wave in enumerate(waves):
        padded[slot, : len(wave)] = torch.from_numpy(wave)
    decoded = codec.resynthesize(padded).numpy()
    return [fit_length(decoded[slot, codec.delay_samples:], len(wave)) for slot, wave in enumerate(waves)]


def resynthesize_chunked(codec, wave: np.ndarray, chunk: int, overlap: int) -> np.ndarray:
    """One long utterance in bounded memory: chunks of `chunk` samples (whole codec frames) starting every
    chunk - overlap samples, each resynthesized alone, joined by a linear cross-fade over the overlap. Each chunk
    also reads the codec's delay ahead, so its delay-corrected output covers the chunk. Memory is that of one
    `chunk`-long item; the output has the input's length."""
    hop = codec.hop_length
    chunk = max(hop, chunk // hop * hop)
    overlap = min(overlap // hop * hop, chunk - hop)
    if len(wave) <= chunk:
        return resynthesize_native(codec, [wave])[0]
    out = np.zeros(len(wave), np.float32)
    ramp = np.arange(1, overlap + 1, dtype=np.float32) / (overlap + 1)
    start = 0
    while True:
        stop = min(start + chunk, len(wave))
        piece = wave[start: min(stop + codec.delay_samples, len(wave))]
        part = resynthesize_native(codec, [piece])[0][: stop - start]
        if start:
            part[:overlap] = part[:overlap] * ramp + out[start: start + overlap] * (1.0 - ramp)
        out[start:stop] = part
        if stop == len(wave):
            return out
        start = stop - overlap


def resynthesize_batch(codec, waves: list[np.ndarray], targets: list[int], chunk: int | None = None,
                       overlap: int = 0, seed: int = 0) -> list[np.ndarray]:
    """Waves at the codec's rate -> 16 kHz resyntheses, each delay-corrected, trimmed to its input's duration and
    fitted to its bona fide file's exact length (`targets`). Items longer than `chunk` samples are resynthesized
    alone, in chunks (`resynthesize_chunked`); the others share one padded batch. torch's generators are seeded with
    `seed` first: stochastic decoders (LLM-Codec's noise, SemantiCodec's diffusion) draw from them."""
    import torch  # here, not at the top: bona fide jobs import this module in the core env, which has no torch

    torch.manual_seed(seed)
    fits = [chunk is None or len(wave) <= chunk for wave in waves]
    batched = iter(resynthesize_native(codec, [wave for wave, fit in zip(waves, fits) if fit]) if any(fits) else [])
    native = [next(batched) if fit else resynthesize_chunked(codec, wave, chunk, overlap)
              for wave, fit in zip(waves, fits)]
    return [fit_length(resample(audio, codec.sample_rate, TARGET_RATE), target)
            for audio, target in zip(native, targets)]


def batch_seed(rows: list[dict]) -> int:
    """The seed of a batch, from its first utterance's id: batches are planned over the whole split, so each output
    is the same whatever the shard count, the order the shards run in and what ran before in the process."""
    return int.from_bytes(hashlib.sha256(rows[0]["utt_id"].encode()).digest()[:8], "little") >> 1


def _read_batch(rows: list[dict], rate: int) -> tuple[list[tuple[dict, np.ndarray, int]], list[tuple[dict, str]]]:
    """(row, audio at the codec's rate, bona fide length at 16 kHz) per readable row, and (row, reason) per other.
    Runs in the reader thread, while the codec works on the previous batch."""
    items, rejects = [], []
    for row in rows:
        try:
            audio, source_rate = read_mono(_path(row))
        except BadAudio as bad:
            rejects.append((row, str(bad)))
            continue
        target = len(resample(audio, source_rate, TARGET_RATE))  # the bona fide file's exact length
        items.append((row, resample(audio, source_rate, rate), target))
    return items, rejects


def run_codec_shard(split_manifest, shard: str, codec, results_dir, table, rejects, fmt: str = "wav", *,
                    batch_seconds: float, batch_items: int, chunk_seconds: float) -> JobStats:
    """Resynthesize a shard through a loaded codec wrapper (codecfake.codec_loading.load). The batch settings are
    the config's `batch` (their defaults live in config.schema.yaml only).

    Three stages overlap: a reader thread reads and resamples batch k+1, the calling thread runs the codec on
    batch k, and a writer thread checks and writes batch k-1. The job log reports the share of wall time the
    codec (on a GPU: the accelerator) sat idle."""
    start, codec_start = time.perf_counter(), codec.codec_seconds
    manifest = read_tsv(split_manifest)
    job = _Shard(codec.name, results_dir, fmt, manifest)
    batches, early_rejects = plan_codec_shard(manifest, shard, codec, batch_seconds, batch_items)
    for row, reason in early_rejects:
        job.reject(row, reason)
    rate = codec.sample_rate
    chunk, overlap = int(chunk_seconds * rate), int(CHUNK_OVERLAP_SECONDS * rate)
    progress = tqdm(total=sum(map(len, batches)), desc=f"{codec.name} {shard}", file=sys.stderr, mininterval=10)

    def write(items, outputs):
        for (row, _, _), audio in zip(items, outputs):
            job.write(row, audio, codec.delay_samples, codec.weights_mode)

    with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as writer:
        loading = reader.submit(_read_batch, batches[0], rate) if batches else None
        written = None
        for number in range(len(batches)):
            waiting = time.perf_counter()
            items, unreadable = loading.result()
            job.stats.input_wait_seconds += time.perf_counter() - waiting
            if number + 1 < len(batches):
                loading = reader.submit(_read_batch, batches[number + 1], rate)
            for row, reason in unreadable:
                job.reject(row, reason)
            progress.update(len(batches[number]))
            if not items:
                continue
            waves = [wave for _, wave, _ in items]
            job.stats.count_padding([len(wave) for wave in waves], chunk)
            outputs = resynthesize_batch(codec, waves, [target for _, _, target in items], chunk, overlap,
                                         seed=batch_seed([row for row, _, _ in items]))
            if written is not None:
                written.result()  # at most one batch waits for the disk: memory stays bounded
            written = writer.submit(write, items, outputs)
        if written is not None:
            written.result()
    progress.close()
    job.stats.codec_seconds = codec.codec_seconds - codec_start
    job.stats.wall_seconds = time.perf_counter() - start
    return job.finish(table, rejects)
