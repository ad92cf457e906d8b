"""Seeded codebooks for vector quantizers that upstream leaves empty until k-means runs on training data.

EnCodec's and SpeechTokenizer's EuclideanCodebook start with all-zero `embed` and `inited = 0`: every code is 0
and the decoded audio ignores the input. Random-weights models fill them so codes really depend on the input.
"""
from __future__ import annotations

import torch


def fill_euclidean_codebooks(layers, dim_scale: torch.Tensor | float, seed: int) -> None:
    """Fill each layer's `_codebook` with Gaussian entries at the scale of the vectors it will quantize."""
    generator = torch.Generator().manual_seed(seed)
    for index, layer in enumerate(layers):
        book = layer._codebook
        scale = dim_scale / (index + 1)  # residuals shrink layer by layer
        embed = torch.randn(book.embed.shape, generator=generator) * scale
        book.embed.copy_(embed)
        book.embed_avg.copy_(embed)
        book.cluster_size.fill_(1.0)
        book.inited.fill_(1.0)
