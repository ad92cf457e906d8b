"""Language-Codec (Ji et al. 2024): 8-codebook masked-channel RVQ at 75 Hz (24 kHz, hop 320), Vocos decoder.

Its `languagecodec_decoder` builds the EnCodec container from the PyPI `encodec` package. Usage and loader are
shared with WavTokenizer (codec_wrappers._vocos_tokenizer).
"""
from __future__ import annotations

from codec_wrappers._vocos_tokenizer import VocosTokenizerWrapper


class LanguageCodecWrapper(VocosTokenizerWrapper):
    requires = ("languagecodec_decoder", "languagecodec_encoder", "encodec")

    def model_class(self):
        from languagecodec_decoder.pretrained import Vocos

        return Vocos


WRAPPER = LanguageCodecWrapper
