"""SpeechTokenizer (Zhang et al. 2024) through the `speechtokenizer` package: HuBERT-distilled RVQ.

Follows the authors' README: `SpeechTokenizer.load_from_checkpoint(config, ckpt)`, `encode` a [B, 1, T] batch to
codes [n_q, B, T'], `decode` all of them; `settings.n_q` picks how many RVQ layers are kept (hubert_avg: all 8).
"""
from __future__ import annotations

import json

import torch

from codec_wrappers import _released_config
from codec_wrappers._feature_codebooks import fill_codebooks_from_features, probe_signal
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

    def randomize(self, model, seed):
        """Fill the all-zero RVQ codebooks around the encoder's output on a seeded probe signal."""
        with torch.no_grad():
            features = model.encoder(probe_signal(model.sample_rate, seed))[0].T
        fill_codebooks_from_features(model.quantizer.vq.layers, features, seed)

    def codec(self, wav):
        codes = self.model.encode(wav.unsqueeze(1), n_q=self.settings.get("n_q"))
        return self.model.decode(codes).squeeze(1)


WRAPPER = SpeechTokenizerWrapper
