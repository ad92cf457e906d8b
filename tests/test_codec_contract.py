"""The contract every codec wrapper passes, over all registered configurations.

Where the family's package imports here, the codec is built offline with seeded random weights (codebooks
filled) and run on 1.5 s of speech through the pipeline's own batch path: finite output, exactly the input's
length at 16 kHz, output that depends on the input, and the declared native rate honoured.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from codecfake import codec_loading, registry
from codecfake.audio import TARGET_RATE, resample
from codecfake.resynth import resynthesize_batch

ENTRIES = list(registry.codecs().values())


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def get(entry):
        if entry.protocol_name not in cache:
            cache[entry.protocol_name] = codec_loading.load(entry.protocol_name, weights="random", seed=0)
        return cache[entry.protocol_name]

    return get


def _importable_or_skip(entry):
    if not entry.importable():
        requires = ", ".join(entry.wrapper_class().requires) if _wrapper_imports(entry) else entry.wrapper
        pytest.skip(f"{entry.family}: {requires} not importable in this environment (install {entry.env})")


def _wrapper_imports(entry) -> bool:
    try:
        entry.wrapper_class()
        return True
    except ImportError:
        return False


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.protocol_name)
def test_contract(entry, loaded, speech_16k):
    _importable_or_skip(entry)
    codec = loaded(entry)
    assert codec.sample_rate == entry.sample_rate
    model_rate = getattr(codec.model, "sample_rate", None)
    if model_rate is not None:
        assert int(model_rate) == entry.sample_rate, "the model's own rate differs from the registry's"

    wave = resample(speech_16k, TARGET_RATE, codec.sample_rate)
    raw = codec.resynthesize(torch.from_numpy(wave)[None])
    assert abs(raw.shape[-1] - len(wave)) <= 2 * codec.hop_length + codec.delay_samples, \
        "decoded length is off by more than two frames: wrong native rate or hop"

    other = speech_16k[::-1].copy() * 0.5
    out, out_other = resynthesize_batch(codec, [wave, resample(other, TARGET_RATE, codec.sample_rate)],
                                        [len(speech_16k), len(speech_16k)])
    assert out.dtype == np.float32 and len(out) == len(speech_16k) == len(out_other)
    assert np.isfinite(out).all() and np.isfinite(out_other).all()
    assert np.abs(out).max() > 0, "silent output"
    assert np.abs(out - out_other).max() > 1e-6, "output does not depend on the input"
