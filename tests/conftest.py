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


#: Where 1.5 s of test speech can come from: codec2's recording (Debian's codec2-examples) or the synthetic
#: utterance every machine has (codecfake.synthetic_speech).
SPEECH_SOURCES = ("codec2", "synthetic")


def speech(source: str) -> np.ndarray:
    """1.5 s of 16 kHz speech from `source`; skips the test where codec2's recording is not installed."""
    if source == "codec2":
        if not CODEC2_SPEECH.exists():
            pytest.skip(f"{CODEC2_SPEECH} not installed (apt-get install codec2-examples)")
        from codecfake.audio import read_mono

        audio, rate = read_mono(CODEC2_SPEECH)
        assert rate == 16000
        return audio[16000: 16000 + 24000]
    if source != "synthetic":
        raise ValueError(f"CODECFAKE_TEST_SPEECH={source!r}: expected one of {', '.join(SPEECH_SOURCES)}")
    from codecfake.synthetic_speech import utterance

    return utterance(np.random.default_rng(0), 1.5)


@pytest.fixture(scope="session")
def speech_16k() -> np.ndarray:
    """codec2's recording where installed, else the synthetic utterance; CODECFAKE_TEST_SPEECH=synthetic (or
    codec2) picks one, e.g. to run what a machine without codec2-examples runs."""
    default = "codec2" if CODEC2_SPEECH.exists() else "synthetic"
    return speech(os.environ.get("CODECFAKE_TEST_SPEECH", default))


@pytest.fixture(scope="session")
def speech_each() -> dict[str, np.ndarray]:
    """Every source this machine has, by name (the synthetic one always): tests whose margins depend on the signal
    check each, so a machine with codec2-examples (CI) also checks what a fresh clone's `make test` runs."""
    return {source: speech(source) for source in SPEECH_SOURCES
            if source == "synthetic" or CODEC2_SPEECH.exists()}


@pytest.fixture
def results(tmp_path) -> Path:
    return tmp_path / "results"
