"""A synthetic utterance whose loudness moves like speech, for tests and benchmarks on machines without recordings.

Codec checks compare the loudness contour of a codec's output with its input's, so the stand-in for a recording
must have the contour of speech, not a steady tone: syllables at 3-6 per second with their own levels, words
separated by pauses, voiced nuclei (harmonics of a moving f0 shaped by moving formants) and unvoiced onsets (noise
bursts in the fricative band), over a quiet pink floor like a recording's (never digital silence, whose log energy
is an outlier no codec reproduces). Octave bands from 125 Hz to 8 kHz, relative to the loudest band of its loudest
frames: loud frames within 2.2 dB of codec2's speech_orig_16k.wav, quiet frames 3-9 dB above it (a flat floor).
Random-weight codecs respond to the spectrum: a white floor and dark vowels took WavTokenizer's loudness
correlation from 0.47 (codec2) to 0.06; with this spectrum 0.38.
numpy only: the codec envs that import it need not carry scipy.
"""
from __future__ import annotations

import numpy as np

#: (F1, F2, F3) in Hz of a few vowels (Peterson & Barney's male means, rounded).
VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [530, 1840, 2480], [570, 840, 2410], [300, 870, 2240],
                   [660, 1720, 2410], [490, 1350, 1690]], dtype=float)
BANDWIDTHS = np.array([80.0, 100.0, 140.0, 250.0])
FORMANT_LEVELS = np.array([1.0, 0.6, 0.35, 0.2])  # parallel resonators' peak gains, F1 to F4
F4 = 3500.0  # a fourth formant, fixed: it keeps the 2-5 kHz band of voiced frames near a recording's
FLOOR_DB = -47.0  # the floor's RMS relative to the loudest syllable's peak


def utterance(rng: np.random.Generator, seconds: float, rate: int = 16000, f0: float = 120.0) -> np.ndarray:
    """`seconds` of speech-like audio at `rate`, peak 0.3, float32; the same rng state gives the same samples."""
    n = int(round(seconds * rate))
    voiced, unvoiced, knots = _plan(rng, n, rate)
    t = np.arange(n)
    pitch = np.interp(t, knots["time"], knots["f0"]) * f0 * np.linspace(1.1, 0.85, n)  # accents over declination
    formants = [np.interp(t, knots["time"], knots["formants"][:, i]) for i in range(3)] + [np.full(n, F4)]
    audio = voiced * _harmonics(pitch, formants, rate) + unvoiced * _fricative_noise(rng, n, rate)
    audio /= np.abs(audio).max() + 1e-12
    audio += 10 ** (FLOOR_DB / 20) * _room_tone(rng, n, rate)
    return (0.3 * audio / np.abs(audio).max()).astype(np.float32)


def _plan(rng: np.random.Generator, n: int, rate: int):
    """Amplitude envelopes of the voiced and unvoiced parts, and per-syllable f0 and formant targets."""
    voiced, unvoiced = np.zeros(n), np.zeros(n)
    times, accents, targets = [0], [1.0], [VOWELS[0]]
    position = int(rng.uniform(0.08, 0.15) * rate)  # leading pause
    while position < n - int(0.1 * rate):
        for _ in range(rng.integers(1, 4)):  # a word of one to three syllables
            if rng.random() < 0.5:  # unvoiced onset
                length = int(rng.uniform(0.04, 0.1) * rate)
                _add_segment(unvoiced, position, length, 10 ** (rng.uniform(-22, -12) / 20))
                position += length
            length = int(rng.uniform(0.1, 0.25) * rate)
            _add_segment(voiced, position, length, 10 ** (rng.uniform(-12, 0) / 20))
            times.append(position + length // 2)
            accents.append(rng.uniform(0.85, 1.25))
            targets.append(VOWELS[rng.integers(len(VOWELS))] * rng.uniform(0.92, 1.08, 3))
            position += length + int(rng.uniform(0.0, 0.03) * rate)
        position += int(rng.uniform(0.08, 0.25) * rate) if rng.random() < 0.6 else 0  # pause between words
    times.append(n)
    accents.append(accents[-1])
    targets.append(targets[-1])
    return voiced, unvoiced, {"time": np.array(times), "f0": np.array(accents), "formants": np.array(targets)}


def _add_segment(envelope: np.ndarray, start: int, length: int, level: float) -> None:
    """A rise to `level`, a hold and a fall (raised-cosine ramps of a quarter of the segment each)."""
    ramp = max(length // 4, 1)
    shape = np.ones(length)
    shape[:ramp] = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    shape[-ramp:] = shape[:ramp][::-1]
    span = envelope[start: start + length]  # a view, cut at the end of the utterance
    span[:] = np.maximum(span, level * shape[: len(span)])


def _harmonics(pitch: np.ndarray, formants: list[np.ndarray], rate: int) -> np.ndarray:
    """Additive voicing: each harmonic of `pitch`, weighted by a -3 dB/octave source and the cascaded formant
    resonators' gain at its frequency (so the spectrum follows the moving formants)."""
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    out = np.zeros(len(pitch))
    for k in range(1, int(0.45 * rate / pitch.min()) + 1):
        freq = k * pitch
        envelope = sum(level * center * bandwidth / np.sqrt((center**2 - freq**2) ** 2 + (bandwidth * freq) ** 2)
                       for center, bandwidth, level in zip(formants, BANDWIDTHS, FORMANT_LEVELS))
        out += np.where(freq < 0.45 * rate, k**-0.5, 0.0) * envelope * np.sin(k * phase)
    return out / (np.abs(out).max() + 1e-12)


def _room_tone(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Pink noise of unit RMS (equal energy per octave above 50 Hz), like a room's and a microphone's background."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    noise = np.fft.irfft(spectrum / np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / rate), 50.0)), n)
    return noise / np.sqrt(np.mean(noise**2))


def _fricative_noise(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """White noise shaped to the fricative band (a broad peak around 4-5 kHz, little below 2 kHz)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freq = np.fft.rfftfreq(n, 1 / rate)
    shape = 1 / (1 + ((freq - min(4500.0, 0.4 * rate)) / 1800) ** 2) * (1 - np.exp(-((freq / 2000) ** 4)))
    noise = np.fft.irfft(spectrum * shape, n)
    return noise / (np.abs(noise).max() + 1e-12)
