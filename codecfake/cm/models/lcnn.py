"""Light CNN (LCNN, Lavrentyeva et al., Interspeech 2019) as Codecfake (xieyuankun/Codecfake) builds it.

Nine convolutions with max-feature-map (MFM) activations, which halve the channels by keeping the larger of the
two halves (feature selection); four 2x2 max-pools; BatchNorms without affine parameters; then the map is
flattened (so the input size is fixed: 80 x 505 log-free mel frames, or 1024 x 201 XLS-R frames, of a 64,600-sample
crop) -> dropout -> linear to 160 -> MFM (80) -> linear to 256 -> `fc_mu` -> 2 logits.
Module names and indices are Codecfake's, so its released weights load with strict=True.
`time_major` feeds the map as (time, feature) rows: Codecfake's training transposes every saved feature
(feat.transpose(2, 3)), which turns its XLS-R states (frames, 1024) into 1024 x 201 but its mel spectrograms,
saved (1, 80, 505) by preprocess.py, into 505 x 80; the Mel-LCNN presets follow that reading of the code (the
repository has no mel scoring script to confirm it; `time_major: false` is the other layout).
In Codecfake's released models logit 0 is bona fide ({"real": 0, "fake": 1}).
"""
from __future__ import annotations

import torch
from torch import nn

#: (kernel, output channels before MFM, max-pool after, affine-free BatchNorm after) of the nine convolutions.
LAYERS = [(5, 64, True, False), (1, 64, False, True), (3, 96, True, True), (1, 96, False, True),
          (3, 128, True, False), (1, 128, False, True), (3, 64, False, True), (1, 64, False, True),
          (3, 64, True, False)]


class MaxFeatureMap(nn.Module):
    """Channel (dim 1) halves -> their element-wise maximum; works on (B, C, ...) maps and (B, C) vectors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return torch.maximum(a, b)


class MelFrontend(nn.Module):
    """Mel power spectrogram as torchaudio's MelSpectrogram(n_mels, n_fft, hop_length) that Codecfake used:
    periodic Hann window of n_fft, centred reflect-padded frames, power 2, HTK mel filters without area
    normalisation, 0 Hz to Nyquist, and no logarithm."""

    def __init__(self, n_fft: int = 512, hop: int = 128, n_mels: int = 80, rate: int = 16000):
        super().__init__()
        from transformers.audio_utils import mel_filter_bank

        filters = mel_filter_bank(n_fft // 2 + 1, n_mels, 0.0, rate / 2, rate, norm=None, mel_scale="htk")
        self.register_buffer("filters", torch.tensor(filters, dtype=torch.float32).T, persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.n_fft, self.hop = n_fft, hop
        self.out_features = n_mels

    def frames(self, samples: int) -> int:
        return samples // self.hop + 1

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave.float(), self.n_fft, self.hop, self.n_fft, self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        return self.filters @ spec.abs().pow(2)  # (B, mels, frames)


def _pooled(size: int, pools: int) -> int:
    for _ in range(pools):
        size //= 2
    return size


class LCNN(nn.Module):
    """Front-end map (B, F, T) with T fixed by the crop -> LCNN -> 2 logits."""

    def __init__(self, frontend: nn.Module, frames: int, dropout: float = 0.7, embedding: int = 256,
                 time_major: bool = False):
        super().__init__()
        self.frontend = frontend
        self.time_major = time_major
        channels = 1
        for index, (kernel, out, pool, norm) in enumerate(LAYERS, start=1):
            layers = [nn.Conv2d(channels, out, kernel, padding=kernel // 2), MaxFeatureMap()]
            channels = out // 2
            if pool:
                layers.append(nn.MaxPool2d(2))
            if norm:
                layers.append(nn.BatchNorm2d(channels, affine=False))
            setattr(self, f"conv{index}", nn.Sequential(*layers))
        pools = sum(pool for _, _, pool, _ in LAYERS)
        flat = channels * _pooled(frontend.out_features, pools) * _pooled(frames, pools)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(flat, 160), MaxFeatureMap(),
                                 nn.Linear(80, embedding))
        self.fc_mu = nn.Linear(embedding, 2)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.frontend(wave)  # (B, F, T)
        x = (x.transpose(1, 2) if self.time_major else x).unsqueeze(1)
        for index in range(1, len(LAYERS) + 1):
            x = getattr(self, f"conv{index}")(x)
        return self.fc_mu(self.out(x.flatten(1)))
