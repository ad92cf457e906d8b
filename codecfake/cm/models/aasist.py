"""AASIST (Jung et al., ICASSP 2022): spectro-temporal graph attention over a 2-D feature map.

Two variants, each equal to the code its papers' numbers come from:
  * raw AASIST / AASIST-L (clovaai/aasist): fixed mel-spaced sinc band-pass filters, |.|, 3x3 max-pool, BN, SELU,
    residual blocks that also max-pool time by 3, then the nodes are the max of |.| over time (spectral) and over
    frequency (temporal);
  * SSL-AASIST (TakHemlata/SSL_Anti-spoofing, xieyuankun/Codecfake): SSL hidden states -> linear `LL` to 128 ->
    3x3 max-pool, BN, SELU -> residual blocks without time pooling -> BN, SELU -> the nodes are softmax-attention
    weighted sums over time and over frequency (`attention`).
Both then run the same graph: a GAT on each node type, graph pooling, two heterogeneous-GAT branches with a master
node, the element-wise max of the branches, a readout (max |.| and mean of each node type, the master) and
`out_layer` -> logits.

Parameter and buffer names are the references', so their released state dicts load with strict=True as they are.
Reference behaviours kept on purpose (results must reproduce):
  * residual blocks other than the first own a BatchNorm `bn1` but run `conv1` on the raw input (the BN+SELU
    pre-activation is computed and discarded); `pre_activation=True` applies it as the paper intends (a different
    network: released weights are not trained for it);
  * both heterogeneous layers of a branch use temperatures[2] and every branch pool uses pool_ratios[2]
    (temperatures[3] and pool_ratios[3] are read by nothing, as in the references);
  * the spectral position embedding `pos_S` has one row per spectral node (23 for 70 sinc filters, 42 for 128).
"""
from __future__ import annotations

from itertools import pairwise

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _hz_to_mel(hz):
    return 2595 * np.log10(1 + hz / 700)


def _mel_to_hz(mel):
    return 700 * (10 ** (mel / 2595) - 1)


