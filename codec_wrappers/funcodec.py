"""FunCodec (Du et al. 2024) through the `funcodec` package's documented inference class, `Speech2Token`.

`Speech2Token(config.yaml, model.pth)` builds the model from its training config and loads the checkpoint;
calling it on a [B, T] batch runs encode + decode (`run_mod="inference"`), with `settings.bit_width` in bits/s
choosing how many of the 32 RVQ codebooks are used (16000 = all 32).

Two upstream pitfalls are handled here without changing upstream code: the EnCodec-style model's loss module
(`codec_basic.Audio2Mel`) puts its buffers on CUDA in its constructor, so models are built with FunCodec's own
CPU twin of that module (`codec_freq.Audio2Mel`, identical apart from the device); and the checkpoint loader
calls `torch.load` without `weights_only` (checkpoint_loads() makes it weights-only: codec_wrappers._checkpoints).
"""
from __future__ import annotations

import tempfile
from functools import cached_property
from pathlib import Path
from unittest import mock

import torch
import yaml

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers._random_weights import balance_gains, balance_through_codec, residual_codebooks, speech_like_probe
from codec_wrappers.base import CodecWrapper


def speech2token(config: Path, model_file: Path | None):
    """FunCodec's inference class on the CPU; random weights when `model_file` is None."""
    from funcodec.bin.codec_inference import Speech2Token
    from funcodec.models import codec_basic, codec_freq

    with mock.patch.object(codec_basic, "Audio2Mel", codec_freq.Audio2Mel), checkpoint_loads():
        return Speech2Token(str(config), None if model_file is None else str(model_file), device="cpu")


#: Probe length for random weights. FreqCodec's loudness contour follows its input only loosely: the contract's
#: log-energy correlation measured -0.05 (2 s probe, seed 0), 0.10 and 0.32 (2 s, seeds 2 and 1), 0.38 (3 s, seed 0).
PROBE_SECONDS = 3.0


class FunCodecWrapper(CodecWrapper):
    requires = ("funcodec",)

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        return int(self.entry.architecture_params()["quantizer_conf"]["encoder_hop_length"])

    def build(self, arch):
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(yaml.safe_dump(arch))
            return speech2token(config, None)

    def load_pretrained(self, arch, files):
        _released_config.check(self.name, arch, yaml.safe_load(files["config"].read_text()), files["config"])
        return speech2token(files["config"], files["model"])

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the encoder, draw the all-zero
        RVQ codebooks (FunCodec's distributed RVQ keeps them as stacked buffers) from its output frames on a
        speech-like probe, balance the decoder."""
        codec = model.model
        probe = speech_like_probe(codec.sample_rate, seed, seconds=PROBE_SECONDS)
        done = balance_gains(codec, lambda: codec._encode(probe))
        features = codec._encode(probe)[0][0][0]
        rvq = codec.quantizer.rq.model
        embed = residual_codebooks(features, rvq.embed.shape[0], rvq.embed.shape[1], seed)
        rvq.embed.copy_(embed)
        rvq.embed_avg.copy_(embed)
        rvq.cluster_size.fill_(1.0)
        rvq.inited.fill_(1.0)
        balance_through_codec(self, model, probe, skip=done)

    def load(self, *args, **kwargs):
        super().load(*args, **kwargs)
        self.model.device = self.device  # Speech2Token moves its input to this device
        return self

    def codec(self, wav):
        _, _, recon, _ = self.model(wav, bit_width=self.settings.get("bit_width"), run_mod="inference")
        return recon.squeeze(1)


WRAPPER = FunCodecWrapper
