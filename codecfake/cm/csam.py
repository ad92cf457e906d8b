"""CSAM (Xie et al., Codecfake 2024): sharpness-aware minimisation on a co-training mix of data domains.

Two parts:
  SAM (Foret et al., ICLR 2021) around a base optimiser (Adam): the gradient at w gives the ascent step
    e = rho * g / ||g||; the gradient at w + e, applied at w, is the update. BatchNorm running statistics are
    frozen on the second pass, so each batch moves them once, as in plain training.
  DomainBatchSampler: the reference's CSAMSampler (xieyuankun/Codecfake CSAM.py). Each round draws int(B * n_d / N)
    samples of every domain d (in table order, each domain a reshuffled stream), so a round holds B or a few less;
    the rounds are concatenated and cut into batches of B, which therefore straddle rounds and vary in composition
    (Codecfake: 123 + 4 per round, batches of 128 with 4 or 5 ASVspoof 2019 trials). A pass is ceil(L / B) rounds
    (L the largest domain), and an epoch is (number of domains) x ceil(L / B) steps, drawn from a stream of passes
    that continues across epochs, as the reference's `len(loader)` steps over a restarting iterator do. A domain
    whose share floors to 0 would never be drawn (the reference silently drops it): that is an error here.
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


def round_counts(sizes: Sequence[int], batch_size: int) -> list[int]:
    """Samples of each domain per round: int(batch_size * size / total), the reference's floors."""
    total = sum(sizes)
    return [int(size / total * batch_size) for size in sizes]


class DomainBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices composed as the reference's CSAM sampler composes them (module docstring).

    Deterministic in (seed, epoch): pass p of the stream is drawn from a generator seeded with (seed, p), so a
    resumed run sees the batches an uninterrupted one sees.
    """

    def __init__(self, domains: Sequence[str], batch_size: int, seed: int = 0):
        domains = np.asarray(domains).astype(str)
        self.names = list(dict.fromkeys(domains.tolist()))
        if len(self.names) < 2:
            raise ValueError(f"CSAM needs at least two domains to balance, found {self.names}")
        self.groups = [np.flatnonzero(domains == name) for name in self.names]
        self.composition = dict(zip(self.names, round_counts([g.size for g in self.groups], batch_size)))
        empty = [name for name, count in self.composition.items() if count == 0]
        if empty:
            raise ValueError(f"batch size {batch_size} gives domain(s) {empty} no sample per round "
                             f"(int(batch_size * share) = 0); raise the batch size")
        self.batch_size = batch_size
        self.rounds = math.ceil(max(g.size for g in self.groups) / batch_size)
        self.batches_per_pass = math.ceil(self.rounds * sum(self.composition.values()) / batch_size)
        self.steps = len(self.names) * self.rounds
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps

    def _pass(self, number: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, number])
        streams = [_Stream(group, rng) for group in self.groups]
        flat = np.concatenate([stream.take(self.composition[name])
                               for _ in range(self.rounds) for name, stream in zip(self.names, streams)])
        return [flat[i:i + self.batch_size].tolist() for i in range(0, flat.size, self.batch_size)]

    def __iter__(self):
        first = self.epoch * self.steps
        number, offset = divmod(first, self.batches_per_pass)
        batches = self._pass(number)
        for _ in range(self.steps):
            if offset == len(batches):
                number, offset = number + 1, 0
                batches = self._pass(number)
            yield batches[offset]
            offset += 1


class _Stream:
    """Endless sequence of a domain's indices: consecutive seeded permutations (the reference restarts a
    RandomSampler when a domain runs out)."""

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
