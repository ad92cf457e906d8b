"""Seeded codebooks drawn around the encoder's own output, for random-weights builds.

Quantizers with k-means initialisation start empty. One Gaussian at one global scale is not enough for encoders
whose output is dominated by a per-channel offset: SpeechTokenizer's untrained BiLSTM encoder varies over time by
~1/20 of its offset, so every frame maps to the same code and the decoded audio ignores the input. Entries drawn
per channel from the mean and spread of the encoder's output on a seeded probe make the codes follow the input, as
trained codebooks do.
"""
from __future__ import annotations

import torch


def codebooks_like(features: torch.Tensor, shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    """[layers, size, dim] entries for residual VQ layers, from encoder output frames `features` [frames, dim]:
    the first layer centred on the features' per-channel mean, later ones on zero (they quantize residuals), each
    with the per-channel spread, shrinking layer by layer."""
    mean, spread = features.mean(0), features.std(0)
    generator = torch.Generator().manual_seed(seed)
    books = torch.randn(shape, generator=generator) * spread
    books /= torch.arange(1, shape[0] + 1, dtype=books.dtype)[:, None, None]
    books[0] += mean
    return books

