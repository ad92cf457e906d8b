"""Codecs that transformers implements (Mimi, X-Codec): one build/load path for all of them.

Random weights come from the model's Config class with the registry's hyper-parameters; released weights from
`from_pretrained` on the folder holding the pinned `config.json` and `model.safetensors`, after checking that config
against the registry. Their residual quantizers initialise every codebook to zeros, so `randomize` needs the vectors
that reach the quantizer: `quantizer_input` records them on a seeded probe through the model's own `encode`.
"""
from __future__ import annotations

from unittest import mock

import torch

from codec_wrappers import _released_config
from codec_wrappers._feature_codebooks import probe_signal
from codec_wrappers.base import CodecWrapper


class TransformersCodecWrapper(CodecWrapper):
    requires = ("transformers",)
    #: transformers class names of the model and its config.
    model_class: str
    config_class: str

    def _classes(self):
        import transformers

        return getattr(transformers, self.model_class), getattr(transformers, self.config_class)

    def build(self, arch):
        model_class, config_class = self._classes()
        return model_class(config_class(**arch))

    def load_pretrained(self, arch, files):
        """`from_pretrained` on the pinned files. Their config.json may leave out values equal to the class defaults,
        so the check reads the configuration as transformers resolves it."""
        model_class, config_class = self._classes()
        folder = files["model"].parent
        if files["config"].parent != folder:
            raise ValueError(f"{self.name}: config.json and model.safetensors must share a folder, got {files}")
        config = config_class.from_pretrained(str(folder))
        released = {key: _plain(getattr(config, key, None)) for key in arch}
        _released_config.check(self.name, arch, released, files["config"])
        return model_class.from_pretrained(str(folder), config=config)


def _plain(value):
    """Sub-configurations (X-Codec's acoustic and semantic models) as dicts, to compare key by key."""
    return value.to_dict() if hasattr(value, "to_dict") else value


def quantizer_input(model, samples: int, seed: int) -> torch.Tensor:
    """The [B, D, frames] embeddings `model.encode` hands to `model.quantizer.encode` for `samples` of seeded noise."""
    seen = []
    original = model.quantizer.encode

    def record(embeddings, *args, **kwargs):
        seen.append(embeddings.detach())
        return original(embeddings, *args, **kwargs)

    probe = probe_signal(samples, seed)
    with torch.no_grad(), mock.patch.object(model.quantizer, "encode", record):
        model.encode(probe)
    return seen[0]
