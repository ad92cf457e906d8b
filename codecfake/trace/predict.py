"""Running a tracer: per-head class probabilities and the bona fide score.

Score = log P(bona fide) of the binary head (higher = more bona fide, as codecfake.cm's EER expects). A
taxonomy-only tracer has no binary head; CodecFake-Source-Tracing then scores P(bona fide) = 1 - (prod over its
K heads of P(spoof))^(1/K), P(spoof) = 1 - P(REAL) (K = 3 there), and the score is the log of that.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from codecfake.cm.metrics import BONAFIDE_LABEL
from codecfake.cm.scoring import autocast


@torch.no_grad()
def head_probabilities(model: torch.nn.Module, dataset, batch_size: int, device: torch.device,
                       dtype: torch.dtype | None = None, workers: int = 0, progress: bool = False,
                       desc: str = "tracing") -> dict[str, np.ndarray]:
    """{task: (N, classes) float64 probabilities} in dataset order (each row sums to 1)."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda")
    out: dict[str, list[torch.Tensor]] = {task: [] for task in model.tasks}
    for wave, _ in tqdm(loader, desc=desc, file=sys.stderr, disable=not progress, mininterval=10):
        with autocast(device, dtype):
            logits = model(wave.to(device, non_blocking=True))
        for task, value in logits.items():
            out[task].append(torch.softmax(value.double(), dim=-1).cpu())
    return {task: torch.cat(parts).numpy() for task, parts in out.items() if parts}


def bonafide_score(probabilities: dict[str, np.ndarray]) -> np.ndarray:
    with np.errstate(divide="ignore"):
        if "binary" in probabilities:
            return np.log(probabilities["binary"][:, BONAFIDE_LABEL])
        spoof = np.prod([1 - p[:, 0] for p in probabilities.values()], axis=0) ** (1 / len(probabilities))
        return np.log(1 - spoof)
