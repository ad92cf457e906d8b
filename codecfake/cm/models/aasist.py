"""AASIST (Jung et al., ICASSP 2022): spectro-temporal graph attention over a 2-D feature map.

The same back-end serves the raw-waveform model (fixed mel-spaced sinc band-pass filters, as in the paper) and the
SSL variants of Tak et al. (Odyssey 2022), where a wav2vec 2.0 / WavLM front-end plus a linear projection gives the
map. Front-end (B, samples) -> map (B, F, T) -> stem (max-pool 3x3, BN, SELU) -> residual encoder -> attention
pooling into a spectral and a temporal graph -> two heterogeneous graph-attention branches with a master node ->
max of the branches -> readout -> 2 logits (index 1 = bona fide).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _hz_to_mel(hz):
    return 2595 * np.log10(1 + np.asarray(hz) / 700)


def _mel_to_hz(mel):
    return 700 * (10 ** (np.asarray(mel) / 2595) - 1)


class SincFrontend(nn.Module):
    """Fixed band-pass sinc filters with mel-spaced band edges; output is the magnitude of each band."""

    def __init__(self, filters: int = 70, kernel: int = 128, rate: int = 16000):
        super().__init__()
        kernel = kernel | 1  # symmetric filters need an odd length
        edges = _mel_to_hz(np.linspace(_hz_to_mel(0), _hz_to_mel(rate / 2), filters + 1))
        t = np.arange(kernel) - (kernel - 1) / 2
        window = np.hamming(kernel)
        bank = [(2 * high * np.sinc(2 * high * t / rate) - 2 * low * np.sinc(2 * low * t / rate)) / rate * window
                for low, high in zip(edges[:-1], edges[1:])]
        self.register_buffer("bank", torch.tensor(np.stack(bank), dtype=torch.float32).unsqueeze(1))
        self.out_features = filters

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return F.conv1d(wave.unsqueeze(1), self.bank.to(wave.dtype)).abs()


class ResidualBlock(nn.Module):
    """Pre-activation residual block over (freq, time); optional max-pooling of time only."""

    def __init__(self, channels_in: int, channels_out: int, first: bool, time_pool: int):
        super().__init__()
        self.pre = nn.Identity() if first else nn.Sequential(nn.BatchNorm2d(channels_in), nn.SELU())
        self.body = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, (2, 3), padding=(1, 1)), nn.BatchNorm2d(channels_out), nn.SELU(),
            nn.Conv2d(channels_out, channels_out, (2, 3), padding=(0, 1)))
        self.skip = (nn.Identity() if channels_in == channels_out
                     else nn.Conv2d(channels_in, channels_out, (1, 3), padding=(0, 1)))
        self.pool = nn.MaxPool2d((1, time_pool)) if time_pool > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(self.pre(x)) + self.skip(x))


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    """(B, N, D) -> (B, N, N, D): element-wise products of every node pair, the input of the attention map."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def _batch_norm_nodes(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    return bn(x.reshape(-1, x.size(-1))).reshape(x.shape)


class GraphAttention(nn.Module):
    """Graph attention over a fully connected graph; temperature sharpens the attention map."""

    def __init__(self, dim_in: int, dim_out: int, temperature: float):
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.att_proj = nn.Linear(dim_in, dim_out)
        self.att_weight = nn.Parameter(nn.init.xavier_normal_(torch.empty(dim_out, 1)))
        self.with_att = nn.Linear(dim_in, dim_out)
        self.without_att = nn.Linear(dim_in, dim_out)
        self.bn = nn.BatchNorm1d(dim_out)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(x)
        logits = (torch.tanh(self.att_proj(_pairwise(x))) @ self.att_weight).squeeze(-1)
        att = torch.softmax(logits / self.temperature, dim=-1)
        x = self.with_att(att @ x) + self.without_att(x)
        return F.selu(_batch_norm_nodes(self.bn, x))


class HeteroGraphAttention(nn.Module):
    """Graph attention over the union of two node types (temporal, spectral) with a master node.

    Edges within type A, within type B and across types each get their own attention weight vector; the master
    node attends to all nodes and is updated alongside them.
    """

    def __init__(self, dim_in: int, dim_out: int, temperature: float):
        super().__init__()
        self.type_a = nn.Linear(dim_in, dim_in)
        self.type_b = nn.Linear(dim_in, dim_in)
        self.drop = nn.Dropout(0.2)
        self.att_proj = nn.Linear(dim_in, dim_out)
        self.att_proj_master = nn.Linear(dim_in, dim_out)
        #: columns: A-A, B-B, A-B (both directions) edges.
        self.edge_weights = nn.Parameter(nn.init.xavier_normal_(torch.empty(dim_out, 3)))
        self.master_weight = nn.Parameter(nn.init.xavier_normal_(torch.empty(dim_out, 1)))
        self.with_att = nn.Linear(dim_in, dim_out)
        self.without_att = nn.Linear(dim_in, dim_out)
        self.master_with_att = nn.Linear(dim_in, dim_out)
        self.master_without_att = nn.Linear(dim_in, dim_out)
        self.bn = nn.BatchNorm1d(dim_out)
        self.temperature = temperature

    def forward(self, a: torch.Tensor, b: torch.Tensor, master: torch.Tensor | None = None):
        n_a, n_b = a.size(1), b.size(1)
        x = torch.cat([self.type_a(a), self.type_b(b)], dim=1)
        if master is None:
            master = x.mean(dim=1, keepdim=True)
        x = self.drop(x)
        node_type = torch.cat([torch.zeros(n_a, dtype=torch.long), torch.ones(n_b, dtype=torch.long)])
        edge_type = torch.where(node_type[:, None] == node_type[None, :], node_type[:, None], 2).to(x.device)
        logits_all = torch.tanh(self.att_proj(_pairwise(x))) @ self.edge_weights  # (B, N, N, 3)
        logits = logits_all.gather(-1, edge_type.expand(x.size(0), -1, -1).unsqueeze(-1)).squeeze(-1)
        att = torch.softmax(logits / self.temperature, dim=-1)
        master_logits = torch.tanh(self.att_proj_master(x * master)) @ self.master_weight  # (B, N, 1)
        master_att = torch.softmax(master_logits / self.temperature, dim=1)
        master = self.master_with_att(master_att.transpose(1, 2) @ x) + self.master_without_att(master)
        x = F.selu(_batch_norm_nodes(self.bn, self.with_att(att @ x) + self.without_att(x)))
        return x[:, :n_a], x[:, n_a:], master


