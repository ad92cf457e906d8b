"""UTMOS22 strong learner (Saeki et al., Interspeech 2022), the MOS predictor of the paper's Fig. 5.

Route: the `utmos-pytorch` package's fairseq-free modules (wav2vec 2.0 base, domain embedding, listener-conditioned
BLSTM, MLP head) and its converted state dict of the released strong-learner checkpoint, fetched from the hub at
a pinned commit and sha256-checked. The original checkpoint (the UTMOS-demo Space's Lightning file) needs fairseq
(the `utmos` package that wraps it is broken here) and unpickling arbitrary objects; the converted state dict
loads with `weights_only=True`, and utmos-pytorch's README reports the original's scores on LibriSpeech
test-clean to every printed digit.

Scoring is batched on length-sorted files. Padding is masked in the transformer, packed out of the BLSTM and left
out of the frame average; wav2vec 2.0's first GroupNorm still sees it, so a batch of one (`batch_items: 1`)
reproduces the reference exactly and larger batches shift scores by the little padding length-sorting leaves.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from tqdm import tqdm

from codecfake.audio import TARGET_RATE, probe, read_mono
from codecfake.checkpoint import torch_load
from codecfake.download import verify
from codecfake.errors import UserError
from codecfake.quality.utmos_weights import UtmosUnavailable
from codecfake.shard import length_batches

#: The reference scoring condition of UTMOS22: main-track domain and the listener id used for the mean listener.
DOMAIN_ID = 0
JUDGE_ID = 288
#: Domain and listener vocabularies and embedding sizes of the strong learner's head.
DOMAINS, JUDGES, EMBED_DIM = 3, 3000, 128


class Utmos22Strong(nn.Module):
    """The strong learner, with the module names of the released checkpoint so its state dict loads as is.

    `ssl` is the wav2vec 2.0 configuration: the default is the released wav2vec 2.0 base; tests pass a tiny one
    (the head keeps the strong learner's layout, its input width follows the SSL width).
    """

    def __init__(self, ssl=None):
        super().__init__()
        from utmos_pytorch.utmos_torch import DomainEmbedding, LDConditioner, Projection, SSL_model
        from utmos_pytorch.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model

        ssl = ssl or Wav2Vec2Config()
        width = ssl.encoder_embed_dim
        self.feature_extractors = nn.ModuleList([SSL_model(Wav2Vec2Model(ssl), width),
                                                 DomainEmbedding(DOMAINS, EMBED_DIM)])
        conditioner = LDConditioner(input_dim=width + EMBED_DIM, judge_dim=EMBED_DIM, num_judges=JUDGES)
        head = Projection(input_dim=conditioner.get_output_dim(), hidden_dim=2048, activation=nn.ReLU(),
                          range_clipping=False)
        self.output_layers = nn.ModuleList([conditioner, head])

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """[B, T] 16 kHz waves, right-padded, with their true lengths -> [B] MOS predictions."""
        padding = torch.arange(wav.shape[1], device=wav.device)[None] >= lengths[:, None]
        features, frame_padding, _ = self.feature_extractors[0].ssl_model(
            wav, padding_mask=padding if padding.any() else None, mask=False, features_only=True)
        batch, frames, _ = features.shape
        if frame_padding is None:
            frame_lengths = torch.full((batch,), frames, device=wav.device)
        else:
            frame_lengths = (~frame_padding).sum(1)
        conditioner, head = self.output_layers
        domain = self.feature_extractors[1].embedding(torch.full((batch,), DOMAIN_ID, device=wav.device))
        judge = conditioner.judge_embedding(torch.full((batch,), JUDGE_ID, device=wav.device))
        x = torch.cat([features, domain[:, None].expand(-1, frames, -1), judge[:, None].expand(-1, frames, -1)],
                      dim=2)
        packed = pack_padded_sequence(x, frame_lengths.cpu(), batch_first=True, enforce_sorted=False)
        decoded, _ = pad_packed_sequence(conditioner.decoder_rnn(packed)[0], batch_first=True,
                                         total_length=frames)
        per_frame = head.net(decoded)[..., 0]
        valid = torch.arange(frames, device=wav.device)[None] < frame_lengths[:, None]
        return (per_frame * valid).sum(1) / frame_lengths * 2 + 3


# -- model weights -------------------------------------------------------------------------------------------
def load_pretrained(path, sha256: str | None = None) -> Utmos22Strong:
    """The strong learner with the checkpoint's weights; every model parameter must come from the file."""
    verify(Path(path), sha256)
    state = torch_load(path, "UTMOS22 state dict")  # weights only: a pickle that would run code is refused
    model = Utmos22Strong()
    missing, _unused = model.load_state_dict(state, strict=False)  # the file may hold wav2vec pretraining heads
    if missing:
        raise UtmosUnavailable(f"{path}: not a UTMOS22 strong-learner state dict; missing {len(missing)} "
                               f"parameters, e.g. {missing[:3]}")
    return model.eval()


def build_random(seed: int, ssl=None) -> Utmos22Strong:
    """Seeded random weights of the same architecture: exercises the scoring path, never a quality score."""
    torch.manual_seed(seed)
    return Utmos22Strong(ssl).eval()


# -- scoring --------------------------------------------------------------------------------------------------
def score_files(model: Utmos22Strong, paths: list[str], *, device: str, batch_items: int,
                batch_seconds: float) -> list[float]:
    """UTMOS of 16 kHz files, in input order, scored in length-sorted batches with a progress bar (the batch
    settings are the config's `quality.utmos`, their defaults in config.schema.yaml only)."""
    lengths = []
    for path in paths:
        info = probe(path)
        if info.sample_rate != TARGET_RATE:
            raise UserError(f"{path}: {info.sample_rate} Hz; UTMOS scores the 16 kHz CoRS files")
        lengths.append(info.samples)
    model = model.to(device)
    scores = np.full(len(paths), np.nan)
    progress = tqdm(total=len(paths), desc="utmos", unit="file", file=sys.stderr, mininterval=10)
    for batch in length_batches(lengths, int(batch_seconds * TARGET_RATE), batch_items):
        waves = [read_mono(paths[i])[0] for i in batch]
        padded = torch.zeros(len(batch), max(len(w) for w in waves))
        for slot, wave in enumerate(waves):
            padded[slot, : len(wave)] = torch.from_numpy(wave)
        true_lengths = torch.tensor([len(w) for w in waves])
        with torch.inference_mode():
            scores[batch] = model(padded.to(device), true_lengths.to(device)).float().cpu().numpy()
        progress.update(len(batch))
    progress.close()
    return scores.tolist()
