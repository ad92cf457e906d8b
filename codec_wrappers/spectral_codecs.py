"""Spectral Codecs (Langman et al. 2024, NeMo's mel codec: FSQ on mel bands, HiFi-GAN decoder) through NeMo.

Follows the model card of nvidia/mel-codec-22khz: `AudioCodecModel` (restored from the pinned .nemo file,
`restore_from(path, map_location="cpu")`, the offline form of its `from_pretrained`), `tokens, tokens_len =
model.encode(audio=[B, T], audio_len=[B])`, `audio, _ = model.decode(tokens=tokens, tokens_len=tokens_len)`, keyword
arguments only (NeMo's typecheck). The output is cut back to the input's length.
"""
from __future__ import annotations

import torch

from codec_wrappers import _released_config
from codec_wrappers._random_weights import balance_gains, balance_through_codec, speech_like_probe
from codec_wrappers.base import CodecWrapper

#: Config sections that define the network; the rest of a .nemo config is training set-up.
ARCHITECTURE_KEYS = ("sample_rate", "samples_per_frame", "audio_encoder", "audio_decoder", "vector_quantizer")


class SpectralCodecWrapper(CodecWrapper):
    requires = ("nemo",)

    @property
    def hop_length(self) -> int:
        return int(self.entry.architecture_params()["samples_per_frame"])

    def build(self, arch):
        from nemo.collections.tts.models import AudioCodecModel
        from omegaconf import OmegaConf

        return AudioCodecModel(cfg=OmegaConf.create(arch))

    def load_pretrained(self, arch, files):
        from nemo.collections.tts.models import AudioCodecModel
        from omegaconf import OmegaConf

        model = AudioCodecModel.restore_from(str(files["model"]), map_location="cpu")
        released = OmegaConf.to_container(model.cfg, resolve=True)
        _released_config.check(self.name, {key: arch[key] for key in ARCHITECTURE_KEYS}, released, files["model"])
        return model

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights). Finite scalar quantization needs no
        codebook, but with NeMo's initialisation the HiFi-GAN decoder's biases drown its input (silence and noise
        gave outputs correlated 0.92, two speech inputs differed by 4% of their level): balance the mel encoder on a
        speech-like probe, then the decoder through encode/decode."""
        model.eval()
        probe = speech_like_probe(self.sample_rate, seed)[:, 0]
        lengths = torch.tensor([probe.shape[-1]])
        balance_gains(model.audio_encoder, lambda: model.encode(audio=probe, audio_len=lengths))
        balance_through_codec(self, model, probe[:, None], skip=list(model.audio_encoder.modules()))

    def codec(self, wav):
        lengths = torch.full((wav.shape[0],), wav.shape[-1], dtype=torch.long, device=wav.device)
        tokens, tokens_len = self.model.encode(audio=wav, audio_len=lengths)
        audio, _ = self.model.decode(tokens=tokens, tokens_len=tokens_len)
        return audio[:, : wav.shape[-1]]


WRAPPER = SpectralCodecWrapper
