"""CSAM (Xie et al., Codecfake 2024): sharpness-aware minimisation on a co-training mix of data domains.

Two parts:
  SAM (Foret et al., ICLR 2021) around a base optimiser (Adam): the gradient at w gives the ascent step
    e = rho * g / ||g||; the gradient at w + e, applied at w, is the update. BatchNorm running statistics are
    frozen on the second pass, so each batch moves them once, as in plain training.
  DomainBatchSampler: every batch holds each domain in proportion to its size, with the *same* counts in every
    batch (largest-remainder apportionment), so no batch drifts towards one domain.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.utils.data import Sampler


class SAM:
    """The two SAM half-steps; the caller runs both forward/backward passes (see train.py)."""

    def __init__(self, params, base: torch.optim.Optimizer, rho: float = 0.05):
        if rho <= 0:
            raise ValueError(f"SAM rho must be > 0, got {rho}")
        self.params = [p for p in params if p.requires_grad]
        self.base = base
        self.rho = rho
        self._ascent: list[torch.Tensor | None] = []

    @torch.no_grad()
    def ascend(self, grad_scale: float = 1.0) -> bool:
        """Move to w + e from the current gradients (divided by grad_scale); False if they are not finite."""
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            self._ascent = [None] * len(self.params)
            return False
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])) / grad_scale
        if not torch.isfinite(norm):
            self._ascent = [None] * len(self.params)
            return False
        self._ascent = []
        for p in self.params:
            if p.grad is None:
                self._ascent.append(None)
                continue
            step = p.grad.float() * (self.rho / (grad_scale * (norm + 1e-12)))
            p.add_(step.to(p.dtype))
            self._ascent.append(step)
        return True

    @torch.no_grad()
    def descend_back(self) -> None:
        """Return to w, keeping the gradients of the second pass for the base optimiser's step."""
        for p, step in zip(self.params, self._ascent):
            if step is not None:
                p.sub_(step.to(p.dtype))
        self._ascent = []


@contextmanager
def frozen_bn_stats(model: nn.Module):
    """BatchNorm layers normalise with batch statistics but leave running_mean/var/num_batches untouched."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    for layer in layers:
        layer.track_running_stats = False
    try:
        yield
    finally:
        for layer in layers:
            layer.track_running_stats = True


def apportion(sizes: Sequence[int], batch_size: int) -> list[int]:
    """Per-batch count of each domain: proportional to its size, summing to batch_size, at least 1 each."""
    sizes = np.asarray(sizes, dtype=np.float64)
    if batch_size < len(sizes):
        raise ValueError(f"batch size {batch_size} cannot hold one sample of each of {len(sizes)} domains")
    quotas = batch_size * sizes / sizes.sum()
    counts = np.floor(quotas).astype(int)
    for index in np.argsort(-(quotas - counts), kind="stable")[: batch_size - counts.sum()]:
        counts[index] += 1
    while (counts == 0).any():
        counts[int(np.argmax(counts))] -= 1
        counts[int(np.flatnonzero(counts == 0)[0])] += 1
    return counts.tolist()


class DomainBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices with a fixed per-domain composition (see `apportion`).

    Within a domain, indices follow a seeded permutation, renewed each time the domain is used up, so every
    sample of a domain is seen once per pass over it; an epoch is ceil(N / batch_size) batches.
    """

    def __init__(self, domains: Sequence[str], batch_size: int, seed: int = 0):
        domains = np.asarray(domains).astype(str)
        self.names = sorted(set(domains.tolist()))
        if len(self.names) < 2:
            raise ValueError(f"CSAM needs at least two domains to balance, found {self.names}")
        self.groups = [np.flatnonzero(domains == name) for name in self.names]
        self.composition = dict(zip(self.names, apportion([g.size for g in self.groups], batch_size)))
        self.batch_size = batch_size
        self.batches = math.ceil(domains.size / batch_size)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        streams = [_Stream(group, rng) for group in self.groups]
        for _ in range(self.batches):
            batch = np.concatenate([stream.take(self.composition[name])
                                    for name, stream in zip(self.names, streams)])
            yield rng.permutation(batch).tolist()


class _Stream:
    """Endless sequence of a domain's indices: consecutive seeded permutations."""

    def __init__(self, indices: np.ndarray, rng: np.random.Generator):
        self.indices, self.rng = indices, rng
        self.order, self.position = rng.permutation(indices), 0

    def take(self, count: int) -> np.ndarray:
        out = []
        while count > 0:
            if self.position == self.order.size:
                self.order, self.position = self.rng.permutation(self.indices), 0
            chunk = self.order[self.position:self.position + count]
            out.append(chunk)
            self.position += chunk.size
            count -= chunk.size
        return np.concatenate(out)
