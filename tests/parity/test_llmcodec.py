"""Wrapper == LLM-Codec's infer_codec.py routine (yangdongchao/LLM-Codec at the pinned commit), same seeded weights.

The script itself cannot run (it needs the LLaMA-2 tokenizer and has broken imports), so the test follows it:
`MSCodecLM(**OmegaConf.load(config.yaml).generator.config)` from the repository's own config (read here as plain
YAML: the env has no omegaconf; it names the two embedding tables, read from the working directory), the
checkpoint's `codec_model` weights loaded strictly, `x, codes, ... = model(wav[1, 1, T])`, then
`model.decode(codes)`. The decoder adds noise: torch is seeded alike
before each decode.
"""
from __future__ import annotations

import numpy as np
import torch
import yaml

from codecfake import codec_loading
from tests.parity import upstream

ROOT = upstream.source_or_skip("codec.MSCodec", "LLM-Codec")
RATE = 16000  # infer_codec.py resamples its input to 16 kHz
LLAMA2_7B_EMBEDDING = (32000, 4096)  # LLaMA-2 7B's token embedding table (embed_llama2.pt), codebooks 2 and 3
NOISE_SEED = 43


def test_matches_infer_codec_routine(tmp_path, speech_16k, monkeypatch):
    from codec.MSCodec import MSCodecLM

    wrapper = codec_loading.load("llm_codec", weights="random", seed=41)
    assert wrapper.sample_rate == RATE
    words = len(np.load(ROOT / "layer1.npy"))  # codebook 1: one LLaMA embedding per word (a str array, no pickle)
    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())["generator"]["config"]
    torch.save({"weight": torch.zeros(LLAMA2_7B_EMBEDDING)}, tmp_path / config["local_embedding_path"])
    torch.save(torch.zeros(words, LLAMA2_7B_EMBEDDING[1]), tmp_path / config["global_embedding_path"])
    model = MSCodecLM(**config)
    model.load_state_dict(wrapper.model.state_dict())  # strict: the registry's architecture must be config.yaml's
    model.eval()
    wav = torch.from_numpy(speech_16k)[None, None]
    with torch.no_grad():
        _, codes, *_ = model(wav)
        torch.manual_seed(NOISE_SEED)
        reference = model.decode(codes)[:, 0, : wav.shape[-1]]
    # Seeded random weights leave few distinct codes (the frozen LLM-embedding codebooks are random too): at least
    # one level must follow the input, or the comparison would prove little.
    assert len(codes) == 3 and any(len(level.unique()) > 1 for level in codes), f"constant codes: {codes}"
    torch.manual_seed(NOISE_SEED)
    ours = wrapper.resynthesize(wav[:, 0])
    assert ours.shape == reference.shape
    assert reference.pow(2).mean().sqrt() > 1e-3
    assert (ours - reference).abs().max() <= 1e-5
