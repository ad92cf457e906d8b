"""Wrapper == Vocos' documented reconstruction from EnCodec tokens, on the same seeded weights."""
from __future__ import annotations

import pytest
import torch

from codecfake import codec_loading

pytest.importorskip("vocos")


@pytest.mark.parametrize("name,bandwidth_id", [("vocos_encodec_6", 2), ("vocos_encodec_12", 3)])
def test_matches_codes_to_features_route(name, bandwidth_id, speech_16k):
    wrapper = codec_loading.load(name, weights="random", seed=5)
    vocos = wrapper.model
    encodec_model = vocos.feature_extractor.encodec
    encodec_model.set_target_bandwidth(vocos.feature_extractor.bandwidths[bandwidth_id])
    wav = torch.from_numpy(speech_16k)[None]
    with torch.no_grad():
        codes = encodec_model.encode(wav[:, None])[0][0].transpose(0, 1)  # [n_q, B, frames]
        features = vocos.codes_to_features(codes)
        reference = vocos.decode(features, bandwidth_id=torch.tensor([bandwidth_id]))
    assert (wrapper.resynthesize(wav) - reference).abs().max() <= 1e-5
