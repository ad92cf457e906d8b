"""CM throughput on this machine: training samples/s (forward + backward + Adam step on 64,600-sample crops) and
data-loader samples/s (read + random crop [+ RawBoost]) for AASIST and W2V2-AASIST, tiny and paper-sized.

The XLS-R-sized W2V2-AASIST has the architecture of facebook/wav2vec2-xls-r-300m (24 layers, 1024 hidden) with
random weights, so it needs no download; its speed is the pretrained model's. Mixed precision follows the preset
(on CUDA only). Each figure is the mean over --steps timed steps after one warm-up step.

    python benchmarks/cm_throughput.py [--device auto] [--steps 3] [--skip-xlsr] [--threads 2]

--smoke runs the tiny models one step and the loader on 2 files (seconds; CI runs it so the script keeps working).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codecfake.cm.data import CROP_SAMPLES, CropDataset  # noqa: E402
from codecfake.cm.models import build_model  # noqa: E402
from codecfake.cm.presets import resolve  # noqa: E402
from codecfake.cm.scoring import amp_dtype, autocast  # noqa: E402
from codecfake.cm.trials import TRIAL_COLUMNS  # noqa: E402
from codecfake.device import pick_device  # noqa: E402

TINY_SSL = {"pretrained": None, "revision": None,
            "config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                       "conv_dim": [16, 16, 16], "conv_kernel": [10, 4, 4], "conv_stride": [5, 8, 8],
                       "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}}
#: facebook/wav2vec2-xls-r-300m's architecture (its config.json), built with random weights.
XLSR_300M = {"pretrained": None, "revision": None,
             "config": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                        "intermediate_size": 4096, "conv_dim": [512] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2],
                        "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_bias": True, "feat_extract_norm": "layer",
                        "do_stable_layer_norm": True, "num_conv_pos_embeddings": 128,
                        "num_conv_pos_embedding_groups": 16, "apply_spec_augment": False, "layerdrop": 0.0}}
TINY_AASIST = {"sinc": {"filters": 16, "kernel": 32}, "encoder": [[1, 4], [4, 8], [8, 8], [8, 8], [8, 8], [8, 8]],
               "gat_dims": [8, 8]}
CONFIGS = {
    "AASIST (paper)": ("aasist", {}),
    "AASIST (tiny, demo)": ("aasist", TINY_AASIST),
    "W2V2-AASIST (tiny SSL)": ("w2v2_aasist", {"ssl": TINY_SSL}),
    "W2V2-AASIST (XLS-R 300M size)": ("w2v2_aasist", {"ssl": XLSR_300M}),
}


def train_rate(model_name: str, arch: dict, batch: int, steps: int, device: torch.device) -> tuple[float, int]:
    spec = resolve(model_name, arch)
    torch.manual_seed(0)
    model = build_model(spec).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=spec["train"]["lr"], weight_decay=spec["train"]["weight_decay"])
    dtype = amp_dtype(spec["train"]["amp"], device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    wave = torch.randn(batch, CROP_SAMPLES, device=device)
    label = torch.randint(0, 2, (batch,), device=device)
    timings = []
    for step in range(steps + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, dtype):
            loss = torch.nn.functional.cross_entropy(model(wave).float(), label)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step:  # the first step warms up kernels and allocators
            timings.append(time.perf_counter() - started)
    return batch / float(np.mean(timings)), sum(p.numel() for p in model.parameters())


def loader_rate(folder: Path, files: int, rawboost: int, workers: int, batch: int) -> float:
    import pandas as pd

    rows = [{"utt_id": f"u{i}", "path": str(folder / f"u{i}.wav"), "label": "bonafide" if i % 2 else "spoof",
             "speaker": "s", "source_utt": f"u{i}", "system": "X", "QUA": "-", "AUX": "-", "DEC": "-",
             "domain": "d"} for i in range(files)]
    dataset = CropDataset(pd.DataFrame(rows, columns=TRIAL_COLUMNS), train=True, rawboost=rawboost, seed=0)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers)
    started = time.perf_counter()
    seen = sum(wave.shape[0] for wave, _ in loader)
    return seen / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="batch of the small models (XLS-R: half, at least 1)")
    parser.add_argument("--files", type=int, default=48, help="5 s files the loader reads")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-xlsr", action="store_true", help="skip the 300M-parameter model (slow on CPU)")
    parser.add_argument("--smoke", action="store_true", help="tiny models, one step, 2 files: checks, measures nothing")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.batch, args.files = 1, 2, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; crops of {CROP_SAMPLES} samples; torch {torch.__version__}")

    print(f"\n{'training':34s} {'params':>12s} {'batch':>6s} {'samples/s':>10s}")
    for label, (model_name, arch) in CONFIGS.items():
        if args.skip_xlsr and "XLS-R" in label or args.smoke and "tiny" not in label:
            continue
        batch = max(1, args.batch // 2) if "XLS-R" in label else args.batch
        rate, params = train_rate(model_name, arch, batch, args.steps, device)
        print(f"{label:34s} {params:12,d} {batch:6d} {rate:10.2f}", flush=True)

    print(f"\n{'data loader (5 s files)':34s} {'workers':>12s} {'batch':>6s} {'samples/s':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        for i in range(args.files):
            sf.write(Path(tmp) / f"u{i}.wav", (0.1 * rng.standard_normal(80000)).astype(np.float32), 16000)
        for rawboost in (0, 5):
            for workers in (0, 2):
                rate = loader_rate(Path(tmp), args.files, rawboost, workers, args.batch)
                print(f"{'crop' + (f' + RawBoost {rawboost}' if rawboost else ''):34s} {workers:12d} "
                      f"{args.batch:6d} {rate:10.2f}", flush=True)


if __name__ == "__main__":
    main()
