"""Parity: the SpeechTokenizer wrapper equals the authors' documented usage on the same seeded weights.

The wrapper's random weights are saved as a state dict beside the RELEASED config.json (hub fnlp/SpeechTokenizer,
speechtokenizer_hubert_avg/config.json: its model hyper-parameters, written here, not read from the registry), loaded
back through the README's
`SpeechTokenizer.load_from_checkpoint`, and run as the README does (encode [1, 1, T], decode the concatenation of
RVQ-1 and the supplementary layers). The wrapper's own pretrained path is checked on the same files.
"""
from __future__ import annotations

import json

import pytest
import torch

from codecfake import codec_loading

speechtokenizer = pytest.importorskip("speechtokenizer")

NAME = "SpeechTokenizer_hubert_avg"
TOLERANCE = 1e-5
#: The model hyper-parameters of speechtokenizer_hubert_avg/config.json (hub fnlp/SpeechTokenizer); the file's
#: training-only keys (data paths, learning rates, loss weights) are left out: the model reads none of them.
RELEASED = {"n_filters": 64, "strides": [8, 5, 4, 2], "dimension": 1024, "semantic_dimension": 768,
            "bidirectional": True, "dilation_base": 2, "residual_kernel_size": 3, "n_residual_layers": 1,
            "lstm_layers": 2, "activation": "ELU", "codebook_size": 1024, "n_q": 8, "sample_rate": 16000}


@pytest.fixture(scope="module")
def wrapper():
    return codec_loading.load(NAME, weights="random", seed=0)


@pytest.fixture(scope="module")
def wav(speech_16k):
    return torch.from_numpy(speech_16k[:16000])[None]


@pytest.fixture(scope="module")
def wrapper_output(wrapper, wav):
    return wrapper.resynthesize(wav)


@pytest.fixture(scope="module")
def checkpoint(wrapper, tmp_path_factory):
    folder = tmp_path_factory.mktemp("speechtokenizer")
    config, model = folder / "config.json", folder / "SpeechTokenizer.pt"
    config.write_text(json.dumps(RELEASED))
    torch.save(wrapper.model.state_dict(), model)
    return {"config": config, "model": model}


def readme_resynthesis(model, wav: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        codes = model.encode(wav.unsqueeze(0))
        rvq_1, rvq_supplement = codes[:1, :, :], codes[1:, :, :]
        return model.decode(torch.cat([rvq_1, rvq_supplement], axis=0))[0]


def test_wrapper_equals_documented_encode_decode(checkpoint, wav, wrapper_output):
    upstream = speechtokenizer.SpeechTokenizer.load_from_checkpoint(str(checkpoint["config"]),
                                                                  str(checkpoint["model"])).eval()
    expected = readme_resynthesis(upstream, wav)
    assert wrapper_output.shape == expected.shape
    assert (wrapper_output - expected).abs().max().item() <= TOLERANCE
    assert expected.abs().max().item() > 0


def test_pretrained_path_loads_the_same_weights(wrapper, checkpoint, wav, wrapper_output):
    loaded = codec_loading.create(NAME)
    loaded.model = loaded.load_pretrained(wrapper.entry.architecture_params(), checkpoint).eval()
    assert (loaded.resynthesize(wav) - wrapper_output).abs().max().item() <= TOLERANCE


def test_pretrained_path_rejects_another_architecture(wrapper, checkpoint, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**RELEASED, "n_q": 4}))
    with pytest.raises(ValueError, match="n_q"):
        codec_loading.create(NAME).load_pretrained(wrapper.entry.architecture_params(),
                                                    {**checkpoint, "config": config})
