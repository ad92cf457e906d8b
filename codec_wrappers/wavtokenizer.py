"""WavTokenizer (Ji et al. 2025): one 4096-entry codebook at 75 Hz (24 kHz, hop 320), Vocos-style decoder.

The repository is not a package; its top-level `decoder` and `encoder` modules are what its README imports. Usage
and loader are shared with Language-Codec (codec_wrappers._vocos_tokenizer).
"""
from __future__ import annotations

from codec_wrappers._vocos_tokenizer import VocosTokenizerWrapper


class WavTokenizerWrapper(VocosTokenizerWrapper):
    requires = ("decoder", "encoder")

    def model_class(self):
        from decoder.pretrained import WavTokenizer

        return WavTokenizer


WRAPPER = WavTokenizerWrapper
