"""HiFi-Codec (Yang et al. 2023) through AcademiCodec's own inference class, `VQVAE`.

Builds the model as the authors' copy-synthesis script does (academicodec/models/hificodec/vqvae_copy_syn.py):
`VQVAE(config, ckpt, with_encoder=True)`, weight norm removed from generator and encoder, `encode` a [B, T] batch to
group-residual codes [B, T', 4], decode with `model(codes)`. The input level follows the CodecFake pipeline the
CodecFake+ paper built its CoRS set with ([79], AudioDecBenchmark branch vctk, base_codec/academicodec.py):
`librosa.util.normalize(x) * 0.95`, each item peak-normalised then scaled by `settings.peak_normalize`; the output
is not scaled back. (The authors' script feeds the waveform as read.)

`VQVAE` only builds from a checkpoint file, so the random-weights build writes the freshly initialised upstream
Encoder/Quantizer/Generator to a checkpoint first and loads it through the same class. Its `torch.load` has no
map_location (see codec_wrappers._checkpoints).
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
from functools import cached_property
from pathlib import Path

import torch

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers._feature_codebooks import codebooks_like
from codec_wrappers._random_weights import balance_gains, balance_through_codec, speech_like_probe
from codec_wrappers.base import CodecWrapper


def vqvae(config: Path, checkpoint: Path):
    from academicodec.models.hificodec.vqvae import VQVAE

    with checkpoint_loads():
        model = VQVAE(str(config), str(checkpoint), with_encoder=True)
    with contextlib.redirect_stdout(io.StringIO()):  # upstream prints a line per call
        model.generator.remove_weight_norm()
        model.encoder.remove_weight_norm()
    return model


class HiFiCodecWrapper(CodecWrapper):
    requires = ("academicodec",)

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        rates = self.entry.architecture_params()["upsample_rates"]
        return int(torch.tensor(rates).prod())

    def build(self, arch):
        from academicodec.models.hificodec.env import AttrDict
        from academicodec.models.hificodec.models import Encoder, Generator, Quantizer

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
        """Upstream's uniform(+-1/1024) codebooks lie far from an untrained encoder's output, which then maps every
        frame to one code: draw them around the encoder's output on a seeded probe, group by group."""
        probe = speech_like_probe(self.sample_rate, seed)
        with torch.no_grad():  # gains balanced before and after (codec_wrappers._random_weights)
            done = balance_gains(model.encoder, lambda: model.encoder(probe))
            features = model.encoder(probe)[0].T
        groups = model.h.n_code_groups
        for group, chunk in enumerate(features.chunk(groups, dim=-1)):
            first, second = model.quantizer.quantizer_modules[group], model.quantizer.quantizer_modules2[group]
            books = codebooks_like(chunk, (2, *first.embedding.weight.shape), seed + group)
            first.embedding.weight.data.copy_(books[0])
            second.embedding.weight.data.copy_(books[1])
        with torch.no_grad():
            balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        codes = self.model.encode(peak_normalize(wav, self.settings.get("peak_normalize")))
        return self.model(codes).squeeze(1)


def peak_normalize(wav: torch.Tensor, scale: float | None) -> torch.Tensor:
    """Each row divided by its peak and times `scale`, as `librosa.util.normalize(row) * scale`: a row whose peak is
    below float32's smallest normal number is left as it is. None leaves the batch unchanged."""
    if scale is None:
        return wav
    peak = wav.abs().amax(dim=-1, keepdim=True)
    peak = torch.where(peak < torch.finfo(torch.float32).tiny, torch.ones_like(peak), peak)
    return wav / peak * scale


WRAPPER = HiFiCodecWrapper
