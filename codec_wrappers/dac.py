"""Descript Audio Codec (Kumar et al. 2023) through the `descript-audio-codec` package.

Follows the package's documented path: preprocess (right-pad to the hop), encode, decode from the quantized
latent; `settings.n_quantizers` (null = all) selects the bitrate.
"""
from __future__ import annotations

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

    def codec(self, wav):
        x = self.model.preprocess(wav.unsqueeze(1), self.sample_rate)
        z, *_ = self.model.encode(x, n_quantizers=self.settings.get("n_quantizers"))
        return self.model.decode(z).squeeze(1)


WRAPPER = DacWrapper
