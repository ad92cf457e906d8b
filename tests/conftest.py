"""Shared fixtures: real speech where Debian's codec2-examples is installed, synthetic speech otherwise."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # hub calls fail in 0.1 s instead of ~24 s of retries

REPO = Path(__file__).resolve().parents[1]
CODEC2_SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")
CODEC2_WAVS = Path("/usr/share/codec2/wav")


@pytest.fixture(scope="session")
def speech_16k() -> np.ndarray:
    """1.5 s of 16 kHz speech: codec2's real recording when present, else a synthetic utterance."""
    if CODEC2_SPEECH.exists():
        from codecfake.audio import read_mono

        audio, rate = read_mono(CODEC2_SPEECH)
        assert rate == 16000
        return audio[16000: 16000 + 24000]
    from codecfake.audio import resample
    from codecfake.demo import RATE, synth_utterance

    return resample(synth_utterance(np.random.default_rng(0), 1.5, 140.0, [600, 1400, 2600]), RATE, 16000)


@pytest.fixture
def results(tmp_path) -> Path:
    return tmp_path / "results"
