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


#: Probe length for random weights. Before fit_magnitude_channel, FreqCodec's contract log-energy correlation on
#: codec2's speech measured -0.05 (2 s probe, seed 0), 0.10 and 0.32 (2 s, seeds 2 and 1), 0.38 (3 s, seed 0).
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
        speech-like probe, balance the decoder; FreqCodec's magnitude output is then fitted to the probe
        (fit_magnitude_channel)."""
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
        if getattr(codec, "codec_domain", (None, None))[1] == "mag_phase":  # FreqCodec; EnCodec-style decode waves
            fit_magnitude_channel(codec, probe)

    def load(self, *args, **kwargs):
        super().load(*args, **kwargs)
        self.model.device = self.device  # Speech2Token moves its input to this device
        return self

    def codec(self, wav):
        _, _, recon, _ = self.model(wav, bit_width=self.settings.get("bit_width"), run_mod="inference")
        return recon.squeeze(1)


#: Ridge penalty of `fit_magnitude_channel`, relative to the mean variance of the last convolution's input patches.
RIDGE = 0.1
#: Frames per chunk when `fit_magnitude_channel` accumulates its normal equations (bounds the unfolded patches).
CHUNK_FRAMES = 40


@torch.no_grad()
def fit_magnitude_channel(codec, probe: torch.Tensor) -> None:
    """Fit the decoder's last convolution's magnitude channel so softplus of it gives the probe's STFT magnitudes.

    FreqCodec's decoder ends in a 2-D convolution to (magnitude, phase real, phase imaginary) over frequency and
    time, followed by a GroupNorm over all three. With balanced random weights its magnitude channel ignores the
    input's level (output RMS flat across a 40 dB step in the input). Here that channel's 7x7 kernel is the ridge
    regression, over every time-frequency point of the probe, from the kernel's input patches to the inverse softplus
    of the (normalised, as the model normalises) probe's magnitude; the GroupNorm's gain and offset for that channel
    undo its standardisation on the probe. The other two channels and every other layer stay as they are."""
    last = [m for m in codec.decoder.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    norm = [m for m in codec.decoder.modules() if isinstance(m, torch.nn.GroupNorm)][-1]
    seen = []
    handle = last.register_forward_hook(lambda layer, inputs, output: seen.append(inputs[0]))
    try:
        codec._decode(codec._encode(probe))
    finally:
        handle.remove()
    patches_in = seen[0]
    wave = probe[:, 0] / (1e-8 + probe[:, 0].pow(2).mean().sqrt())
    magnitude = codec.enc_trans_func(wave).abs()[0]
    magnitude = magnitude.clamp(min=1e-4 * magnitude.max())
    target = magnitude + torch.log(-torch.expm1(-magnitude))  # inverse softplus, finite for large magnitudes
    kernel = last.kernel_size
    frames = min(patches_in.shape[-1] - kernel[1] + 1, target.shape[-1])
    dim = last.in_channels * kernel[0] * kernel[1]
    gram, moment, total, sum_x, sum_y = torch.zeros(dim, dim), torch.zeros(dim), 0, torch.zeros(dim), 0.0
    for start in range(0, frames, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, frames)
        x = torch.nn.functional.unfold(patches_in[..., start: stop + kernel[1] - 1], kernel)[0].T.double()
        y = target[:, start:stop].reshape(-1).double()
        gram, moment = gram + (x.T @ x).float(), moment + (x.T @ y).float()
        total, sum_x, sum_y = total + len(y), sum_x + x.sum(0).float(), sum_y + y.sum().item()
    mean_x, mean_y = sum_x / total, sum_y / total
    gram = gram - total * torch.outer(mean_x, mean_x)
    moment = moment - total * mean_x * mean_y
    weight = torch.linalg.solve(gram + RIDGE * gram.trace() / dim * torch.eye(dim), moment)
    last.weight[0] = weight.view_as(last.weight[0])
    last.bias[0] = mean_y - mean_x @ weight
    output = last(patches_in)
    norm.weight[0], norm.bias[0] = output.std(), output.mean()


WRAPPER = FunCodecWrapper
