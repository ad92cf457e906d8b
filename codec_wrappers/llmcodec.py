"""LLM-Codec (Yang et al. 2024, UniAudio 1.5): audio tokens in the vocabulary of a frozen LLM.

Follows the authors' infer_codec.py: `MSCodecLM(**config.yaml generator.config)` (the constructor reads the two
embedding tables named there), `load_state_dict(torch.load(ckpt)['codec_model'])`, then `encode` a [B, 1, T]
batch to three code levels and `decode` them; the decoder's output, padded to whole windows, is trimmed to the
input length. Like SNAC's, its decoder adds noise (the jobs seed torch per batch: codecfake.resynth.batch_seed).
The checkpoint holds the frozen codebooks too, so the embedding tables only have to exist with the right shapes
when the model is built: the random-weights build writes random tables (seeded by `load`). The repository is not a
package: its top-level `codec` module is what the scripts import.
"""
from __future__ import annotations

import tempfile
from functools import cached_property
from pathlib import Path

import torch
import yaml

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers.base import CodecWrapper

TABLES = {"local_embedding": "local_embedding_path", "global_embedding": "global_embedding_path"}


def mscodec(arch: dict, tables: dict[str, Path]):
    from codec.MSCodec import MSCodecLM

    config = {k: v for k, v in arch.items() if not k.endswith("_shape")}
    with checkpoint_loads():
        return MSCodecLM(**config, **{TABLES[key]: str(path) for key, path in tables.items()})


class LLMCodecWrapper(CodecWrapper):
    requires = ("codec",)

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["encoder_rates"]).prod())

    def build(self, arch):
        with tempfile.TemporaryDirectory() as tmp:
            local, global_ = Path(tmp) / "embed_llama2.pt", Path(tmp) / "layer1.pth"
            torch.save({"weight": torch.randn(arch["local_embedding_shape"])}, local)
            torch.save(torch.randn(arch["global_embedding_shape"]), global_)
            return mscodec(arch, {"local_embedding": local, "global_embedding": global_})

    def load_pretrained(self, arch, files):
        """The level-1 table (layer1.pth) is published nowhere; the checkpoint overwrites both tables (they are the
        quantizer's nn.Embedding weights, loaded strictly), so a zero table of its shape stands in for it."""
        released = yaml.safe_load(files["config"].read_text())["generator"]["config"]
        _released_config.check(self.name, {k: v for k, v in arch.items() if not k.endswith("_shape")}, released,
                               files["config"])
        with tempfile.TemporaryDirectory() as tmp:
            global_ = Path(tmp) / "layer1.pth"
            torch.save(torch.zeros(arch["global_embedding_shape"]), global_)
            model = mscodec(arch, {"local_embedding": files["local_embedding"], "global_embedding": global_})
        # Read through checkpoint_loads(): weights only, with the allowlist (the training args are a Namespace).
        with checkpoint_loads():
            model.load_state_dict(torch.load(files["model"])["codec_model"])
        return model

    def codec(self, wav):
        codes = self.model.encode(wav.unsqueeze(1))
        return self.model.decode(codes).squeeze(1)[:, : wav.shape[-1]]


WRAPPER = LLMCodecWrapper
