"""Light CNN (LCNN, Lavrentyeva et al., Interspeech 2019) over a log-mel or SSL feature map.

Max-feature-map (MFM) activations halve the channels by keeping the larger of each pair, which acts as feature
selection; four 2x2 max-pools shrink the map, the time axis is averaged (any length in), and an MFM classifier
gives 2 logits (index 1 = bona fide). `width` scales every channel count (tiny test configs).
"""
from __future__ import annotations

import torch
from torch import nn

#: (kernel, output channels before MFM, max-pool after) of the nine convolutions of the 2019 LCNN.
LAYERS = [(5, 64, True), (1, 64, False), (3, 96, True), (1, 96, False), (3, 128, True), (1, 128, False),
          (3, 64, False), (1, 64, False), (3, 64, True)]


class MaxFeatureMap(nn.Module):
    """Channel (dim 1) halves -> their element-wise maximum; works on (B, C, ...) maps and (B, C) vectors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.maximum(a, b)


class MelFrontend(nn.Module):
    """Log-mel spectrogram (Slaney mel filters from transformers.audio_utils)."""

    def __init__(self, n_fft: int = 512, win: int = 400, hop: int = 160, n_mels: int = 80, rate: int = 16000):
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        filters = mel_filter_bank(n_fft // 2 + 1, n_mels, 0.0, rate / 2, rate, norm="slaney", mel_scale="slaney")
        self.register_buffer("filters", torch.tensor(filters, dtype=torch.float32).T)  # (mels, bins)
        self.register_buffer("window", torch.hann_window(win))
        self.n_fft, self.win, self.hop = n_fft, win, hop
        self.out_features = n_mels

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave.float(), self.n_fft, self.hop, self.win, self.window, return_complex=True)
        return torch.log(self.filters @ spec.abs().pow(2) + 1e-6)  # (B, mels, frames)


class LCNN(nn.Module):
    def __init__(self, frontend: nn.Module, width: float = 1.0, dropout: float = 0.7, projection: int | None = None):
        super().__init__()
        self.frontend = frontend
        features = frontend.out_features
        self.projection = nn.Linear(features, projection) if projection else None
        features = projection or features
        layers, channels = [], 1
        for index, (kernel, out, pool) in enumerate(LAYERS):
            out = max(2, int(round(out * width / 2)) * 2)
            layers += [nn.Conv2d(channels, out, kernel, padding=kernel // 2), MaxFeatureMap()]
            channels = out // 2
            if pool:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            if index not in (0, len(LAYERS) - 1):
                layers.append(nn.BatchNorm2d(channels))
        self.body = nn.Sequential(*layers)
        bins = features
        for _ in range(sum(pool for _, _, pool in LAYERS)):
            bins = -(-bins // 2)
        hidden = max(2, int(round(160 * width / 2)) * 2)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels * bins, hidden), MaxFeatureMap(),
                                  nn.BatchNorm1d(hidden // 2), nn.Linear(hidden // 2, 2))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.frontend(wave)  # (B, F, T)
        if self.projection is not None:
            x = self.projection(x.transpose(1, 2)).transpose(1, 2)
        x = self.body(x.unsqueeze(1)).mean(dim=-1)  # (B, C, F')
        return self.head(x.flatten(1))

