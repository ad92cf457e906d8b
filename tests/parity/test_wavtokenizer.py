"""Wrapper == WavTokenizer's README usage (jishengpeng/WavTokenizer at the pinned commit), on the same seeded weights.

The reference model is a new one built by the repository's own loader, `WavTokenizer.from_pretrained0802`, from the
repository's config of the released small 75-token model and a checkpoint holding the wrapper's weights (loaded
strictly: the registry's architecture must be that config's). The medium model's config is on the hub only.
"""
from __future__ import annotations

import torch

from codecfake import codec_loading
from tests.parity import upstream

ROOT = upstream.source_or_skip("decoder", "WavTokenizer")
SMALL_CONFIG = "configs/wavtokenizer_smalldata_frame75_3s_nq1_code4096_dim512_kmeans200_attn.yaml"
RATE, HOP = 24000, 320  # the paper: 24 kHz, 75 tokens per second, one 4096-entry codebook


def test_small_matches_readme_usage(tmp_path, speech_16k):
    from decoder.pretrained import WavTokenizer
    from encoder.utils import convert_audio

    from codecfake.audio import resample

    wrapper = codec_loading.load("wavtokenizer_small_320_24k_4096", weights="random", seed=13)
    assert wrapper.sample_rate == RATE
    torch.save({"state_dict": wrapper.model.state_dict()}, tmp_path / "model.ckpt")
    reference_model = WavTokenizer.from_pretrained0802(str(ROOT / SMALL_CONFIG), str(tmp_path / "model.ckpt"))
    wav = convert_audio(torch.from_numpy(resample(speech_16k, 16000, RATE))[None], RATE, RATE, 1)
    bandwidth_id = torch.tensor([0])
    with torch.no_grad():
        features, codes = reference_model.encode_infer(wav, bandwidth_id=bandwidth_id)
        reference = reference_model.decode(features, bandwidth_id=bandwidth_id)
    assert codes.shape[0] == 1 and abs(codes.shape[-1] - wav.shape[-1] / HOP) <= 1
    assert len(codes.unique()) > 10, "the codes do not follow the input: the comparison would prove little"
    ours = wrapper.resynthesize(wav)
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max() <= 1e-5
