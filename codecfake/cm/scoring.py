"""Running a CM over trials: batched forward passes, scores, and loading trained CMs.

Score = the raw bona fide logit, as the reference implementations score (clovaai/aasist and SSL_Anti-spoofing
write logit[:, 1]), or, where a CM's train.score says so, the softmax bona fide probability (Codecfake's): higher
means more bona fide, as the ASVspoof EER expects.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from codecfake.checkpoint import read_checkpoint
from codecfake.cm.data import CROP_SAMPLES, CropDataset
from codecfake.cm.metrics import BONAFIDE_LABEL
from codecfake.cm.models import build_model
from codecfake.device import pick_device
from codecfake.errors import UserError


def amp_dtype(enabled: bool, device: torch.device) -> torch.dtype | None:
    """Autocast dtype on CUDA (bf16 where the GPU has it, else fp16); None (full precision) on CPU."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def loader_workers(requested: int, device: torch.device) -> int:
    """Worker processes only where a GPU waits for data; on CPU they would compete with the model for cores."""
    return requested if device.type == "cuda" else 0


@torch.no_grad()
def predict_logits(model: torch.nn.Module, dataset: CropDataset, batch_size: int, device: torch.device,
                   dtype: torch.dtype | None = None, workers: int = 0, progress: bool = False,
                   desc: str = "scoring") -> np.ndarray:
    """(N, 2) float32 logits in dataset order."""
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda")
    out = []
    for wave, _ in tqdm(loader, desc=desc, file=sys.stderr, disable=not progress, mininterval=10):
        with autocast(device, dtype):
            out.append(model(wave.to(device, non_blocking=True)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 2), dtype=np.float32)


def bonafide_score(logits: np.ndarray, bonafide_index: int = BONAFIDE_LABEL) -> np.ndarray:
    """The bona fide logit (float64); index 0 for Codecfake's released models, 1 for ours and clovaai's."""
    return np.asarray(logits, dtype=np.float64)[:, bonafide_index]


def bonafide_probability(logits: np.ndarray) -> np.ndarray:
    """The softmax probability of bona fide (float64)."""
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64), dim=-1)[:, BONAFIDE_LABEL].numpy()


#: What a CM's score is (its spec's train.score): the bona fide logit, as clovaai/aasist and SSL_Anti-spoofing
#: score, or the softmax bona fide probability, as Codecfake's generate_score.py does (softmax(outputs)[:, 0], its
#: real class being index 0). Both rank trials differently: the probability reads both logits.
SCORES = ("logit", "probability")


def cm_scores(logits: np.ndarray, kind: str = "logit") -> np.ndarray:
    if kind not in SCORES:
        raise UserError(f"train.score {kind!r} is not one of {', '.join(SCORES)}")
    return bonafide_probability(logits) if kind == "probability" else bonafide_score(logits)


def load_cm(path: str | Path, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """A trained CM (model.pt written by train.py): its network rebuilt from the stored spec, weights loaded."""
    checkpoint = read_checkpoint(path)
    if checkpoint.spec is None or checkpoint.tasks is not None:
        raise UserError(f"{path} is not a trained binary CM of codecfake (model.pt of step cm-train)")
    model = build_model(checkpoint.spec)
    model.load_state_dict(checkpoint.state)
    return model.to(device), checkpoint.spec


def score_trials(model_path: str | Path, trials: pd.DataFrame, device: str = "auto", batch_size: int | None = None,
                 workers: int = 4, progress: bool = True) -> pd.DataFrame:
    """The trial table with `score` (the spec's train.score: the bona fide logit unless it says probability) and
    `bonafide_probability` (softmax) columns."""
    torch_device = pick_device(device)
    model, spec = load_cm(model_path, torch_device)
    train = spec["train"]
    dataset = CropDataset(trials, train.get("crop_samples", CROP_SAMPLES), train=False)
    logits = predict_logits(model, dataset, batch_size or train["batch_size"], torch_device,
                            amp_dtype(train.get("amp", False), torch_device),
                            loader_workers(workers, torch_device), progress)
    return trials.assign(score=cm_scores(logits, train.get("score", "logit")),
                         bonafide_probability=bonafide_probability(logits))
