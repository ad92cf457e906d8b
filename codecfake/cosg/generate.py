"""One CoSG generation job: a shard of a prompt list through a generator, written as 16 kHz files.

Each row gives a generated utterance `<utt_id>_<generator>` and its bona fide source, the prompt itself, both
under the set's audio folder as the published CoSG release lays them out (`<set root>/<SYSTEM>/<KEY>.wav`), so
the set reads back with codecfake.cm.evalsets.cosg. Every file is written atomically and the shard table (one row
per file, with its signal checks) and rejects table (one row per prompt that could not be used, with the reason)
last: a killed job leaves no table, so Snakemake reruns it, and no half-written audio.

A shard is a contiguous slice of the list in utt_id order (codecfake.shard); prompts go to the generator in
batches of `batch_items`, in that order.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from codecfake.audio import TARGET_RATE, BadAudio, read_mono, resample, signal_checks, write_atomic
from codecfake.cosg.prompts import read_prompts
from codecfake.errors import UserError
from codecfake.paths import inside_results
from codecfake.resynth import JobStats
from codecfake.shard import parse_shard, shard_slice
from codecfake.tables import write_tsv_atomic

TABLE_COLUMNS = ["utt_id", "source_utt", "target_utt", "speaker", "split", "label", "system", "generator", "path",
                 "sample_rate", "samples", "duration", "peak", "rms", "clipped", "finite", "weights", "prompt_text",
                 "target_text"]
REJECT_COLUMNS = ["utt_id", "source_utt", "speaker", "split", "source_path", "reason"]


class GeneratorError(UserError):
    pass


def spoof_key(utt_id: str, generator: str) -> str:
    """The generated utterance's name: its prompt list utt_id and the generator, as CoRS names a codec's."""
    return f"{utt_id}_{generator}"


def load_generator(name: str, weights: str, seed: int, device: str, weights_dir: str):
    """The generator object (codecfake.generation): `sample_rate` and `generate(list of Prompt) -> list of
    float32 arrays`; pretrained checkpoints are read from weights_dir, verified, never downloaded."""
    from codecfake.generation import load_generator as load

    return load(name, weights=weights, seed=seed, device=device, weights_dir=weights_dir)


def _prompt(row: dict, audio: np.ndarray):
    from cosg_wrappers.base import Prompt

    return Prompt(audio=audio, prompt_text=row["prompt_text"], target_text=row["target_text"],
                  language=row["language"] or "en")


class _Job:
    """The job's outputs so far: file rows, rejects and counts."""

    def __init__(self, results_dir, set_root, system: str, generator: str, weights: str):
        self.results_dir = Path(results_dir).resolve()
        self.folder = inside_results(self.results_dir, Path(set_root) / system)
        self.system, self.generator, self.weights = system, generator, weights
        self.rows: list[dict] = []
        self.rejects: list[dict] = []
        self.bonafide_written: set[str] = set()
        self.stats = JobStats()

    def reject(self, row: dict, reason: str) -> None:
        self.rejects.append({"utt_id": row["utt_id"], "source_utt": row["prompt_utt"], "speaker": row["speaker"],
                             "split": row["split"], "source_path": row["prompt_path"], "reason": reason})
        self.stats.rejected[reason] += 1

    def write(self, row: dict, key: str, audio: np.ndarray, label: str) -> None:
        path = inside_results(self.results_dir, self.folder / f"{key}.wav")
        checks = signal_checks(audio, TARGET_RATE)
        write_atomic(path, audio, TARGET_RATE, "wav")
        self.rows.append({"utt_id": key, "source_utt": row["prompt_utt"], "target_utt": row["target_utt"],
                          "speaker": row["speaker"], "split": row["split"], "label": label, "system": self.system,
                          "generator": self.generator, "path": str(path.relative_to(self.results_dir)),
                          "sample_rate": TARGET_RATE, **checks,
                          "weights": self.weights if label == "spoof" else "none",
                          "prompt_text": row["prompt_text"], "target_text": row["target_text"]})
        if label == "spoof":
            self.stats.written += 1
            self.stats.audio_seconds += checks["duration"]
            self.stats.clipped_files += checks["clipped"] > 0
            self.stats.clipped_samples += checks["clipped"]

    def bonafide(self, row: dict, audio: np.ndarray) -> None:
        """The prompt at 16 kHz, once per job (an E2 prompt may serve several targets)."""
        if row["prompt_utt"] not in self.bonafide_written:
            self.bonafide_written.add(row["prompt_utt"])
            self.write(row, row["prompt_utt"], audio, "bonafide")

    def finish(self, table, rejects) -> JobStats:
        write_tsv_atomic(pd.DataFrame(self.rejects, columns=REJECT_COLUMNS).sort_values("utt_id"), rejects)
        write_tsv_atomic(pd.DataFrame(self.rows, columns=TABLE_COLUMNS).sort_values(["label", "utt_id"]), table)
        return self.stats


def _generated(output, rate: int) -> np.ndarray | str:
    """A generator's output for one prompt at 16 kHz, or why it cannot be used (a reject reason)."""
    audio = np.asarray(output, dtype=np.float32)
    if audio.ndim != 1:
        return f"bad output: shape {audio.shape}, expected one channel"
    if audio.size == 0:
        return "empty output: 0 samples"
    if not np.isfinite(audio).all():
        return "non-finite output"
    return resample(audio, rate, TARGET_RATE)


def run_generation_shard(prompt_list, shard: str, generator, generator_name: str, system: str, results_dir,
                         set_root, table, rejects, weights: str, batch_items: int = 1) -> JobStats:
    """Generate a shard of a prompt list with a loaded generator (see `load_generator`)."""
    start = time.perf_counter()
    prompts = read_prompts(prompt_list)
    rows = shard_slice(prompts, *parse_shard(shard)).to_dict("records")
    job = _Job(results_dir, set_root, system, generator_name, weights)
    progress = tqdm(total=len(rows), desc=f"{generator_name} {Path(prompt_list).stem} {shard}", unit="prompt",
                    file=sys.stderr, mininterval=10)
    for first in range(0, len(rows), max(1, batch_items)):
        batch = []
        for row in rows[first: first + batch_items]:
            try:
                audio, rate = read_mono(row["prompt_path"])
            except BadAudio as bad:
                job.reject(row, str(bad))
                continue
            prompt = resample(audio, rate, TARGET_RATE)
            job.bonafide(row, prompt)
            batch.append((row, prompt))
        if batch:
            began = time.perf_counter()
            outputs = generator.generate([_prompt(row, audio) for row, audio in batch])
            job.stats.codec_seconds += time.perf_counter() - began
            if len(outputs) != len(batch):
                raise GeneratorError(f"generator {generator_name} returned {len(outputs)} outputs for {len(batch)} "
                                     f"prompts")
            for (row, _), output in zip(batch, outputs):
                audio = _generated(output, generator.sample_rate)
                if isinstance(audio, str):
                    job.reject(row, audio)
                else:
                    job.write(row, spoof_key(row["utt_id"], generator_name), audio, "spoof")
        progress.update(len(rows[first: first + batch_items]))
    progress.close()
    job.stats.wall_seconds = time.perf_counter() - start
    return job.finish(table, rejects)
