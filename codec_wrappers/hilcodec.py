"""HILCodec (Ahn et al. 2024): causal, streaming, 24 kHz, 8-codebook RVQ at 75 Hz.

The released checkpoint is a training log directory (config.yaml + NNNNN.pth); it is loaded the way the authors'
scripts/inference.ipynb does: `get_hparams` -> `get_wrapper(hps.model)(hps, device)` -> `wrapper.load(path)`, then
`wrapper.model(wav [B, 1, T], n=8)`. The model takes whole frames: the notebook trims the input to a multiple of
the hop; the wrapper right-pads instead and trims the output back, which leaves every kept sample unchanged
because the codec is causal. The repository is not a package: its top-level `models`, `utils` (and
`functional`, `modules`, `optim`) are what the notebook imports.
"""
from __future__ import annotations

import os
import tempfile
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers._feature_codebooks import codebooks_like
from codec_wrappers._random_weights import balance_gains, balance_through_codec, speech_like_probe
from codec_wrappers.base import CodecWrapper


class HILCodecWrapper(CodecWrapper):
    requires = ("models", "utils", "functional", "optim")  # what `models` imports; the last two tell it from Amphion
    causal = True

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["strides"]).prod())

    def build(self, arch):
        from models.hilcodec.models import HILCodec

        return HILCodec(**arch)

    def load_pretrained(self, arch, files):
        from models import get_wrapper
        from utils import get_hparams

        with tempfile.TemporaryDirectory() as log_dir:  # get_hparams reads <log dir>/config.yaml
            os.symlink(files["config"].resolve(), Path(log_dir) / "config.yaml")
            hps = get_hparams(base_dir=log_dir)
        released = {"sample_rate": hps.data.sampling_rate, "channels_audio": hps.data.channels,
                    **_plain(hps.model_kwargs)}
        _released_config.check(self.name, arch, released, files["config"])
        wrapper = get_wrapper(hps.model)(hps, device="cpu")
        with checkpoint_loads():
            wrapper.load(path=str(files["model"]))
        return wrapper.model

    def randomize(self, model, seed):
        """Fill the all-zero k-means codebooks around the encoder's output on a seeded probe signal, and mark them
        initialised (otherwise the first call would run k-means on its own input). Gains are balanced before and
        after (codec_wrappers._random_weights), so the output follows the input."""
        probe = speech_like_probe(self.sample_rate, seed)
        with torch.no_grad():
            done = balance_gains(model.encoder, lambda: model.encoder(probe))
            features = model.encoder(probe)[0].T
        layers = model.quantizer.layers
        books = codebooks_like(features, (len(layers), *layers[0].embed.shape), seed)
        for layer, book in zip(layers, books):
            layer.embed.copy_(book)
            layer.ema_embed.copy_(book * layer.ema_num_initial)
            layer.initted = True
        with torch.no_grad():
            balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        length = wav.shape[-1]
        padded = F.pad(wav, (0, -length % self.hop_length)).unsqueeze(1)
        decoded, *_ = self.model(padded, n=self.settings.get("n_quantizers"))
        return decoded.squeeze(1)[:, :length]


def _plain(value):
    """HParams sections as plain dicts, for comparison with the registry's YAML."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    return value


WRAPPER = HILCodecWrapper
