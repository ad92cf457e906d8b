"""EnCodec (Défossez et al. 2022) through the `encodec` package, at a fixed target bandwidth."""
from __future__ import annotations

import torch

from codec_wrappers._codebooks import fill_euclidean_codebooks
from codec_wrappers.base import CodecWrapper


def build_encodec(arch: dict):
    """The `encodec` package's own model factory, driven by the registry's hyper-parameters."""
    from encodec import EncodecModel

    params = {k: v for k, v in arch.items() if k != "checkpoint_name"}
    return EncodecModel._get_model(**params)


def load_encodec_checkpoint(arch: dict, path) -> torch.nn.Module:
    """Released EnCodec weights, checked by the package's own loader (hash in the file name)."""
    from encodec import EncodecModel

    model = build_encodec(arch)
    model.load_state_dict(EncodecModel._get_pretrained(arch["checkpoint_name"], repository=path.parent))
    return model


def randomize_encodec(model, seed: int) -> None:
    """Fill the all-zero RVQ codebooks at the scale of the encoder's output on a seeded probe signal."""
    probe = torch.randn(1, model.channels, model.sample_rate, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        scale = model.encoder(probe * 0.1).std()
    fill_euclidean_codebooks(model.quantizer.vq.layers, scale, seed)


class EncodecWrapper(CodecWrapper):
    requires = ("encodec",)
    causal = True

    @property
    def hop_length(self) -> int:
        return self.model.encoder.hop_length if self.model is not None else 320

    def build(self, arch):
        return build_encodec(arch)

    def load_pretrained(self, arch, files):
        return load_encodec_checkpoint(arch, files["model"])

    def randomize(self, model, seed):
        randomize_encodec(model, seed)

    def load(self, *args, **kwargs):
        super().load(*args, **kwargs)
        self.model.set_target_bandwidth(float(self.settings["bandwidth"]))
        return self

    def codec(self, wav):
        frames = self.model.encode(wav.unsqueeze(1))
        return self.model.decode(frames).squeeze(1)


WRAPPER = EncodecWrapper
