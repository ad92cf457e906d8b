"""Wrapper == the CodecFake pipeline's DAC path ([79], AudioDecBenchmark vctk, base_codec/descript_audio_codec.py):
`model.decompress(model.compress(AudioSignal(x, sr)))` with compress's defaults, on the same seeded weights.

The clip is longer than compress's 1 s window, so the chunked route (padding off, delay zero-padding) runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from codecfake import codec_loading

dac = pytest.importorskip("dac")


def test_matches_compress_decompress_route(speech_16k):
    from audiotools import AudioSignal

    wrapper = codec_loading.load("DAC24", weights="random", seed=7)
    model = wrapper.model
    # 1.5 s at 24 kHz (a 16 kHz clip read as 24 kHz: only the length matters here), far from -16 LUFS.
    wav = torch.from_numpy(np.concatenate([speech_16k, speech_16k[:12000]]))[None] * 0.3
    with torch.no_grad():
        compressed = model.compress(AudioSignal(wav.numpy(), 24000))
        reference = model.decompress(compressed).audio_data[:, 0]
    assert compressed.codes.shape[1] == 32 and compressed.padding is False
    got = wrapper.resynthesize(wav)
    assert got.shape == wav.shape
    assert (got - reference).abs().max() <= 1e-5


def test_item_of_one_window_keeps_its_length(speech_16k):
    """At most one window is encoded whole; dac's own decompress fails on this 1 s item (23992 of 24000 samples)."""
    wrapper = codec_loading.load("DAC24", weights="random", seed=7)
    wav = torch.from_numpy(speech_16k[:24000])[None]
    with pytest.raises(RuntimeError):
        from audiotools import AudioSignal

        wrapper.model.decompress(wrapper.model.compress(AudioSignal(wav.numpy(), 24000)))
    got = wrapper.resynthesize(wav)
    assert got.shape == wav.shape and got[:, :23000].abs().max() > 0
