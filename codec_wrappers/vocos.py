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

from codec_wrappers._random_weights import balance_through_codec, speech_like_probe
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
        and head's gains through the wrapper's own encode/decode."""
        extractor = model.feature_extractor
        randomize_encodec(extractor.encodec, seed)
        books = [vq.codebook for vq in extractor.encodec.quantizer.vq.layers[: extractor.num_q]]
        extractor.codebook_weights.data.copy_(torch.cat(books, dim=0))
        with torch.no_grad():
            balance_through_codec(self, model, speech_like_probe(self.sample_rate, seed),
                                  skip=set(extractor.encodec.modules()))

    def load_pretrained(self, arch, files):
        encodec_model = load_encodec_checkpoint(arch["encodec"], files["encodec"])
        model = self._from_hparams(arch, encodec_model)
        state = torch.load(files["model"], map_location="cpu")
        state.update({"feature_extractor.encodec." + k: v for k, v in encodec_model.state_dict().items()})
        model.load_state_dict(state)
        return model

    def bandwidth_id(self) -> torch.Tensor:
        bandwidths = self.model.feature_extractor.bandwidths
        return torch.tensor([bandwidths.index(float(self.settings["bandwidth"]))], device=self.device)

    def codec(self, wav):
        return self.model(wav, bandwidth_id=self.bandwidth_id())


WRAPPER = VocosWrapper
