"""Throughput and peak memory of a CoSG generator: utterances per second, and the GPU-hours a full set implies.

    python benchmarks/cosg_throughput.py [--generator MaskGCT] [--weights random|pretrained] [--weights-dir DIR]
                                         [--device cpu|cuda] [--utterances 8] [--prompt-seconds 3] [--smoke]

Runs in the generator's env (MaskGCT: envs/maskgct.yaml; the main venv cannot import it). --smoke generates two
short utterances with the tiny random model (seconds; `make test-codecs` runs it in the env so the script keeps
working). Prompts are synthetic speech of --prompt-seconds at 16 kHz, each with a prompt transcript and a target
sentence of VCTK-like length, so the duration MaskGCT predicts is about the prompt's; one utterance is generated
first as a warm-up and not timed. Prints wall time per utterance, utterances/s, the real-time factor (wall seconds
per second of speech generated), peak memory (the process's resident set; on CUDA also torch's peak allocated),
and the hours the paper's MaskGCT-VCTK (42,792 + 735 + 755) and MaskGCT-E2 (576) sets would take at that rate.
Random weights time the tiny architecture only: real figures need `--weights pretrained` (the released model).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codecfake.generation import load_generator  # noqa: E402
from codecfake.synthetic_speech import utterance  # noqa: E402
from cosg_wrappers.base import Prompt  # noqa: E402

#: The paper's MaskGCT sets (section V-B3): VCTK train/validation/evaluation, and E2.
FULL_SETS = {"MaskGCT-VCTK": 42792 + 735 + 755, "MaskGCT-E2": 576}
PROMPT_TEXT = "please call stella and ask her to bring these things with her from the store"
TARGETS = ["six spoons of fresh snow peas and five thick slabs of blue cheese",
           "we also need a small plastic snake and a big toy frog for the kids",
           "she can scoop these things into three red bags and we will go meet her"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="MaskGCT")
    parser.add_argument("--weights", choices=("random", "pretrained"), default="random")
    parser.add_argument("--weights-dir", default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--prompt-seconds", type=float, default=3.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.utterances, args.prompt_seconds, args.weights = 2, 1.5, "random"

    began = time.perf_counter()
    generator = load_generator(args.generator, weights=args.weights, seed=0, device=args.device,
                               weights_dir=args.weights_dir)
    loaded = time.perf_counter() - began
    prompts = [Prompt(utterance(np.random.default_rng(i), args.prompt_seconds), PROMPT_TEXT,
                      TARGETS[i % len(TARGETS)]) for i in range(args.utterances + 1)]
    generator.generate(prompts[:1])  # warm-up
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    outputs = generator.generate(prompts[1:])
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - began
    speech_seconds = sum(len(out) for out in outputs) / generator.sample_rate
    rate = args.utterances / wall
    print(f"generator={args.generator} weights={args.weights} device={args.device} torch_threads="
          f"{torch.get_num_threads()} load_s={loaded:.1f}")
    print(f"utterances={args.utterances} speech_s={speech_seconds:.1f} wall_s={wall:.1f} "
          f"s_per_utterance={wall / args.utterances:.2f} rtf={wall / speech_seconds:.2f}")
    for name, count in FULL_SETS.items():
        print(f"{name}: {count} utterances -> {count / rate / 3600:.1f} hours at this rate on {args.device}")
    if args.device.startswith("cuda"):
        print(f"gpu_peak_allocated_mb={torch.cuda.max_memory_allocated() / 2**20:.0f}")
    print(f"utterances_per_s={rate:.3f} peak_rss_mb={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
