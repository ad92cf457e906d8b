"""X-Codec (Ye et al. 2024) through the authors' own code (zhenye234/xcodec) and original checkpoints, as the paper
ran it (CodecFake+ predates transformers' conversions).

Loading follows the repository's inference.py: the checkpoint folder's config yaml (OmegaConf) ->
`SoundStream(**config.generator.config)` -> `load_state_dict(torch.load(checkpoint))`, a plain state dict (read
here with `weights_only=True`, loaded strictly). SoundStream's constructor fetches its HuBERT teacher with
`AutoModel.from_pretrained` only for the checkpoint to overwrite every one of its weights (`semantic_model.*`), so the
wrapper hands it a HubertModel built from the registry entry's architecture instead: nothing is downloaded.

Inference follows inference.py's process_audio: the waveform times the config's audio_norm_scale (0.95),
`encode(wav[1, 1, T], target_bw)`, `decode(codes)`, one utterance at a time (encode's re-padding branch below only
works on a batch of one). No padding to whole frames, as upstream: where HuBERT (input padded by 160 samples on each
side) gives one frame more than the acoustic encoder (80 <= T mod 320 < 312), encode runs the acoustic encoder on
that padded input too, so its frames, and a trained decoder's output, lag the input by 160 samples (10 ms; read
from the code, not measurable on random weights); otherwise nothing lags. That lag is upstream's, kept as the
paper's data would have it; `delay_samples` stays 0. The decoded length is whole frames (one more than T // 320
from T mod 320 >= 80), which the job fits back to the input's length.
"""
from __future__ import annotations

import io
import pickle
from functools import cached_property
from types import SimpleNamespace
from unittest import mock

import torch

from codec_wrappers import _released_config
from codec_wrappers._random_weights import (
    balance_through_codec,
    balanced_quantizer_input,
    fill_kmeans_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper


class XcodecWrapper(CodecWrapper):
    requires = ("models", "quantization", "descriptaudiocodec")  # the last one tells it from other `models`
    batching = False  # codec() runs one utterance at a time, as upstream's encode requires

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["generator"]["ratios"]).prod())

    def build(self, arch):
        from models import soundstream_semantic
        from transformers import HubertConfig, HubertModel

        teacher = HubertModel(HubertConfig(**arch["semantic_model"]))
        prebuilt = SimpleNamespace(from_pretrained=lambda *args, **kwargs: teacher)
        with mock.patch.object(soundstream_semantic, "AutoModel", prebuilt):
            return soundstream_semantic.SoundStream(**arch["generator"])

    def load_pretrained(self, arch, files):
        from omegaconf import OmegaConf

        config = OmegaConf.load(files["config"])
        released = {"generator": OmegaConf.to_container(config.generator.config),
                    "input_scale": float(config.audio_norm_scale)}
        if config.generator.name != "SoundStream":
            raise ValueError(f"{self.name}: {files['config']} builds {config.generator.name}, not SoundStream")
        _released_config.check(self.name, {"generator": arch["generator"], "input_scale": self.settings["input_scale"]},
                               released, files["config"])
        model = self.build(arch)
        model.load_state_dict(_state_dict(self.name, files["model"]))
        return model

    @torch.no_grad()
    def randomize(self, model, seed):
        """Balance the acoustic and semantic encoders (and the random HuBERT) on a speech-like probe, draw the
        k-means codebooks from the fused frames they hand the quantizer (marked initialised, or the first input would
        run k-means), then balance the decoder through encode/decode (codec_wrappers._random_weights)."""
        probe = speech_like_probe(self.sample_rate, seed)
        latents, done = balanced_quantizer_input(model, probe, method="forward")
        fill_kmeans_codebooks(model.quantizer.vq.layers, latents[0].T, seed)
        balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        scale, bandwidth = self.settings["input_scale"], self.settings["bandwidth"]
        return torch.stack([self.model.decode(self.model.encode(item[None, None] * scale, target_bw=bandwidth))[0, 0]
                            for item in wav])


def _state_dict(name: str, path) -> dict:
    """The checkpoint's tensors, read with `weights_only=True`. io.BytesIO is allowed (inert: bytes and a position)
    and its entries dropped, as transformers' conversion of these same files reads them; nothing else is unpickled."""
    try:
        with torch.serialization.safe_globals([io.BytesIO]):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(f"{name}: {path} is not a plain state dict of tensors, so it is not read "
                         f"(weights_only: {str(error).splitlines()[0]})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{name}: {path} holds a {type(state).__name__}, not a state dict")
    return {key: value for key, value in state.items() if not isinstance(value, io.BytesIO)}


WRAPPER = XcodecWrapper
