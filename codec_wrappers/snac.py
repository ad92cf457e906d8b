"""SNAC (Siuzdak et al. 2024, multi-scale RVQ) through the `snac` package.

Follows the authors' README: `SNAC.from_pretrained(...)`, `codes = model.encode(audio[B, 1, T])`,
`audio_hat = model.decode(codes)`. `encode` pads the input to a multiple of hop x lcm(vq stride, attention window);
the decoded audio is cut back to the input's length, as the package's own `forward` does.

SNAC's decoder adds fresh Gaussian noise (NoiseBlock) on every call. The wrapper draws it from a fixed seed, on a
forked RNG so the caller's random state is untouched: the same batch always resynthesizes to the same audio.
"""
from __future__ import annotations

import json

import torch

from codec_wrappers import _released_config
from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    fill_factorized_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper

#: Seed of the decoder's noise for every call (see module docstring).
NOISE_SEED = 0


class SnacWrapper(CodecWrapper):
    requires = ("snac",)

    @property
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["encoder_rates"]).prod())

    def build(self, arch):
        from snac import SNAC

        return SNAC(**arch)

    def load_pretrained(self, arch, files):
        from snac import SNAC

        folder = files["model"].parent
        if files["config"].parent != folder:
            raise ValueError(f"{self.name}: config.json and pytorch_model.bin must share a folder, got {files}")
        _released_config.check(self.name, arch, json.loads(files["config"].read_text()), files["config"])
        return SNAC.from_pretrained(str(folder))

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the encoder on a speech-like
        probe, draw each residual codebook from its projected (stride-pooled) latents, balance the decoder."""
        probe = model.preprocess(speech_like_probe(self.sample_rate, seed, seconds=1.0))
        done = balance_gains(model.encoder, lambda: model.encoder(probe))
        fill_factorized_codebooks(model.quantizer.quantizers, model.encoder(probe), seed, pool=_pool)
        balance_through_codec(self, model, probe, skip=[*done, *model.quantizer.modules()])

    def codec(self, wav):
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(NOISE_SEED)
            codes = self.model.encode(wav.unsqueeze(1))
            audio = self.model.decode(codes)
        return audio[:, 0, : wav.shape[-1]]


def _pool(layer, residual):
    """What a SNAC quantizer layer sees of the residual: averaged over its stride."""
    return torch.nn.functional.avg_pool1d(residual, layer.stride, layer.stride) if layer.stride > 1 else residual


WRAPPER = SnacWrapper
