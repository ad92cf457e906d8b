"""Wrapper == Language-Codec's README usage (jishengpeng/Languagecodec at the pinned commit), same seeded weights.

The reference model is a new one built by the repository's own loader, `Vocos.from_pretrained0802`, from the
repository's configs/languagecodec_mm.yaml and a checkpoint holding the wrapper's weights (loaded strictly: the
registry's architecture must be that config's).
"""
from __future__ import annotations

import torch

from codecfake import codec_loading
from tests.parity import upstream

ROOT = upstream.source_or_skip("languagecodec_decoder", "Languagecodec")
RATE, HOP, CODEBOOKS = 24000, 320, 8  # the paper: 24 kHz, 75 Hz frames, 8 codebooks (bandwidth_id 0 in the README)


def test_matches_readme_usage(tmp_path, speech_16k):
    from languagecodec_decoder.pretrained import Vocos
    from languagecodec_encoder.utils import convert_audio

    from codecfake.audio import resample

    wrapper = codec_loading.load("languagecodec", weights="random", seed=17)
    assert wrapper.sample_rate == RATE
    torch.save({"state_dict": wrapper.model.state_dict()}, tmp_path / "model.ckpt")
    reference_model = Vocos.from_pretrained0802(str(ROOT / "configs" / "languagecodec_mm.yaml"),
                                                str(tmp_path / "model.ckpt"))
    wav = convert_audio(torch.from_numpy(resample(speech_16k, 16000, RATE))[None], RATE, RATE, 1)
    bandwidth_id = torch.tensor([0])
    with torch.no_grad():
        features, codes = reference_model.encode_infer(wav, bandwidth_id=bandwidth_id)
        reference = reference_model.decode(features, bandwidth_id=bandwidth_id)
    assert codes.shape[0] == CODEBOOKS and abs(codes.shape[-1] - wav.shape[-1] / HOP) <= 1
    assert len(codes.unique()) > 10, "the codes do not follow the input: the comparison would prove little"
    ours = wrapper.resynthesize(wav)
    assert ours.shape == reference.shape
    assert (ours - reference).abs().max() <= 1e-5
