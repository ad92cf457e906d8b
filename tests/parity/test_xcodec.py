"""Parity: the X-Codec wrapper equals transformers' documented XcodecModel usage on the same seeded weights.

The wrapper's random model is saved with `save_pretrained`, loaded back with `XcodecModel.from_pretrained` and run as
transformers' X-Codec documentation does: the feature extractor, `encode(input_values, bandwidth)`,
`decode(audio_codes)`, on the input scaled by the authors' inference.py audio_norm_scale. The clip is not a whole
number of frames, so the feature extractor's padding matters.
"""
from __future__ import annotations

import pytest
import torch

from codecfake import codec_loading

transformers = pytest.importorskip("transformers")

NAME = "xcodec_hubert_libirispeech"
TOLERANCE = 1e-5
#: 4 kbps: every one of the 8 codebooks (0.5 kbps each), the released models' highest and transformers' default.
BANDWIDTH = 4.0
#: zhenye234/xcodec inference.py scales the input by the training config's audio_norm_scale.
AUDIO_NORM_SCALE = 0.95
pytestmark = pytest.mark.slow  # building the model takes ~10-30 s on 2 shared cores


@pytest.fixture(scope="module")
def wrapper():
    return codec_loading.load(NAME, weights="random", seed=0)


@pytest.fixture(scope="module")
def wav(speech_16k):
    return speech_16k[:16123]


@pytest.fixture(scope="module")
def wrapper_output(wrapper, wav):
    return wrapper.resynthesize(torch.from_numpy(wav)[None])


@pytest.fixture(scope="module")
def folder(wrapper, tmp_path_factory):
    folder = tmp_path_factory.mktemp("xcodec")
    wrapper.model.save_pretrained(folder)
    return folder


def documented_resynthesis(folder, wav) -> torch.Tensor:
    model = transformers.XcodecModel.from_pretrained(str(folder)).eval()
    feature_extractor = transformers.DacFeatureExtractor(feature_size=1, sampling_rate=16000, hop_length=320)
    # zhenye234/xcodec inference.py: wav * config.audio_norm_scale (0.95 in the repository's training config).
    inputs = feature_extractor(raw_audio=wav * AUDIO_NORM_SCALE, sampling_rate=feature_extractor.sampling_rate,
                               return_tensors="pt")
    with torch.no_grad():
        codes = model.encode(inputs["input_values"], bandwidth=BANDWIDTH).audio_codes
        return model.decode(codes).audio_values[:, 0]


def test_wrapper_equals_documented_encode_decode(wav, folder, wrapper_output):
    expected = documented_resynthesis(folder, wav)
    got = wrapper_output
    assert got.shape[-1] == len(wav) < expected.shape[-1]
    assert (got - expected[:, : len(wav)]).abs().max().item() <= TOLERANCE
    assert expected.abs().max().item() > 0


def test_random_codebooks_make_codes_follow_the_input(wrapper, wav):
    with torch.no_grad():
        codes = wrapper.model.encode(torch.from_numpy(wav)[None, None], bandwidth=BANDWIDTH).audio_codes
    assert codes.shape[1] == 8
    assert all(codes[0, level].unique().numel() > 1 for level in range(8))


def test_pretrained_path_loads_the_same_weights(wrapper, wav, folder, wrapper_output):
    loaded = codec_loading.create(NAME)
    files = {"config": folder / "config.json", "model": folder / "model.safetensors"}
    loaded.model = loaded.load_pretrained(wrapper.entry.architecture_params(), files).eval()
    assert (loaded.resynthesize(torch.from_numpy(wav)[None]) - wrapper_output).abs().max().item() <= TOLERANCE


def test_pretrained_path_rejects_another_architecture(wrapper, folder):
    arch = wrapper.entry.architecture_params()
    arch["semantic_model_config"] = {**arch["semantic_model_config"], "num_hidden_layers": 6}
    files = {"config": folder / "config.json", "model": folder / "model.safetensors"}
    with pytest.raises(ValueError, match="semantic_model_config.num_hidden_layers"):
        codec_loading.create(NAME).load_pretrained(arch, files)
