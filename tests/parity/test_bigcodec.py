"""Wrapper == BigCodec's own inference.py (Aria-K-Alethia/BigCodec at the pinned commit), on the same seeded weights.

The script builds `CodecEncoder()` / `CodecDecoder()` with its defaults and loads bigcodec.pt's `CodecEnc` and
`generator` entries strictly: this also checks that the registry's architecture is the released one.
"""
from __future__ import annotations

import torch

from codecfake import codec_loading
from codecfake.audio import TARGET_RATE
from tests.parity import upstream

ROOT = upstream.source_or_skip("vq", "BigCodec")
RATE = 16000  # inference.py: sr = 16000 (the paper's 16 kHz, 80 Hz frames of 200 samples)


def test_matches_inference_script(tmp_path, speech_16k):
    wrapper = codec_loading.load("bigcodec", weights="random", seed=11)
    assert wrapper.sample_rate == RATE == TARGET_RATE
    model = wrapper.model
    torch.save({"CodecEnc": model["encoder"].state_dict(), "generator": model["decoder"].state_dict()},
               tmp_path / "bigcodec.pt")
    upstream.write_wav(tmp_path / "in" / "utt.wav", speech_16k, RATE)
    upstream.run_script(ROOT / "inference.py", "--input-dir", str(tmp_path / "in"), "--ckpt",
                        str(tmp_path / "bigcodec.pt"), "--output-dir", str(tmp_path / "out"), cwd=ROOT)
    reference = upstream.read_wav(tmp_path / "out" / "utt.wav", RATE)
    # The script keeps its right padding (200 - T % 200 samples); the wrapper cuts back to the input's length.
    assert len(reference) == len(speech_16k) + 200 - len(speech_16k) % 200
    ours = wrapper.resynthesize(torch.from_numpy(speech_16k)[None])[0].numpy()
    upstream.assert_close_to_pcm16(ours, reference[: len(speech_16k)])
