"""Parity: the Vocos wrapper equals Vocos' documented reconstruction from EnCodec tokens (README: encode with
EnCodec at the chosen bandwidth, `codes_to_features`, `decode(features, bandwidth_id)`), on a separately built Vocos
holding the wrapper's seeded weights.

The reference is built by the package's own `Vocos.from_hparams` from the released config.yaml of
charactr/vocos-encodec-24khz (tests.test_released_configs.VOCOS_RELEASED, copied from the hub, not the registry),
with the `encodec` package's own 24 kHz factory (pretrained=False: no download). The bandwidth ids are the README's
(bandwidths [1.5, 3, 6, 12] kbps)."""
from __future__ import annotations

from unittest import mock

import pytest
import torch
import yaml

from codecfake import codec_loading
from tests.test_released_configs import VOCOS_RELEASED

vocos = pytest.importorskip("vocos")
encodec = pytest.importorskip("encodec")


def released_vocos(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(VOCOS_RELEASED))
    package_factory = encodec.EncodecModel.encodec_model_24khz
    factory = mock.Mock(side_effect=lambda **kwargs: package_factory(pretrained=False))
    with mock.patch("vocos.feature_extractors.EncodecModel.encodec_model_24khz", factory):
        return vocos.Vocos.from_hparams(str(config))


@pytest.mark.parametrize("name,bandwidth_kbps,bandwidth_id", [("vocos_encodec_6", 6.0, 2),
                                                               ("vocos_encodec_12", 12.0, 3)])
def test_matches_codes_to_features_route(name, bandwidth_kbps, bandwidth_id, speech_16k, tmp_path):
    wrapper = codec_loading.load(name, weights="random", seed=5)
    reference = released_vocos(tmp_path)
    reference.load_state_dict(wrapper.model.state_dict())
    reference.eval()
    encodec_model = reference.feature_extractor.encodec
    encodec_model.set_target_bandwidth(bandwidth_kbps)
    wav = torch.from_numpy(speech_16k)[None]
    with torch.no_grad():
        codes = encodec_model.encode(wav[:, None])[0][0].transpose(0, 1)  # [n_q, B, frames]
        features = reference.codes_to_features(codes)
        expected = reference.decode(features, bandwidth_id=torch.tensor([bandwidth_id]))
    assert codes.shape[0] == {6.0: 8, 12.0: 16}[bandwidth_kbps]
    assert expected.abs().max() > 0
    assert (wrapper.resynthesize(wav) - expected).abs().max() <= 1e-5
