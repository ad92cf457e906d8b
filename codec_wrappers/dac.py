"""Descript Audio Codec (Kumar et al. 2023) through the `descript-audio-codec` package.

Follows the CodecFake pipeline the CodecFake+ paper built its CoRS set with ([79], roger-tseng/AudioDecBenchmark
branch vctk, base_codec/descript_audio_codec.py), not the README's preprocess/encode/decode: `compress` then
`decompress` with their defaults. compress normalises each item to -16 LUFS, encodes 1 s windows with the model's
padding off (the signal zero-padded by the model's delay on both sides; an item of at most one window is encoded
whole with padding on), and decompress decodes window by window and restores the input's loudness. The settings
are compress's arguments: `win_duration`, `normalize_db`, `n_quantizers` (null = all).
"""
from __future__ import annotations

import torch

from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    fill_factorized_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper


class DacWrapper(CodecWrapper):
    requires = ("dac",)

    @property
    def hop_length(self) -> int:
        return int(self.model.hop_length) if self.model is not None else 320

    def build(self, arch):
        import dac

        return dac.DAC(**arch)

    def load_pretrained(self, arch, files):
        import dac

        model = dac.DAC.load(str(files["model"]), strict=True)
        released = {k: model.metadata["kwargs"].get(k) for k in arch}
        if released != arch:
            raise ValueError(f"{self.name}: checkpoint hyper-parameters {released} differ from {arch}")
        return model

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the encoder on a speech-like
        probe, draw each residual codebook from its projected latents, balance the decoder."""
        probe = model.preprocess(speech_like_probe(self.sample_rate, seed, seconds=1.0), self.sample_rate)
        done = balance_gains(model.encoder, lambda: model.encoder(probe))
        fill_factorized_codebooks(model.quantizer.quantizers, model.encoder(probe), seed)
        balance_through_codec(self, model, probe, skip=[*done, *model.quantizer.modules()])

    def codec(self, wav):
        from audiotools import AudioSignal

        compressed = self.model.compress(AudioSignal(wav.unsqueeze(1), self.sample_rate),
                                         win_duration=self.settings["win_duration"],
                                         normalize_db=self.settings["normalize_db"],
                                         n_quantizers=self.settings.get("n_quantizers"))
        if compressed.padding:
            return self._decompress_whole(compressed, wav.shape[-1])
        return self.model.decompress(compressed).audio_data.squeeze(1)

    def _decompress_whole(self, compressed, length: int):
        """decompress for an item of at most one window (encoded whole, padding on). There dac's decoder can return
        a few samples fewer than the input (23992 of 24000 at 24 kHz), and decompress then fails to reshape its
        output; it runs on the decoded length and the missing tail is zero-filled."""
        with torch.no_grad():
            z = self.model.quantizer.from_codes(compressed.codes.to(self.device))[0]
            original_padding, self.model.padding = self.model.padding, True
            decoded = self.model.decode(z).shape[-1]
            self.model.padding = original_padding
        compressed.original_length = min(length, decoded)
        out = self.model.decompress(compressed).audio_data.squeeze(1)
        return torch.nn.functional.pad(out, (0, length - out.shape[-1]))


WRAPPER = DacWrapper
