"""The synthetic utterance stands in for a recording where Debian's codec2-examples is not installed, so it must
move like speech. Each check holds for codec2's recording too (run where it is installed), so the bounds describe
speech, not the synthesizer. codec2's speech_orig_16k.wav, 1.5 s windows at 1, 2.5 and 4 s:
10-90th percentile level range 30-32 dB, 28-41% of frames 25 dB below the loudest, floor 42-50 dB below it."""
from __future__ import annotations

import numpy as np
import pytest

from codecfake.synthetic_speech import utterance
from tests.conftest import SPEECH_SOURCES, speech

FRAME_SECONDS = 0.02


def frame_levels(audio: np.ndarray, rate: int) -> np.ndarray:
    """dB level of each 20 ms frame."""
    frame = int(FRAME_SECONDS * rate)
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)


def voiced_f0(audio: np.ndarray, rate: int) -> np.ndarray:
    """f0 in Hz of the frames within 15 dB of the loudest, by autocorrelation over 60-400 Hz (40 ms frames)."""
    frame = int(2 * FRAME_SECONDS * rate)
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    lags = np.arange(rate // 400, rate // 60)
    f0 = []
    for item in frames[level > level.max() - 15]:
        item = item - item.mean()
        correlation = np.array([np.dot(item[:-lag], item[lag:]) for lag in lags]) / np.dot(item, item)
        if correlation.max() > 0.5:
            f0.append(rate / lags[np.argmax(correlation)])
    return np.array(f0)


def check_moves_like_speech(audio: np.ndarray, rate: int) -> None:
    level = frame_levels(audio, rate)
    below_loudest = level - level.max()
    assert below_loudest.min() > -60, "digital silence: its log energy is an outlier no codec reproduces"
    assert 20 < np.percentile(level, 90) - np.percentile(level, 10) < 45
    assert 0.1 < np.mean(below_loudest < -25) < 0.6, "no pauses between syllables and words"
    loud = below_loudest > -15
    onsets = np.count_nonzero(loud[1:] & ~loud[:-1]) + loud[0]
    assert 2 <= onsets / (len(audio) / rate) <= 8, "loudness peaks at a syllable rate"
    f0 = voiced_f0(audio, rate)
    assert len(f0) >= 5 and 70 < np.median(f0) < 300, "voiced frames with a speaking pitch"
    assert np.ptp(f0) > 10, "a pitch that moves"


@pytest.mark.parametrize("source", SPEECH_SOURCES)
def test_each_speech_source_moves_like_speech(source):
    check_moves_like_speech(speech(source), 16000)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rate", [16000, 48000])
def test_synthetic_utterances_move_like_speech_whatever_the_seed(seed, rate):
    check_moves_like_speech(utterance(np.random.default_rng(seed), 3.0, rate), rate)


def test_unvoiced_onsets_carry_high_frequencies():
    """Fricative bursts: frames with many zero crossings among those that are not pauses (voiced frames have few)."""
    audio = utterance(np.random.default_rng(0), 3.0)
    frame = int(FRAME_SECONDS * 16000)
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    crossings = np.mean(np.diff(np.sign(frames), axis=1) != 0, axis=1)
    level = frame_levels(audio, 16000)
    assert np.count_nonzero((crossings > 0.3) & (level > level.max() - 30)) >= 3


def test_same_seed_same_samples_and_a_new_seed_new_ones():
    first, again, other = (utterance(np.random.default_rng(seed), 1.5) for seed in (3, 3, 4))
    assert first.dtype == np.float32 and len(first) == 24000
    assert np.array_equal(first, again) and not np.allclose(first, other)
    assert np.abs(first).max() == pytest.approx(0.3)
