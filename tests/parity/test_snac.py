"""Parity: the SNAC wrapper equals the README's `from_pretrained` / `encode` / `decode` on the same seeded weights.

The wrapper's random weights are written in the hub layout (config.json + pytorch_model.bin) with the RELEASED
config.json (hub hubertsiuzdak/snac_24khz and snac_44khz, written here, not read from the registry), loaded back
through `SNAC.from_pretrained(folder)` and run as the README does, with the decoder's noise drawn from the same seed.
"""
from __future__ import annotations

import json

import pytest
import torch

from codec_wrappers.snac import NOISE_SEED
from codecfake import codec_loading
from codecfake.audio import TARGET_RATE, resample
from tests.test_released_configs import SNAC44_RELEASED

snac = pytest.importorskip("snac")

TOLERANCE = 1e-5
#: config.json of hubertsiuzdak/snac_24khz (hub file page).
SNAC24_RELEASED = {"sampling_rate": 24000, "encoder_dim": 48, "encoder_rates": [2, 4, 8, 8], "decoder_dim": 1024,
                   "decoder_rates": [8, 8, 4, 2], "attn_window_size": None, "codebook_size": 4096, "codebook_dim": 8,
                   "vq_strides": [4, 2, 1], "noise": True, "depthwise": True}
RELEASED = {"snac_24khz": SNAC24_RELEASED, "snac_44khz": {**SNAC44_RELEASED, "noise": True, "depthwise": True}}
NAMES = ["snac_24khz", pytest.param("snac_44khz", marks=pytest.mark.slow)]


@pytest.fixture(scope="module", params=NAMES)
def wrapper(request):
    return codec_loading.load(request.param, weights="random", seed=0)


@pytest.fixture(scope="module")
def wav(wrapper, speech_16k):
    """0.3 s of speech at the codec's rate (SNAC-44k runs ~5x slower than real time on one CPU core)."""
    return torch.from_numpy(resample(speech_16k[: TARGET_RATE * 3 // 10], TARGET_RATE, wrapper.sample_rate))[None]


@pytest.fixture(scope="module")
def wrapper_output(wrapper, wav):
    return wrapper.resynthesize(wav)


@pytest.fixture(scope="module")
def checkpoint(wrapper, tmp_path_factory):
    folder = tmp_path_factory.mktemp(wrapper.name)
    (folder / "config.json").write_text(json.dumps(RELEASED[wrapper.name]))
    torch.save(wrapper.model.state_dict(), folder / "pytorch_model.bin")
    return {"config": folder / "config.json", "model": folder / "pytorch_model.bin"}


def readme_resynthesis(folder, wav: torch.Tensor) -> torch.Tensor:
    model = snac.SNAC.from_pretrained(str(folder)).eval()
    torch.manual_seed(NOISE_SEED)
    with torch.inference_mode():
        codes = model.encode(wav[:, None])
        return model.decode(codes)[:, 0]


def test_wrapper_equals_documented_encode_decode(wav, checkpoint, wrapper_output):
    expected = readme_resynthesis(checkpoint["model"].parent, wav)
    assert wrapper_output.shape[-1] == wav.shape[-1] <= expected.shape[-1]
    assert (wrapper_output - expected[:, : wav.shape[-1]]).abs().max().item() <= TOLERANCE
    assert expected.abs().max().item() > 0


def test_decoder_noise_is_reproducible_and_leaves_the_global_rng_alone(wrapper, wav, wrapper_output):
    torch.manual_seed(2)
    again = wrapper.resynthesize(wav)
    after = torch.rand(1)
    torch.manual_seed(2)
    assert torch.equal(again, wrapper_output)
    assert torch.equal(after, torch.rand(1))


def test_pretrained_path_loads_the_same_weights(wrapper, wav, checkpoint, wrapper_output):
    loaded = codec_loading.create(wrapper.name)
    loaded.model = loaded.load_pretrained(wrapper.entry.architecture_params(), checkpoint).eval()
    assert (loaded.resynthesize(wav) - wrapper_output).abs().max().item() <= TOLERANCE


def test_pretrained_path_rejects_another_architecture(wrapper, checkpoint, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({**RELEASED[wrapper.name], "codebook_size": 1024}))
    (tmp_path / "pytorch_model.bin").symlink_to(checkpoint["model"])
    files = {"config": tmp_path / "config.json", "model": tmp_path / "pytorch_model.bin"}
    with pytest.raises(ValueError, match="codebook_size"):
        codec_loading.create(wrapper.name).load_pretrained(wrapper.entry.architecture_params(), files)
