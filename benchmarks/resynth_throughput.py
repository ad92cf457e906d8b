"""Resynthesis throughput: the per-file reference loop vs the pipeline's batched shard job.

(a) reference, as AudioDecBenchmark-style scripts do it: for each file, load -> resample -> encode/decode that one
    utterance -> resample -> write;
(b) the pipeline: codecfake.resynth.run_codec_shard on the same clips, same codec object, same weights.
Prints audio-seconds per wall-second for both, the job's codec_idle_fraction (1 - time inside the codec's
encode/decode / job wall time: on a GPU, the accelerator's idle time), the share of padding in its batches, the
largest sample difference between the two outputs and the load average (the machine may be shared). Each timing
is the best of --repeats, the two alternating, so both see the same load.

    python benchmarks/resynth_throughput.py [--codec Encodec_6b24k] [--weights random] [--device cpu] [--repeats 3]

--smoke times 2 clips once (seconds; CI runs it so the script keeps working; its figures mean nothing).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codecfake import codec_loading  # noqa: E402
from codecfake.audio import TARGET_RATE, fit_length, read_mono, resample, write_atomic  # noqa: E402
from codecfake.resynth import output_name, run_codec_shard  # noqa: E402
from codecfake.synthetic_speech import utterance  # noqa: E402

CODEC2_WAVS = Path("/usr/share/codec2/wav")
SYNTHETIC_RATE = 48000  # VCTK's
#: The config's `batch` defaults (config.schema.yaml: the one place they are written).
SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.schema.yaml").read_text())
BATCH = {key: spec["default"] for key, spec in SCHEMA["properties"]["batch"]["properties"].items()}


def make_clips(folder: Path, count: int, seed: int) -> pd.DataFrame:
    """Real 8 kHz speech from codec2-examples when installed (cut to 1.5-4 s), else synthetic 48 kHz speech."""
    rng = np.random.default_rng(seed)
    sources = sorted(p for p in CODEC2_WAVS.glob("*.wav") if sf.info(p).duration >= 1.5) if CODEC2_WAVS.is_dir() else []
    rows = []
    for index in range(count):
        seconds = rng.uniform(1.5, 4.0)
        if sources:
            audio, rate = read_mono(sources[index % len(sources)])
            audio = audio[: int(seconds * rate)]
        else:
            audio, rate = utterance(rng, seconds, SYNTHETIC_RATE, rng.uniform(90, 240)), SYNTHETIC_RATE
        path = folder / f"spk{index % 4}_{index:03d}.wav"
        sf.write(path, audio, rate, subtype="PCM_16")
        rows.append({"utt_id": path.stem, "speaker": f"spk{index % 4}", "path": str(path), "split": "eval"})
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "eval.tsv", sep="\t", index=False)
    return frame


def reference_loop(frame: pd.DataFrame, codec, out: Path) -> float:
    start = time.perf_counter()
    for row in frame.itertuples():
        audio, rate = read_mono(row.path)
        wave = resample(audio, rate, codec.sample_rate)
        decoded = codec.resynthesize(torch.from_numpy(wave)[None])[0].numpy()
        aligned = fit_length(decoded[codec.delay_samples:], len(wave))
        target = len(resample(audio, rate, TARGET_RATE))
        write_atomic(out / output_name(row.utt_id, codec.name, "wav"),
                     fit_length(resample(aligned, codec.sample_rate, TARGET_RATE), target), TARGET_RATE)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="Encodec_6b24k")
    parser.add_argument("--weights", default="random", choices=["random", "pretrained"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--batch-items", type=int, default=BATCH["items"])
    parser.add_argument("--batch-seconds", type=float, default=BATCH["seconds"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="2 clips, once: checks, measures nothing")
    args = parser.parse_args()
    if args.smoke:
        args.clips, args.repeats = 2, 1

    codec = codec_loading.load(args.codec, device=args.device, weights=args.weights, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frame = make_clips(tmp, args.clips, seed=0)
        audio_seconds = sum(sf.info(p).duration for p in frame.path)
        codec.resynthesize(torch.zeros(1, codec.sample_rate))  # warm-up: first-call allocations
        ref_dir = tmp / "reference"
        ref_dir.mkdir()

        def job():
            return run_codec_shard(tmp / "eval.tsv", "000of001", codec, tmp / "job", tmp / "job/t.tsv",
                                   tmp / "job/r.tsv", batch_seconds=args.batch_seconds, batch_items=args.batch_items,
                                   chunk_seconds=BATCH["chunk_seconds"])

        ref_walls, runs = [], []
        for _ in range(args.repeats):
            ref_walls.append(reference_loop(frame, codec, ref_dir))
            runs.append(job())
        ref_wall, stats = min(ref_walls), min(runs, key=lambda run: run.wall_seconds)
        job_wall = stats.wall_seconds
        diffs = [np.abs(sf.read(ref_dir / p.name)[0] - sf.read(p)[0]).max()
                 for p in sorted((tmp / "job" / "audio").rglob("*.wav"))]
        assert len(diffs) == len(frame), "the job wrote a different set of files"

    print(f"codec={args.codec} weights={args.weights} device={args.device} threads={torch.get_num_threads()} "
          f"clips={len(frame)} audio_s={audio_seconds:.1f} causal={codec.causal} batching={codec.batching} "
          f"batch_items={args.batch_items} batch_seconds={args.batch_seconds} "
          f"loadavg={' '.join(f'{load:.1f}' for load in os.getloadavg())}")
    print(f"reference per-file loop: {audio_seconds / ref_wall:.2f} audio-s/wall-s ({ref_wall:.2f} s)")
    print(f"pipeline batched job:    {audio_seconds / job_wall:.2f} audio-s/wall-s ({job_wall:.2f} s, "
          f"{stats.codec_seconds:.2f} s inside encode/decode)")
    print(f"speedup={ref_wall / job_wall:.3f} codec_idle_fraction={stats.codec_idle_fraction:.3f} "
          f"padding_fraction={stats.padding_fraction:.3f} max_abs_diff={max(diffs):.2e}")


if __name__ == "__main__":
    main()
