"""Wrapper == TiCodec's copy-synthesis script (y-ren16/TiCodec at the pinned commit, egs/TiCodec-24k-320d/
test_conv_1g*r_8g3k1s_cos_from_head.sh -> vqvae_copy_syn.py), on the same seeded weights, for each released model.

The script builds `VQVAE` from the recipe's own config of that model and a checkpoint of the wrapper's weights
(loaded strictly), removes weight norm and copy-synthesises a folder of wavs. The wrapper keeps its model with weight
norm removed: the checkpoint gets it back, as training saved it.
"""
from __future__ import annotations

import json

import pytest
import torch

from codecfake import codec_loading
from codecfake.audio import resample
from tests.parity import upstream

ROOT = upstream.source_or_skip("academicodec", "TiCodec")
RECIPE = ROOT / "egs" / "TiCodec-24k-320d"
RATE = 24000  # vqvae_copy_syn.py's default --sample_rate, which the recipe keeps (the paper's 24 kHz models)


@pytest.mark.parametrize("name,config", [
    ("ticodec_1g1r", "config_24k_320d_conv_1g1r_8g3k1s.json"),
    ("ticodec_1g2r", "config_24k_320d_conv_1g2r_8g3k1s.json"),
    ("ticodec_1g4r", "config_24k_320d_conv_1g4r_8g3k1s.json"),
])
def test_matches_copy_synthesis_script(name, config, tmp_path, speech_16k):
    from academicodec.models.ticodec.env import AttrDict
    from academicodec.models.ticodec.models import Encoder, Generator

    wrapper = codec_loading.load(name, weights="random", seed=31)
    assert wrapper.sample_rate == RATE
    h = AttrDict(json.loads((RECIPE / config).read_text()))
    model = wrapper.model
    torch.save({"encoder": upstream.with_weight_norm(model.encoder.state_dict(), Encoder(h).state_dict()),
                "generator": upstream.with_weight_norm(model.generator.state_dict(), Generator(h).state_dict()),
                "quantizer": model.quantizer.state_dict()}, tmp_path / "g_00250000")
    wav = resample(speech_16k, 16000, RATE)
    upstream.write_wav(tmp_path / "in" / "utt.wav", wav, RATE)
    upstream.run_script(ROOT / "academicodec" / "models" / "ticodec" / "vqvae_copy_syn.py",
                        f"--model_path={tmp_path / 'g_00250000'}", f"--config_path={RECIPE / config}",
                        f"--input_wavdir={tmp_path / 'in'}", f"--outputdir={tmp_path / 'out'}", "--num_gens=10000",
                        cwd=RECIPE)
    reference = upstream.read_wav(tmp_path / "out" / "utt.wav", RATE)
    ours = wrapper.resynthesize(torch.from_numpy(wav)[None])[0].numpy()
    upstream.assert_close_to_pcm16(ours, reference)
