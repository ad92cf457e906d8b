"""Wrapper == AcademiCodec's copy-synthesis script for HiFi-Codec-16k-320d (yangdongchao/AcademiCodec at the pinned
commit, egs/HiFi-Codec-16k-320d/test.sh -> vqvae_copy_syn.py), on the same seeded weights.

The script builds `VQVAE` from the recipe's own config_16k_320d.json and a checkpoint of the wrapper's weights
(loaded strictly), removes weight norm, and copy-synthesises every wav of a folder. The wrapper keeps its model with
weight norm already removed: the checkpoint gets it back (weight_v = weight, weight_g = its norm), as training
saved it. The script is fed what the CodecFake pipeline feeds the model (AudioDecBenchmark, branch vctk,
base_codec/academicodec.py): `librosa.util.normalize(x) * 0.95`; the wrapper gets the waveform as read.
"""
from __future__ import annotations

import json

import librosa
import torch

from codecfake import codec_loading
from tests.parity import upstream

ROOT = upstream.source_or_skip("academicodec", "AcademiCodec")
RECIPE = ROOT / "egs" / "HiFi-Codec-16k-320d"
RATE = 16000  # test.sh: --sample_rate=16000; the paper's 16 kHz model, 320x downsampling, 2 groups x 2 residuals
PEAK = 0.95  # the CodecFake pipeline's input level


def test_matches_copy_synthesis_script(tmp_path, speech_16k):
    from academicodec.models.hificodec.env import AttrDict
    from academicodec.models.hificodec.models import Encoder, Generator

    wrapper = codec_loading.load("HiFi_Codec_16k_320d_large_universal", weights="random", seed=29)
    assert wrapper.sample_rate == RATE
    h = AttrDict(json.loads((RECIPE / "config_16k_320d.json").read_text()))
    model = wrapper.model
    torch.save({"encoder": upstream.with_weight_norm(model.encoder.state_dict(), Encoder(h).state_dict()),
                "generator": upstream.with_weight_norm(model.generator.state_dict(), Generator(h).state_dict()),
                "quantizer": model.quantizer.state_dict()}, tmp_path / "checkpoint")
    upstream.write_wav(tmp_path / "in" / "utt.wav", librosa.util.normalize(speech_16k) * PEAK, RATE)
    upstream.run_script(ROOT / "academicodec" / "models" / "hificodec" / "vqvae_copy_syn.py",
                        f"--model_path={tmp_path / 'checkpoint'}", f"--config_path={RECIPE / 'config_16k_320d.json'}",
                        f"--input_wavdir={tmp_path / 'in'}", f"--outputdir={tmp_path / 'out'}", "--num_gens=10000",
                        f"--sample_rate={RATE}", cwd=RECIPE)
    reference = upstream.read_wav(tmp_path / "out" / "utt.wav", RATE)
    ours = wrapper.resynthesize(torch.from_numpy(speech_16k)[None])[0].numpy()
    upstream.assert_close_to_pcm16(ours, reference)
