"""Parity: the Mimi wrapper equals transformers' documented MimiModel usage on the same seeded weights.

The wrapper's random model is saved with `save_pretrained`, loaded back with `MimiModel.from_pretrained` and run as
transformers' Mimi documentation does: the feature extractor, `encode(input_values, padding_mask)` with the
configuration's number of codebooks, `decode(audio_codes, padding_mask)`.
"""
from __future__ import annotations

import pytest
import torch

from codecfake import codec_loading
from codecfake.audio import TARGET_RATE, resample

transformers = pytest.importorskip("transformers")

NAME = "mini"
TOLERANCE = 1e-5
#: Mimi as published (model card: 1.1 kbps) and as kyutai's own loader builds it (moshi get_mimi: 8 codebooks).
NUM_QUANTIZERS = 8
pytestmark = pytest.mark.slow  # building the model takes ~10-30 s on 2 shared cores


@pytest.fixture(scope="module")
def wrapper():
    return codec_loading.load(NAME, weights="random", seed=0)


@pytest.fixture(scope="module")
def wav(wrapper, speech_16k):
    """1 s plus a partial 12.5 Hz frame."""
    return resample(speech_16k[: TARGET_RATE + 1000], TARGET_RATE, wrapper.sample_rate)


@pytest.fixture(scope="module")
def wrapper_output(wrapper, wav):
    return wrapper.resynthesize(torch.from_numpy(wav)[None])


@pytest.fixture(scope="module")
def folder(wrapper, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mimi")
    wrapper.model.save_pretrained(folder)
    return folder


def documented_resynthesis(folder, wav) -> torch.Tensor:
    model = transformers.MimiModel.from_pretrained(str(folder)).eval()
    feature_extractor = transformers.EncodecFeatureExtractor(feature_size=1, sampling_rate=24000)
    inputs = feature_extractor(raw_audio=wav, sampling_rate=feature_extractor.sampling_rate, return_tensors="pt")
    with torch.no_grad():
        encoded = model.encode(inputs["input_values"], inputs["padding_mask"],
                               num_quantizers=NUM_QUANTIZERS)
        return model.decode(encoded.audio_codes, inputs["padding_mask"])[0][:, 0]


def test_wrapper_equals_documented_encode_decode(wav, folder, wrapper_output):
    expected = documented_resynthesis(folder, wav)
    got = wrapper_output
    assert got.shape == expected.shape == (1, len(wav))
    assert (got - expected).abs().max().item() <= TOLERANCE
    assert expected.abs().max().item() > 0


def test_random_codebooks_make_codes_follow_the_input(wrapper, wav):
    with torch.no_grad():
        codes = wrapper.model.encode(torch.from_numpy(wav)[None, None], num_quantizers=NUM_QUANTIZERS).audio_codes
    assert codes.shape[1] == NUM_QUANTIZERS
    assert all(codes[0, level].unique().numel() > 1 for level in range(NUM_QUANTIZERS))


def test_pretrained_path_loads_the_same_weights(wrapper, wav, folder, wrapper_output):
    loaded = codec_loading.create(NAME)
    files = {"config": folder / "config.json", "model": folder / "model.safetensors"}
    loaded.model = loaded.load_pretrained(wrapper.entry.architecture_params(), files).eval()
    assert (loaded.resynthesize(torch.from_numpy(wav)[None]) - wrapper_output).abs().max().item() <= TOLERANCE


def test_pretrained_path_rejects_another_architecture(wrapper, folder):
    arch = {**wrapper.entry.architecture_params(), "num_hidden_layers": 4}
    files = {"config": folder / "config.json", "model": folder / "model.safetensors"}
    with pytest.raises(ValueError, match="num_hidden_layers"):
        codec_loading.create(NAME).load_pretrained(arch, files)
