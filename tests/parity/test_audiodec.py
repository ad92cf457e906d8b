"""Wrapper == AudioDec's own demoFile.py (facebookresearch/AudioDec at the pinned commit), same seeded weights.

The script runs in a folder laid out like the repository: the `libritts_v1` encoder and vocoder checkpoints (written
from the wrapper's weights) beside the repository's own configs of those models (config/autoencoder/, config/vocoder/)
and its statistics file; it builds and loads both models itself (strictly: the registry's architecture must be the
repository's).
"""
from __future__ import annotations

import shutil

import torch

from codecfake import codec_loading
from codecfake.audio import resample
from tests.parity import upstream

ROOT = upstream.source_or_skip("utils.audiodec", "AudioDec")
RATE = 24000  # utils/audiodec.py assign_model("libritts_v1"): 24 kHz, hop 300 (the paper's LibriTTS model)
ENCODER = "symAD_libritts_24000_hop300"
VOCODER = "AudioDec_v1_symAD_libritts_24000_hop300_clean"
STEPS = "checkpoint-500000steps.pkl"


def test_matches_demo_file(tmp_path, speech_16k):
    wrapper = codec_loading.load("audiodec_24k_320d", weights="random", seed=19)
    assert wrapper.sample_rate == RATE
    for kind, name, part in (("autoencoder", ENCODER, "tx_encoder"), ("vocoder", VOCODER, "decoder")):
        folder = tmp_path / "exp" / kind / name
        folder.mkdir(parents=True)
        shutil.copyfile(ROOT / "config" / kind / f"{name}.yaml", folder / "config.yml")
        torch.save({"model": {"generator": wrapper.model[part].state_dict()}}, folder / STEPS)
    shutil.copytree(ROOT / "stats", tmp_path / "stats")
    wav = resample(speech_16k, 16000, RATE)
    upstream.write_wav(tmp_path / "in.wav", wav, RATE)
    upstream.run_script(ROOT / "demoFile.py", "--model", "libritts_v1", "-i", "in.wav", "-o", "out.wav",
                        "--cuda", "-1", "--num_threads", "1", cwd=tmp_path)
    reference = upstream.read_wav(tmp_path / "out.wav", RATE)
    ours = wrapper.resynthesize(torch.from_numpy(wav)[None])[0].numpy()
    upstream.assert_close_to_pcm16(ours, reference)
