"""Parity: the DAC wrapper equals the CodecFake pipeline's DAC path ([79], AudioDecBenchmark vctk,
base_codec/descript_audio_codec.py) run through the `dac` package itself: `model.decompress(model.compress(
AudioSignal(x, sr)))` with compress's defaults (1 s windows, -16 LUFS), on a separately built `dac.DAC` holding the
wrapper's seeded weights.

The reference model's hyper-parameters are the released 24 kHz model's (dac 1.0.0 `conf/final/24khz.yml`, the
`kwargs` stored in weights_24khz.pth), written here rather than read from the registry. The clip is longer than
compress's 1 s window, so the chunked route (padding off, delay zero-padding) runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from codecfake import codec_loading

dac = pytest.importorskip("dac")

DAC_24KHZ = {"encoder_dim": 64, "encoder_rates": [2, 4, 5, 8], "decoder_dim": 1536, "decoder_rates": [8, 5, 4, 2],
             "n_codebooks": 32, "codebook_size": 1024, "codebook_dim": 8, "sample_rate": 24000}


@pytest.fixture(scope="module")
def wrapper():
    return codec_loading.load("DAC24", weights="random", seed=7)


@pytest.fixture(scope="module")
def reference(wrapper):
    model = dac.DAC(**DAC_24KHZ)
    model.load_state_dict(wrapper.model.state_dict())
    assert model is not wrapper.model
    return model.eval()


def test_matches_compress_decompress_route(wrapper, reference, speech_16k):
    from audiotools import AudioSignal

    # 1.5 s at 24 kHz (a 16 kHz clip read as 24 kHz: only the length matters here), far from -16 LUFS.
    wav = torch.from_numpy(np.concatenate([speech_16k, speech_16k[:12000]]))[None] * 0.3
    with torch.no_grad():
        compressed = reference.compress(AudioSignal(wav.numpy(), 24000))
        expected = reference.decompress(compressed).audio_data[:, 0]
    assert compressed.codes.shape[1] == 32 and compressed.padding is False
    got = wrapper.resynthesize(wav)
    assert got.shape == wav.shape
    assert expected.abs().max() > 0
    assert (got - expected).abs().max() <= 1e-5


def test_item_of_one_window_keeps_its_length(wrapper, reference, speech_16k):
    """At most one window is encoded whole; dac's own decompress fails on this 1 s item (23992 of 24000 samples)."""
    from audiotools import AudioSignal

    wav = torch.from_numpy(speech_16k[:24000])[None]
    with pytest.raises(RuntimeError):
        reference.decompress(reference.compress(AudioSignal(wav.numpy(), 24000)))
    got = wrapper.resynthesize(wav)
    assert got.shape == wav.shape and got[:, :23000].abs().max() > 0
