"""TiCodec (Ren et al. 2024, time-invariant codes) through the authors' own inference class, `VQVAE`.

TiCodec is GitHub-only and has no setup.py: its env puts the pinned commit on the import path
(the entry's `upstream:`). Follows the authors' copy-synthesis script
(academicodec/models/ticodec/vqvae_copy_syn.py with vqvae_tester.py): `VQVAE(config, ckpt, with_encoder=True)`,
weight norm removed from generator and encoder, `vq_codes, global_token = vqvae.encode(wav[B, T])` (frame codes of
`residul_layer` codebooks plus 8 codes per utterance), `vqvae(vq_codes, global_token)`. The per-utterance codes
pool the whole waveform, so padding would change them: batches hold equal lengths only (causal = False).

`VQVAE` only builds from a checkpoint file, so the random-weights build writes freshly initialised upstream
Encoder/Quantizer/Generator to a checkpoint and loads it through the same class. Its `torch.load` has no
map_location (see codec_wrappers._checkpoints).
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import torch

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    residual_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper

#: Quantizer attributes holding the residual layers' codebooks, first layer first.
RESIDUAL_LAYERS = ("quantizer_modules", "quantizer_modules2", "quantizer_modules3", "quantizer_modules4")


def vqvae(config: Path, checkpoint: Path):
    from academicodec.models.ticodec.vqvae import VQVAE

    with checkpoint_loads():
        model = VQVAE(str(config), str(checkpoint), with_encoder=True)
    with contextlib.redirect_stdout(io.StringIO()):  # upstream prints a line per call
        model.generator.remove_weight_norm()
        model.encoder.remove_weight_norm()
    return model


class TiCodecWrapper(CodecWrapper):
    requires = ("academicodec",)

    @property
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["upsample_rates"]).prod())

    def build(self, arch):
        from academicodec.models.ticodec.env import AttrDict
        from academicodec.models.ticodec.models import Encoder, Generator, Quantizer

        h = AttrDict(arch)
        parts = {"encoder": Encoder(h), "quantizer": Quantizer(h), "generator": Generator(h)}
        with tempfile.TemporaryDirectory() as tmp:
            config, checkpoint = Path(tmp) / "config.json", Path(tmp) / "checkpoint"
            config.write_text(json.dumps(arch))
            torch.save({key: part.state_dict() for key, part in parts.items()}, checkpoint)
            return vqvae(config, checkpoint)

    def load_pretrained(self, arch, files):
        _released_config.check(self.name, arch, json.loads(files["config"].read_text()), files["config"])
        return vqvae(files["config"], files["model"])

    def randomize(self, model, seed):
        """Upstream's uniform(+-1/1024) frame codebooks lie far from an untrained encoder's output, which then maps
        every frame to one code: draw them around the encoder's output on a seeded probe, layer by layer and group by
        group. (The 8 per-utterance codebooks keep upstream's initialisation: one probe gives one global vector.)"""
        model.eval()  # the global-token encoder ends in BatchNorm: train mode would update its running statistics
        probe = speech_like_probe(self.sample_rate, seed)
        with torch.no_grad():  # gains balanced before and after (codec_wrappers._random_weights)
            done = balance_gains(model.encoder, lambda: model.encoder(probe))
            features = model.encoder(probe)[0][0].T
        layers = [getattr(model.quantizer, name) for name in RESIDUAL_LAYERS[: model.h.residul_layer]]
        groups = model.h.n_code_groups
        for group, chunk in enumerate(features.chunk(groups, dim=-1)):
            size = layers[0][group].embedding.weight.shape[0]
            for layer, book in zip(layers, residual_codebooks(chunk, len(layers), size, seed + group)):
                layer[group].embedding.weight.data.copy_(book)
        with torch.no_grad():
            balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        vq_codes, global_token = self.model.encode(wav)
        return self.model(vq_codes, global_token)[:, 0]


WRAPPER = TiCodecWrapper
