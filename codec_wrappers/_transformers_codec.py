"""Codecs that transformers implements (Mimi): one build/load path for all of them.

Random weights come from the model's Config class with the registry's hyper-parameters; released weights from
`from_pretrained` on the folder holding the pinned `config.json` and `model.safetensors`, after checking that config
against the registry. Their residual quantizers initialise every codebook to zeros, so `randomize` needs the vectors
that reach the quantizer (codec_wrappers._random_weights.balanced_quantizer_input).
"""
from __future__ import annotations

from codec_wrappers import _released_config
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
    """Sub-configurations as dicts, to compare key by key."""
    return value.to_dict() if hasattr(value, "to_dict") else value
