"""Vocos-EnCodec (Siuzdak 2023): EnCodec's RVQ tokens decoded by Vocos' Fourier-domain vocoder.

Vocos' EncodecFeatures builds its EnCodec with `pretrained=True` (a download from inside the constructor). The
wrapper hands it the EnCodec model it has built itself (random, or loaded from the verified checkpoint), so no
hidden download happens and the offline random build uses the same classes.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import torch
import yaml

from codec_wrappers._random_weights import (
    balance_through_codec,
    fit_level_readout,
    level_reference,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper
from codec_wrappers.encodec import (
    build_encodec,
    load_encodec_checkpoint,
    randomize_encodec,
)


class VocosWrapper(CodecWrapper):
    requires = ("vocos", "encodec")

    @property
    def hop_length(self) -> int:
        return 320

    def _from_hparams(self, arch: dict, encodec_model):
        from vocos import Vocos

        hparams = {k: v for k, v in arch.items() if k != "encodec"}
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(yaml.safe_dump(hparams))
            factory = mock.Mock(return_value=encodec_model)
            with mock.patch("vocos.feature_extractors.EncodecModel.encodec_model_24khz", factory):
                return Vocos.from_hparams(str(config))

    def build(self, arch):
        return self._from_hparams(arch, build_encodec(arch["encodec"]))

    def randomize(self, model, seed):
        """Randomize EnCodec (encodec.randomize_encodec), copy its codebooks into the table Vocos embeds codes with
        (upstream does so at construction, when the codebooks were still empty), then balance the Vocos backbone
        and head's gains through the wrapper's own encode/decode, and fit the head's magnitude rows so the output's
        level follows the frames' (fit_level_readout: the backbone ends in a LayerNorm, which leaves the balanced
        head nothing of the input's loudness)."""
        extractor = model.feature_extractor
        randomize_encodec(extractor.encodec, seed)
        books = [vq.codebook for vq in extractor.encodec.quantizer.vq.layers[: extractor.num_q]]
        extractor.codebook_weights.data.copy_(torch.cat(books, dim=0))
        with torch.no_grad():
            probe = speech_like_probe(self.sample_rate, seed)
            balance_through_codec(self, model, probe,
                                  skip=set(extractor.encodec.modules()))
            fit_magnitude_rows(model, probe, self._bandwidth_id(model), seed)

    def load_pretrained(self, arch, files):
        encodec_model = load_encodec_checkpoint(arch["encodec"], files["encodec"])
        model = self._from_hparams(arch, encodec_model)
        state = torch.load(files["model"], map_location="cpu")
        state.update({"feature_extractor.encodec." + k: v for k, v in encodec_model.state_dict().items()})
        model.load_state_dict(state)
        return model

    def _bandwidth_id(self, model) -> torch.Tensor:
        bandwidths = model.feature_extractor.bandwidths
        return torch.tensor([bandwidths.index(float(self.settings["bandwidth"]))], device=self.device)

    def codec(self, wav):
        return self.model(wav, bandwidth_id=self._bandwidth_id(self.model))


def fit_magnitude_rows(model, probe: torch.Tensor, bandwidth_id: torch.Tensor, seed: int) -> None:
    """A loudness reference in the backbone's first convolution (`level_reference`), then `fit_level_readout` on
    the ISTFT head's magnitude rows (its first n_fft/2 + 1 outputs), from what the head sees of the [1, 1, T] probe
    and the probe's STFT magnitudes on the head's own frames. The phase rows lose their share of the reference, so
    phases come from the codes alone: silence and noise then differ in phase as well as level (with it, their
    outputs correlated 0.39 to 0.58 over seeds 0-2)."""
    codes = model.feature_extractor(probe[:, 0], bandwidth_id=bandwidth_id)
    direction = level_reference(model.backbone.embed, model.backbone.embed(codes)[0].T, seed)
    features = model.backbone(codes, bandwidth_id=bandwidth_id)[0]
    istft = model.head.istft
    magnitudes = torch.stft(probe[0, 0], istft.n_fft, istft.hop_length, istft.win_length, istft.window,
                            center=True, return_complex=True).abs().T
    frames = min(len(features), len(magnitudes))
    bins = magnitudes.shape[1]
    fit_level_readout(model.head.out, slice(0, bins), features[:frames], direction, magnitudes[:frames])
    phase = model.head.out.weight[bins:]
    phase -= torch.outer(phase @ direction, direction)


WRAPPER = VocosWrapper
