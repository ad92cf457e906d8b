"""SQ-Codec (Yang et al. 2024, scalar-quantized latent; SimpleSpeech's codec) through the authors' `ScalarAE`.

SimpleSpeech is GitHub-only and has no setup.py: its env puts the pinned commit on the import path
(the entry's `upstream:`). Loads the model as SimpleSpeech's configs do, `ldm.models.scalar16k.ScalarAE(
scalar_config=<config.yaml>, resume_path=<ckpt>)` from the released 16k_50dim_9.zip, and resynthesizes with its
`decode(encode(x[B, 1, T]))`: `encode` gives the tanh latent, `decode` rounds it to steps of 1/9 (19 levels per
dimension) and decodes. The output is cut back to the input's length. The decoder's first convolution looks ahead,
so the codec is not causal.
"""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import torch
import yaml

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads, mark_extracted
from codec_wrappers._random_weights import balance_gains, balance_through_codec, scale_weight, speech_like_probe
from codec_wrappers.base import CodecWrapper

#: Spread of the encoder's pre-tanh output that random weights are scaled to: tanh then spans most of the 19 steps.
RANDOM_LATENT_STD = 1.0


def scalar_ae(config: Path, checkpoint: Path | None):
    from ldm.models.scalar16k import ScalarAE

    with checkpoint_loads():
        return ScalarAE(scalar_config=str(config), resume_path=None if checkpoint is None else str(checkpoint))


class SQCodecWrapper(CodecWrapper):
    requires = ("ldm", "pytorch_lightning", "omegaconf", "torchaudio")

    @property
    def hop_length(self) -> int:
        arch = self.entry.architecture_params()
        return int(arch["num_samples"] * torch.tensor(arch["downsample_factors"]).prod())

    def build(self, arch):
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(yaml.safe_dump({"generator": {"config": arch}}))
            return scalar_ae(config, None)

    def load_pretrained(self, arch, files):
        """The zip holds one config.yaml and one checkpoint (.pth), under the model's folder name."""
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(files["model"]) as archive:
            members = {suffix: [name for name in archive.namelist() if name.endswith(suffix)]
                       for suffix in ("config.yaml", ".pth")}
            if any(len(found) != 1 for found in members.values()):
                raise FileNotFoundError(f"{self.name}: expected one config.yaml and one .pth in {files['model']}, "
                                        f"found {members}")
            config, checkpoint = (Path(archive.extract(found[0], tmp)) for found in members.values())
            mark_extracted(files["model"], checkpoint)
            released = yaml.safe_load(config.read_text())["generator"]["config"]
            _released_config.check(self.name, arch, released, f"{files['model']}:{members['config.yaml'][0]}")
            return scalar_ae(config, checkpoint)

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the encoder on a speech-like
        probe, then scale its last convolution (weight-normed: gain; bias zeroed) so the pre-tanh latent has
        RANDOM_LATENT_STD (an untrained encoder's tanh latent stays within +-0.1, so every value rounds to 0 and the
        decoded audio ignores the input), then balance the decoder through encode/decode."""
        probe = speech_like_probe(self.sample_rate, seed)
        encoder = model.model.encoder
        done = balance_gains(encoder, lambda: model.encode(probe))
        scale_weight(encoder[-1], RANDOM_LATENT_STD / done[encoder[-1]])
        balance_through_codec(self, model, probe, skip=list(encoder.modules()))

    def codec(self, wav):
        return self.model.decode(self.model.encode(wav.unsqueeze(1)))[:, 0, : wav.shape[-1]]


WRAPPER = SQCodecWrapper
