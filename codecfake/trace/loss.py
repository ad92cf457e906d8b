"""Multi-task loss: a weighted sum of per-head weighted cross-entropies.

Defaults are CodecFake-Source-Tracing's: head weights 1/K for K heads (its softmax over equal fixed weights) and
its fixed class weights (`reference`): binary spoof/bona fide [0.1, 0.9], and REAL 0.1 with the rest shared equally
by the spoof classes in VQ/AUX/DEC ([.1, .3, .3, .3], [.1, .45, .45] for DEC).
Head weights are either fixed (config) or learned by homoscedastic uncertainty weighting (Kendall, Gal & Cipolla,
CVPR 2018): each head i carries a log-variance s_i and contributes w_i * (exp(-s_i) * CE_i + s_i), so a head whose
loss stays high is down-weighted instead of dominating the shared trunk; the + s_i term stops s_i from growing
without bound. Class weights per head counter class imbalance (bona fide is a minority in codec sets; a balanced
selection balances one attribute, not the others).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codecfake.errors import UserError
from codecfake.trace.tasks import IGNORE, classes


def balanced_class_weights(codes: np.ndarray, n_classes: int) -> list[float]:
    """Inverse class frequency, normalised so a balanced set gets all ones; absent classes get 0 (never targets)."""
    counts = np.bincount(codes[codes != IGNORE], minlength=n_classes).astype(float)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights.tolist()


def reference_class_weights(task: str) -> list[float]:
    """CodecFake-Source-Tracing's fixed weights: 0.9 on bona fide for binary; 0.1 on REAL, 0.9 shared otherwise."""
    if task == "binary":
        return [0.1, 0.9]
    spoof_classes = len(classes(task)) - 1
    return [0.1, *[round(0.9 / spoof_classes, 12)] * spoof_classes]


def class_weight_table(tasks: list[str], setting, train_codes: np.ndarray) -> dict[str, list[float]]:
    """Per-head class weights: `reference` (the tracing code's fixed ones), `balanced` (from the training labels),
    `none`, or {task: reference | balanced | none | {class: weight}}."""
    weights = {}
    for j, task in enumerate(tasks):
        names = classes(task)
        given = setting.get(task) if isinstance(setting, dict) else setting
        if given is None or given == "reference":
            weights[task] = reference_class_weights(task)
        elif given == "balanced":
            weights[task] = balanced_class_weights(train_codes[:, j], len(names))
        elif given == "none":
            weights[task] = [1.0] * len(names)
        elif isinstance(given, dict):
            unknown = set(given) - set(names)
            if unknown:
                raise UserError(f"class_weights.{task}: unknown class(es) {sorted(unknown)}; classes: {list(names)}")
            weights[task] = [float(given.get(name, 1.0)) for name in names]
        else:
            raise UserError(f"class_weights.{task}: reference, balanced, none or {{class: weight}}, got {given!r}")
    return weights


class MultiTaskLoss(nn.Module):
    def __init__(self, tasks: list[str], head_weights: dict[str, float] | None = None, learnable: bool = False,
                 class_weights: dict[str, list[float]] | None = None):
        super().__init__()
        self.tasks = list(tasks)
        head_weights = head_weights or {}
        unknown = set(head_weights) - set(self.tasks)
        if unknown:
            raise UserError(f"head_weights: {sorted(unknown)} are not tasks of this tracer ({self.tasks})")
        default = 1.0 / len(self.tasks)
        self.register_buffer("head_weights", torch.tensor([float(head_weights.get(t, default)) for t in self.tasks]))
        self.log_vars = nn.Parameter(torch.zeros(len(self.tasks))) if learnable else None
        for task in self.tasks:
            weights = (class_weights or {}).get(task) or [1.0] * len(classes(task))
            self.register_buffer(f"class_weights_{task}", torch.tensor(weights, dtype=torch.float32))

    def effective_weights(self) -> dict[str, float]:
        """The multiplier of each head's cross-entropy now (w_i, or w_i * exp(-s_i) when learned)."""
        weights = self.head_weights
        if self.log_vars is not None:
            weights = weights * torch.exp(-self.log_vars.detach())
        return {task: float(w) for task, w in zip(self.tasks, weights)}

    def forward(self, logits: dict[str, torch.Tensor], targets: torch.Tensor):
        """(total, {task: cross-entropy}); a head with no labelled trial in the batch adds nothing."""
        total = logits[self.tasks[0]].new_zeros(())
        per_head = {}
        for j, task in enumerate(self.tasks):
            target = targets[:, j]
            if not (target != IGNORE).any():
                continue
            ce = F.cross_entropy(logits[task].float(), target, weight=getattr(self, f"class_weights_{task}"),
                                 ignore_index=IGNORE)
            per_head[task] = ce
            if self.log_vars is None:
                total = total + self.head_weights[j] * ce
            else:
                total = total + self.head_weights[j] * (torch.exp(-self.log_vars[j]) * ce + self.log_vars[j])
        return total, per_head