class GraphPool(nn.Module):
    """Keep the top `ratio` of nodes by a learned sigmoid score, scaling each kept node by its score."""

    def __init__(self, ratio: float, dim: int, dropout: float = 0.3):
        super().__init__()
        self.ratio = ratio
        self.drop = nn.Dropout(dropout)
        self.score = nn.Linear(dim, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(self.score(self.drop(h)))
        keep = max(int(h.size(1) * self.ratio), 1)
        index = scores.topk(keep, dim=1).indices.expand(-1, -1, h.size(-1))
        return (h * scores).gather(1, index)


class AASIST(nn.Module):
    """Front-end map (B, F, T) -> AASIST back-end -> 2 logits."""

    def __init__(self, frontend: nn.Module, encoder: list[list[int]], time_pool: int, gat_dims: list[int],
                 pool_ratios: list[float], temperatures: list[float], projection: int | None = None):
        super().__init__()
        self.frontend = frontend
        features = frontend.out_features
        self.projection = nn.Linear(features, projection) if projection else None
        features = projection or features
        self.stem = nn.Sequential(nn.MaxPool2d(3), nn.BatchNorm2d(1), nn.SELU())
        self.encoder = nn.Sequential(*[ResidualBlock(cin, cout, index == 0, time_pool)
                                       for index, (cin, cout) in enumerate(encoder)])
        channels = encoder[-1][1]
        self.encoder_out = nn.Sequential(nn.BatchNorm2d(channels), nn.SELU())
        self.attention = nn.Sequential(nn.Conv2d(channels, 128, 1), nn.SELU(), nn.BatchNorm2d(128),
                                       nn.Conv2d(128, channels, 1))
        spectral_nodes = features // 3  # the stem's 3x3 pooling; residual blocks keep the frequency size
        self.spectral_position = nn.Parameter(torch.randn(1, spectral_nodes, channels))
        self.masters = nn.Parameter(torch.randn(2, 1, 1, gat_dims[0]))
        self.gat_spectral = GraphAttention(channels, gat_dims[0], temperatures[0])
        self.gat_temporal = GraphAttention(channels, gat_dims[0], temperatures[1])
        self.pool_spectral = GraphPool(pool_ratios[0], gat_dims[0])
        self.pool_temporal = GraphPool(pool_ratios[1], gat_dims[0])
        self.branches = nn.ModuleList(nn.ModuleDict({
            "first": HeteroGraphAttention(gat_dims[0], gat_dims[1], temperatures[2]),
            "second": HeteroGraphAttention(gat_dims[1], gat_dims[1], temperatures[3]),
            "pool_temporal": GraphPool(pool_ratios[2], gat_dims[1]),
            "pool_spectral": GraphPool(pool_ratios[3], gat_dims[1]),
        }) for _ in range(2))
        self.drop_nodes = nn.Dropout(0.2)
        self.drop_readout = nn.Dropout(0.5)
        self.classifier = nn.Linear(5 * gat_dims[1], 2)

    def _branch(self, branch: nn.ModuleDict, temporal, spectral, master):
        temporal, spectral, master = branch["first"](temporal, spectral, master)
        temporal, spectral = branch["pool_temporal"](temporal), branch["pool_spectral"](spectral)
        temporal_aug, spectral_aug, master_aug = branch["second"](temporal, spectral, master)
        return temporal + temporal_aug, spectral + spectral_aug, master + master_aug

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.frontend(wave)  # (B, F, T)
        if self.projection is not None:
            x = self.projection(x.transpose(1, 2)).transpose(1, 2)
        x = self.encoder_out(self.encoder(self.stem(x.unsqueeze(1))))  # (B, C, F', T')
        weights = self.attention(x)
        spectral = (x * torch.softmax(weights, dim=-1)).sum(-1).transpose(1, 2) + self.spectral_position
        temporal = (x * torch.softmax(weights, dim=-2)).sum(-2).transpose(1, 2)
        spectral = self.pool_spectral(self.gat_spectral(spectral))
        temporal = self.pool_temporal(self.gat_temporal(temporal))
        outputs = [self._branch(branch, temporal, spectral, self.masters[i].expand(x.size(0), -1, -1))
                   for i, branch in enumerate(self.branches)]
        temporal = self.drop_nodes(torch.maximum(outputs[0][0], outputs[1][0]))
        spectral = self.drop_nodes(torch.maximum(outputs[0][1], outputs[1][1]))
        master = self.drop_nodes(torch.maximum(outputs[0][2], outputs[1][2]))
        readout = torch.cat([temporal.abs().amax(1), temporal.mean(1), spectral.abs().amax(1), spectral.mean(1),
                             master.squeeze(1)], dim=-1)
        return self.classifier(self.drop_readout(readout))

