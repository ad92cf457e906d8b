"""Wrapper == HILCodec's own loading and inference routine (aask1357/hilcodec at the pinned commit), same weights.

The reference follows the authors' inference notebook: `get_hparams(configs/hilcodec_speech.yaml)` ->
`get_wrapper(hps.model)(hps, device)` -> `.load(path=checkpoint)` (the wrapper's weights in the training
checkpoint layout, loaded strictly into the model built from the repository's own speech config) ->
`model(wav[1, 1, T], n=8)` on input trimmed to whole frames.
"""
from __future__ import annotations

import torch

from codecfake import codec_loading
from codecfake.audio import resample
from tests.parity import upstream

ROOT = upstream.source_or_skip("models", "hilcodec")
RATE, HOP, CODEBOOKS = 24000, 320, 8  # the paper: 24 kHz, strides 8*5*4*2 (75 Hz), 8 codebooks at 6 kbps


def test_matches_authors_routine(tmp_path, speech_16k):
    from models import get_wrapper
    from utils import get_hparams

    wrapper = codec_loading.load("hilcodec_speech", weights="random", seed=23)
    assert wrapper.sample_rate == RATE
    hps = get_hparams(str(ROOT / "configs" / "hilcodec_speech.yaml"), base_dir=str(tmp_path))
    authors = get_wrapper(hps.model)(hps, device="cpu")
    # A training checkpoint: the codec (the wrapper's weights) and the discriminators (untouched by inference).
    torch.save({"model": wrapper.model.state_dict(), "disc": authors.disc.state_dict(), "epoch": 0},
               tmp_path / "00000.pth")
    authors.load(path=str(tmp_path / "00000.pth"))
    reference_model = authors.model.eval()
    assert reference_model is not wrapper.model
    wav = resample(speech_16k, 16000, RATE)
    wav = torch.from_numpy(wav[: len(wav) // HOP * HOP])[None]
    with torch.no_grad():
        reference = reference_model(wav[:, None], n=CODEBOOKS)[0][:, 0]
    ours = wrapper.resynthesize(wav)
    assert ours.shape == reference.shape
    assert reference.pow(2).mean().sqrt() > 1e-3
    assert (ours - reference).abs().max() <= 1e-5
