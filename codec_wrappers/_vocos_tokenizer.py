"""Codecs built on Vocos' code layout with an EnCodec-style tokenizer in front: WavTokenizer and Language-Codec.

Both repositories ship the same loader and README usage: `from_pretrained0802(config.yaml, model.ckpt)` builds the
feature extractor / backbone / head named under `model.init_args` of a Lightning training config and loads the
checkpoint's matching weights; `encode_infer(wav [B, T], bandwidth_id=tensor([0]))` gives features and codes,
`decode(features, bandwidth_id=...)` the waveform. Only the model class differs. The registry entry's architecture
holds exactly those three `init_args` entries.
"""
from __future__ import annotations

import tempfile
from abc import abstractmethod
from functools import cached_property
from pathlib import Path

import torch
import yaml

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    fill_kmeans_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper


class VocosTokenizerWrapper(CodecWrapper):
    @abstractmethod
    def model_class(self):
        """The upstream model class with `from_hparams0802` / `from_pretrained0802`."""

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        return int(self.entry.architecture_params()["head"]["init_args"]["hop_length"])

    def build(self, arch):
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(yaml.safe_dump({"model": {"init_args": arch}}))
            return self.model_class().from_hparams0802(str(config))

    def load_pretrained(self, arch, files):
        released = yaml.safe_load(files["config"].read_text())["model"]["init_args"]
        _released_config.check(self.name, arch, released, files["config"])
        with checkpoint_loads():  # a Lightning checkpoint, read weights-only with the allowlist
            return self.model_class().from_pretrained0802(str(files["config"]), str(files["model"]))

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the EnCodec encoder on a
        speech-like probe, draw the all-zero k-means codebooks from its output frames (otherwise the first inference
        call would run k-means on its own input), balance the backbone and head through encode/decode."""
        encodec = model.feature_extractor.encodec
        probe = speech_like_probe(self.sample_rate, seed)
        done = balance_gains(encodec.encoder, lambda: encodec.encoder(probe))
        layers = encodec.quantizer.vq.layers
        fill_kmeans_codebooks(layers, encodec.encoder(probe)[0].T, seed)
        balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        bandwidth_id = torch.tensor([self.settings.get("bandwidth_id", 0)], device=wav.device)
        features, _ = self.model.encode_infer(wav, bandwidth_id=bandwidth_id)
        return self.model.decode(features, bandwidth_id=bandwidth_id)
