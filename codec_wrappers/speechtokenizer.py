"""SpeechTokenizer (Zhang et al. 2024) through the `speechtokenizer` package: HuBERT-distilled RVQ.

Follows the authors' README: `SpeechTokenizer.load_from_checkpoint(config, ckpt)`, `encode` a [B, 1, T] batch to
codes [n_q, B, T'], `decode` all of them; `settings.n_q` picks how many RVQ layers are kept (hubert_avg: all 8).
"""
from __future__ import annotations

import json

import torch

from codec_wrappers import _released_config
from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    fill_kmeans_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper


class SpeechTokenizerWrapper(CodecWrapper):
    requires = ("speechtokenizer",)

    @property
    def hop_length(self) -> int:
        return int(self.model.downsample_rate) if self.model is not None else 320

    def build(self, arch):
        from speechtokenizer import SpeechTokenizer

        return SpeechTokenizer(arch)

    def load_pretrained(self, arch, files):
        from speechtokenizer import SpeechTokenizer

        _released_config.check(self.name, arch, json.loads(files["config"].read_text()), files["config"])
        return SpeechTokenizer.load_from_checkpoint(str(files["config"]), str(files["model"]))

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the encoder, draw the all-zero
        k-means codebooks from its output frames on a speech-like probe, balance the decoder."""
        probe = speech_like_probe(model.sample_rate, seed)
        done = balance_gains(model.encoder, lambda: model.encoder(probe))
        layers = model.quantizer.vq.layers
        fill_kmeans_codebooks(layers, model.encoder(probe)[0].T, seed)
        balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        codes = self.model.encode(wav.unsqueeze(1), n_q=self.settings.get("n_q"))
        return self.model.decode(codes).squeeze(1)


WRAPPER = SpeechTokenizerWrapper