class SincFrontend(nn.Module):
    """Fixed (not learned) band-pass sinc filters with mel-spaced band edges; output |filtered| (B, filters, T).

    The filters are computed with the same dtype chain as clovaai's CONV (float32 support, float32 sinc, float64
    difference, float32 Hamming product), so they are bit-identical to the reference's under the same numpy.
    """

    def __init__(self, filters: int = 70, kernel: int = 128, rate: int = 16000):
        super().__init__()
        kernel = kernel + 1 if kernel % 2 == 0 else kernel  # symmetric filters need an odd length
        edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(float(rate // 2)), filters + 1))
        support = torch.arange(-(kernel - 1) / 2, (kernel - 1) / 2 + 1)
        window = torch.tensor(np.hamming(kernel), dtype=torch.float32)
        bank = torch.zeros(filters, kernel)
        for index, (low, high) in enumerate(pairwise(edges)):
            ideal = ((2 * high / rate) * np.sinc((2 * high * support / rate).numpy())
                     - (2 * low / rate) * np.sinc((2 * low * support / rate).numpy()))
            bank[index] = window * torch.tensor(ideal, dtype=torch.float32)
        self.register_buffer("bank", bank.unsqueeze(1), persistent=False)  # not in the reference's state dict
        self.out_features = filters

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return F.conv1d(wave.unsqueeze(1), self.bank.to(wave.dtype)).abs()


class FeatureInput(nn.Module):
    """A front-end for precomputed feature maps (B, features, frames): the back-end alone, as Codecfake releases it
    (its W2V2 models read XLS-R hidden states extracted offline)."""

    def __init__(self, features: int, frames: int | None = None):
        super().__init__()
        self.out_features = features
        self.fixed_frames = frames

    def frames(self, samples: int) -> int:
        """The fixed frame count (a flattening back-end needs it); the input length says nothing here."""
        if self.fixed_frames is None:
            raise ValueError("a feature-input front-end feeding LCNN needs `frames`")
        return self.fixed_frames

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class ResidualBlock(nn.Module):
    """conv(2x3) -> BN -> SELU -> conv(2x3), plus the input (1x3 conv when channels change); optional time max-pool.

    The frequency size is kept (padding 1 then 0 on the 2-tall kernels). See the module docstring for `bn1`.
    """

    def __init__(self, channels_in: int, channels_out: int, first: bool, time_pool: int,
                 pre_activation: bool = False):
        super().__init__()
        self.pre_activation = pre_activation and not first
        if not first:
            self.bn1 = nn.BatchNorm2d(channels_in)
        self.conv1 = nn.Conv2d(channels_in, channels_out, (2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, (2, 3), padding=(0, 1))
        if channels_in != channels_out:
            self.conv_downsample = nn.Conv2d(channels_in, channels_out, (1, 3), padding=(0, 1))
        self.time_pool = time_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.selu(self.bn1(x)) if self.pre_activation else x
        out = self.conv2(F.selu(self.bn2(self.conv1(out))))
        out = out + (self.conv_downsample(x) if hasattr(self, "conv_downsample") else x)
        return F.max_pool2d(out, (1, self.time_pool)) if self.time_pool > 1 else out


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    """(B, N, D) -> (B, N, N, D): element-wise products of every node pair, the input of the attention map."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def _batch_norm_nodes(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    return bn(x.reshape(-1, x.size(-1))).reshape(x.shape)


def _xavier(*size: int) -> nn.Parameter:
    return nn.Parameter(nn.init.xavier_normal_(torch.empty(*size)))


class GraphAttentionLayer(nn.Module):
    """Graph attention over a fully connected graph of one node type; temperature flattens the attention map."""

    def __init__(self, dim_in: int, dim_out: int, temperature: float):
        super().__init__()
        self.att_proj = nn.Linear(dim_in, dim_out)
        self.att_weight = _xavier(dim_out, 1)
        self.proj_with_att = nn.Linear(dim_in, dim_out)
        self.proj_without_att = nn.Linear(dim_in, dim_out)
        self.bn = nn.BatchNorm1d(dim_out)
        self.input_drop = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_drop(x)
        logits = (torch.tanh(self.att_proj(_pairwise(x))) @ self.att_weight).squeeze(-1)
        att = torch.softmax(logits / self.temperature, dim=-1)
        x = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return F.selu(_batch_norm_nodes(self.bn, x))


class HtrgGraphAttentionLayer(nn.Module):
    """Graph attention over the union of two node types with a master node.

    Edges within type 1, within type 2 and across the types (both directions) each have their own attention
    weight vector; the master node attends to every node and is updated alongside them.
    """

    def __init__(self, dim_in: int, dim_out: int, temperature: float):
        super().__init__()
        self.proj_type1 = nn.Linear(dim_in, dim_in)
        self.proj_type2 = nn.Linear(dim_in, dim_in)
        self.att_proj = nn.Linear(dim_in, dim_out)
        self.att_projM = nn.Linear(dim_in, dim_out)
        self.att_weight11 = _xavier(dim_out, 1)
        self.att_weight22 = _xavier(dim_out, 1)
        self.att_weight12 = _xavier(dim_out, 1)
        self.att_weightM = _xavier(dim_out, 1)
        self.proj_with_att = nn.Linear(dim_in, dim_out)
        self.proj_without_att = nn.Linear(dim_in, dim_out)
        self.proj_with_attM = nn.Linear(dim_in, dim_out)
        self.proj_without_attM = nn.Linear(dim_in, dim_out)
        self.bn = nn.BatchNorm1d(dim_out)
        self.input_drop = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor | None = None):
        n1 = x1.size(1)
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)
        if master is None:
            master = x.mean(dim=1, keepdim=True)
        x = self.input_drop(x)
        hidden = torch.tanh(self.att_proj(_pairwise(x)))  # (B, N, N, D)
        type2 = torch.arange(x.size(1), device=x.device) >= n1
        within1 = (~type2[:, None] & ~type2[None, :])[..., None]
        within2 = (type2[:, None] & type2[None, :])[..., None]
        logits = torch.where(within1, hidden @ self.att_weight11,
                             torch.where(within2, hidden @ self.att_weight22, hidden @ self.att_weight12))
        att = torch.softmax(logits.squeeze(-1) / self.temperature, dim=-1)
        master_logits = torch.tanh(self.att_projM(x * master)) @ self.att_weightM  # (B, N, 1)
        master_att = torch.softmax(master_logits / self.temperature, dim=1)
        master = self.proj_with_attM(master_att.transpose(1, 2) @ x) + self.proj_without_attM(master)
        x = F.selu(_batch_norm_nodes(self.bn, self.proj_with_att(att @ x) + self.proj_without_att(x)))
        return x[:, :n1], x[:, n1:], master


class GraphPool(nn.Module):
    """Keep the top `ratio` of nodes by a learned sigmoid score, each kept node scaled by its score."""

    def __init__(self, ratio: float, dim: int, dropout: float = 0.3):
        super().__init__()
        self.ratio = ratio
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(dim, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(self.proj(self.drop(h)))
        keep = max(int(h.size(1) * self.ratio), 1)
        index = scores.topk(keep, dim=1).indices.expand(-1, -1, h.size(-1))
        return (h * scores).gather(1, index)


class AASISTGraph(nn.Module):
    """The graph half of AASIST: spectral (B, S, C) and temporal (B, T, C) nodes -> (readout, logits).

    One instance is one full graph branch (GATs, pools, the two heterogeneous branches, readout, `out_layer` with
    `classes` outputs), so a multi-task model can give each task its own graph on a shared encoder.
    """

    def __init__(self, channels: int, spectral_nodes: int, gat_dims: list[int], pool_ratios: list[float],
                 temperatures: list[float], classes: int = 2):
        super().__init__()
        self.pos_S = nn.Parameter(torch.randn(1, spectral_nodes, channels))
        self.master1 = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.master2 = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.GAT_layer_S = GraphAttentionLayer(channels, gat_dims[0], temperatures[0])
        self.GAT_layer_T = GraphAttentionLayer(channels, gat_dims[0], temperatures[1])
        for branch in ("1", "2"):
            setattr(self, f"HtrgGAT_layer_ST{branch}1",
                    HtrgGraphAttentionLayer(gat_dims[0], gat_dims[1], temperatures[2]))
            setattr(self, f"HtrgGAT_layer_ST{branch}2",
                    HtrgGraphAttentionLayer(gat_dims[1], gat_dims[1], temperatures[2]))
        self.pool_S = GraphPool(pool_ratios[0], gat_dims[0])
        self.pool_T = GraphPool(pool_ratios[1], gat_dims[0])
        for name in ("pool_hS1", "pool_hT1", "pool_hS2", "pool_hT2"):
            setattr(self, name, GraphPool(pool_ratios[2], gat_dims[1]))
        self.drop_way = nn.Dropout(0.2)
        self.drop = nn.Dropout(0.5)
        self.out_layer = nn.Linear(5 * gat_dims[1], classes)

    def _branch(self, branch: str, temporal, spectral, master):
        temporal, spectral, master = getattr(self, f"HtrgGAT_layer_ST{branch}1")(temporal, spectral, master)
        spectral = getattr(self, f"pool_hS{branch}")(spectral)
        temporal = getattr(self, f"pool_hT{branch}")(temporal)
        temporal_aug, spectral_aug, master_aug = getattr(self, f"HtrgGAT_layer_ST{branch}2")(temporal, spectral,
                                                                                             master)
        return (self.drop_way(temporal + temporal_aug), self.drop_way(spectral + spectral_aug),
                self.drop_way(master + master_aug))

    def forward(self, spectral: torch.Tensor, temporal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spectral = self.pool_S(self.GAT_layer_S(spectral + self.pos_S))
        temporal = self.pool_T(self.GAT_layer_T(temporal))
        batch = spectral.size(0)
        t1, s1, m1 = self._branch("1", temporal, spectral, self.master1.expand(batch, -1, -1))
        t2, s2, m2 = self._branch("2", temporal, spectral, self.master2.expand(batch, -1, -1))
        temporal, spectral, master = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)
        readout = torch.cat([temporal.abs().amax(1), temporal.mean(1), spectral.abs().amax(1), spectral.mean(1),
                             master.squeeze(1)], dim=1)
        readout = self.drop(readout)
        return readout, self.out_layer(readout)


class AASIST(AASISTGraph):
    """Front-end (B, samples) -> map (B, F, T) -> encoder -> spectral/temporal nodes -> one graph -> logits.

    `pooling` chooses the variant: "max" (clovaai: time-pooling blocks, max |.| nodes) or "attention" (SSL-AASIST:
    `LL` projection, `first_bn1`, attention-weighted nodes). `nodes()` is the shared trunk a multi-task model
    reuses with its own AASISTGraph per task.
    """

    def __init__(self, frontend: nn.Module, encoder: list[list[int]], pooling: str, gat_dims: list[int],
                 pool_ratios: list[float], temperatures: list[float], projection: int | None = None,
                 time_pool: int = 1, pre_activation: bool = False, classes: int = 2):
        if pooling not in ("max", "attention"):
            raise ValueError(f"AASIST pooling must be max or attention, not {pooling!r}")
        features = projection or frontend.out_features
        channels = encoder[-1][1]
        super().__init__(channels, features // 3, gat_dims, pool_ratios, temperatures, classes)
        self.frontend = frontend
        self.pooling = pooling
        if projection:
            self.LL = nn.Linear(frontend.out_features, projection)
        self.first_bn = nn.BatchNorm2d(1)
        self.encoder = nn.Sequential(*[nn.Sequential(ResidualBlock(cin, cout, index == 0, time_pool, pre_activation))
                                       for index, (cin, cout) in enumerate(encoder)])
        if pooling == "attention":
            self.first_bn1 = nn.BatchNorm2d(channels)
            self.attention = nn.Sequential(nn.Conv2d(channels, 128, 1), nn.SELU(), nn.BatchNorm2d(128),
                                           nn.Conv2d(128, channels, 1))

    def nodes(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(spectral (B, F', C) before the position embedding, temporal (B, T', C)) node features."""
        x = self.frontend(wave)  # (B, F, T)
        if hasattr(self, "LL"):
            x = self.LL(x.transpose(1, 2)).transpose(1, 2)
        x = F.selu(self.first_bn(F.max_pool2d(x.unsqueeze(1), 3)))
        x = self.encoder(x)  # (B, C, F', T')
        if self.pooling == "max":
            return x.abs().amax(-1).transpose(1, 2), x.abs().amax(-2).transpose(1, 2)
        x = F.selu(self.first_bn1(x))
        weights = self.attention(x)
        spectral = (x * torch.softmax(weights, dim=-1)).sum(-1)
        temporal = (x * torch.softmax(weights, dim=-2)).sum(-2)
        return spectral.transpose(1, 2), temporal.transpose(1, 2)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return super().forward(*self.nodes(wave))[1]
