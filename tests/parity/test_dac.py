"""Wrapper == the `dac` package's documented encode -> codes -> decode, on the same seeded weights."""
from __future__ import annotations

import pytest
import torch

import codec_wrappers

dac = pytest.importorskip("dac")


def test_matches_codes_route(speech_16k):
    wrapper = codec_wrappers.load("DAC24", weights="random", seed=7)
    model = wrapper.model
    wav = torch.from_numpy(speech_16k[:12000])[None]
    with torch.no_grad():
        x = model.preprocess(wav[:, None], 24000)
        _, codes, _, _, _ = model.encode(x)
        z, _, _ = model.quantizer.from_codes(codes)
        reference = model.decode(z)[:, 0]
    assert codes.shape[1] == 32
    assert (wrapper.resynthesize(wav) - reference).abs().max() <= 1e-5
