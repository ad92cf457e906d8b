"""Wrapper == the CodecFake pipeline's AudioDec path on AudioDec's own classes (facebookresearch/AudioDec at the
pinned commit), on the same seeded weights.

AudioDec's loader (`AudioDec().load_transmitter` / `.load_receiver`, as demoFile.py uses it) builds new models from a
folder laid out like the repository: the `libritts_v1` encoder and vocoder checkpoints (written from the wrapper's
weights) beside the repository's own configs of those models (config/autoencoder/, config/vocoder/) and its
statistics file (loaded strictly: the registry's architecture must be the repository's). They then run as the
CodecFake pipeline runs each file ([79], AudioDecBenchmark branch vctk, base_codec/audiodec.py: extract_unit, then
synth): tx_encoder.reset_buffer(), encode, codebook.forward_index, per-codebook offsets, rx_encoder.lookup,
decoder.decode; here on the first file after loading.
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


def _pipeline_resynthesis(audiodec, x: torch.Tensor) -> torch.Tensor:
    """base_codec/audiodec.py extract_unit + synth, on one [1, 1, T] waveform."""
    audiodec.tx_encoder.reset_buffer()
    z = audiodec.tx_encoder.encode(x)
    _, codes = audiodec.tx_encoder.quantizer.codebook.forward_index(z.transpose(2, 1), flatten_idx=False)
    if len(codes.shape) == 2:
        codes = codes.unsqueeze(1)
    codes = codes.transpose(0, 1).squeeze()
    codebook_size = audiodec.rx_encoder.quantizer.codebook.codebook_size
    for y in range(len(codes)):
        codes[y] += int(y * codebook_size)
    codes = codes.squeeze(0)
    zq = audiodec.rx_encoder.lookup(codes)
    return audiodec.decoder.decode(zq)


def _as_trained(state: dict) -> dict:
    """The weights as a training run saves them: the streaming convolutions' `pad_buffer`s are registered buffers
    that only inference writes, so a checkpoint holds them zeroed (the wrapper's hold the warmed-up state)."""
    return {key: torch.zeros_like(value) if key.endswith("pad_buffer") else value for key, value in state.items()}


def test_matches_codecfake_pipeline_path(tmp_path, speech_16k, monkeypatch):
    from utils.audiodec import AudioDec, assign_model

    wrapper = codec_loading.load("audiodec_24k_320d", weights="random", seed=19)
    rate, encoder_checkpoint, decoder_checkpoint = assign_model("libritts_v1")
    assert wrapper.sample_rate == RATE == rate
    for kind, name, part in (("autoencoder", ENCODER, "tx_encoder"), ("vocoder", VOCODER, "decoder")):
        folder = tmp_path / "exp" / kind / name
        folder.mkdir(parents=True)
        shutil.copyfile(ROOT / "config" / kind / f"{name}.yaml", folder / "config.yml")
        torch.save({"model": {"generator": _as_trained(wrapper.model[part].state_dict())}}, folder / STEPS)
    shutil.copytree(ROOT / "stats", tmp_path / "stats")
    monkeypatch.chdir(tmp_path)  # the loader reads exp/ and the vocoder stats/ relative to the working directory
    audiodec = AudioDec(tx_device="cpu", rx_device="cpu")
    audiodec.load_transmitter(encoder_checkpoint)
    audiodec.load_receiver(encoder_checkpoint, decoder_checkpoint)
    wav = torch.from_numpy(resample(speech_16k, 16000, RATE))[None]
    with torch.no_grad():
        reference = _pipeline_resynthesis(audiodec, wav[:, None])[:, 0, : wav.shape[-1]]
    ours = wrapper.resynthesize(wav)
    assert ours.shape == reference.shape
    assert reference.pow(2).mean().sqrt() > 1e-3
    assert (ours - reference).abs().max() <= 1e-5
