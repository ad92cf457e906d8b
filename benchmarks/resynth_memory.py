"""Peak memory of one long utterance through a shard job: in chunks (the default) or in one piece.

    python benchmarks/resynth_memory.py --codec Encodec_6b24k --minutes 10 [--chunk-seconds 30] [--smoke]

--smoke runs a 6 s utterance in 2 s chunks (seconds; CI runs it so the script keeps working).

Writes one speech-like utterance of --minutes at 16 kHz (codec2's real recording repeated when installed,
synthetic speech otherwise), runs codecfake.resynth.run_codec_shard on it, and prints the process's peak resident
memory (ru_maxrss), its resident memory before the job (Python, torch and the codec loaded) and the wall time.
The peak is a high-water mark of the whole process: run once per setting. A --chunk-seconds longer than the
utterance processes it in one piece, as jobs did before chunking.
"""
from __future__ import annotations

import argparse
import os
import resource
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
from codecfake.audio import read_mono  # noqa: E402
from codecfake.resynth import run_codec_shard  # noqa: E402
from codecfake.synthetic_speech import utterance  # noqa: E402

CODEC2_SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")
#: The config's `batch` defaults (config.schema.yaml: the one place they are written).
SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.schema.yaml").read_text())
BATCH = {key: spec["default"] for key, spec in SCHEMA["properties"]["batch"]["properties"].items()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def long_utterance(seconds: float) -> np.ndarray:
    if CODEC2_SPEECH.exists():
        speech, _ = read_mono(CODEC2_SPEECH)
    else:
        speech = utterance(np.random.default_rng(0), 10.0)
    return np.resize(speech, int(seconds * 16000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="Encodec_6b24k")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--chunk-seconds", type=float, default=BATCH["chunk_seconds"])
    parser.add_argument("--smoke", action="store_true", help="a 6 s utterance in 2 s chunks: checks, measures nothing")
    args = parser.parse_args()
    if args.smoke:
        args.minutes, args.chunk_seconds = 0.1, 2.0

    codec = codec_loading.load(args.codec, weights="random", seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sf.write(tmp / "long_001.wav", long_utterance(args.minutes * 60), 16000, subtype="PCM_16")
        pd.DataFrame([{"utt_id": "long_001", "speaker": "long", "path": str(tmp / "long_001.wav"),
                       "split": "eval"}]).to_csv(tmp / "eval.tsv", sep="\t", index=False)
        before = peak_rss_mb()
        start = time.perf_counter()
        stats = run_codec_shard(tmp / "eval.tsv", "000of001", codec, tmp / "job", tmp / "job/t.tsv",
                                tmp / "job/r.tsv", batch_seconds=BATCH["seconds"], batch_items=BATCH["items"],
                                chunk_seconds=args.chunk_seconds)
        wall = time.perf_counter() - start
    assert stats.written == 1, stats.summary("job")
    print(f"codec={args.codec} minutes={args.minutes} chunk_seconds={args.chunk_seconds} "
          f"threads={torch.get_num_threads()} loadavg={' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"peak_rss_mb={peak_rss_mb():.0f} rss_before_job_mb={before:.0f} wall_s={wall:.1f}")


if __name__ == "__main__":
    main()
