"""SoundStream (Zeghidour et al. 2021) as AcademiCodec reimplements it, through AcademiCodec's own classes.

The model is AcademiCodec's `SoundStream` generator (academicodec/models/encodec/net3.py: SEANet encoder and decoder,
each ending in a 2-layer LSTM, around EnCodec's residual VQ), the class its SoundStream recipe
(egs/SoundStream_24k_240d/main3_ddp.py) and its EnCodec recipes both train; they differ only in the discriminators.
It runs as AcademiCodec's inference script does (academicodec/models/encodec/test.py, called by the recipes'
test.sh): the DDP state dict ("module." keys) loaded strictly, weight norm removed, `encode(wav, target_bw)` then
`decode(codes)`, each output scaled by min(0.99 / its peak, 1) where test.sh passes `-r` (`settings.rescale`).

Codecfake's own SoundStream checkpoint is not public: the entry names its checkpoint as a substitute
(codecfake/resources/codecs/soundstream.yaml, `substitute_for`).
"""
from __future__ import annotations

import contextlib
import io
from functools import cached_property

import torch

from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    fill_kmeans_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper

#: test.py's save_audio(rescale=True): an output whose peak exceeds this is scaled down to it.
RESCALE_LIMIT = 0.99


def inference_model(arch: dict, state: dict | None = None):
    """AcademiCodec's SoundStream from the entry's hyper-parameters, with `state` (DDP keys) loaded strictly where
    given, and weight norm removed by the inference script's own function."""
    from academicodec.models.encodec.net3 import SoundStream
    from academicodec.models.encodec.test import remove_encodec_weight_norm

    model = SoundStream(**arch)
    if state is not None:
        model.load_state_dict({key.removeprefix("module."): value for key, value in state.items()})
    with contextlib.redirect_stdout(io.StringIO()):
        remove_encodec_weight_norm(model)
    return model


class SoundStreamWrapper(CodecWrapper):
    requires = ("academicodec",)

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["ratios"]).prod())

    def build(self, arch):
        return inference_model(arch)

    def load_pretrained(self, arch, files):
        return inference_model(arch, torch.load(files["model"], map_location="cpu"))

    @torch.no_grad()
    def randomize(self, model, seed):
        """The quantizer's k-means codebooks start empty (all zero, not initialised): balance the encoder on a
        speech-like probe, draw the codebooks from its output frames, then balance the rest through `codec`."""
        probe = speech_like_probe(self.sample_rate, seed)
        done = balance_gains(model.encoder, lambda: model.encoder(probe))
        fill_kmeans_codebooks(model.quantizer.vq.layers, model.encoder(probe)[0].T, seed)
        balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        codes = self.model.encode(wav[:, None], target_bw=float(self.settings["bandwidth"]))
        out = self.model.decode(codes)[:, 0]
        if self.settings.get("rescale"):
            peak = out.abs().amax(dim=-1, keepdim=True)
            out = out * torch.clamp(RESCALE_LIMIT / peak, max=1.0)
        return out


WRAPPER = SoundStreamWrapper
