"""A small synthetic multi-speaker corpus in the VCTK 0.92 layout, so the demo needs no download.

Each speaker has its own pitch and vocal-tract (formant) settings; utterances are voiced syllables with pauses:
enough structure for codecs and countermeasures to behave like they do on speech, seeded and reproducible.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from codecfake.audio import write_atomic
from codecfake.corpus import IDENTIFIER, IDENTIFIER_RULE, CorpusError, vctk_layout
from codecfake.tables import write_text_atomic

RATE = 48000


def _resonator(freq: float, bandwidth: float, rate: int):
    radius = np.exp(-np.pi * bandwidth / rate)
    theta = 2 * np.pi * freq / rate
    return [1.0 - radius], [1.0, -2 * radius * np.cos(theta), radius**2]


def synth_utterance(rng: np.random.Generator, seconds: float, f0: float, formants: list[float]) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)))
    phase = 2 * np.cos(np.cumsum(2 * np.pi * pitch / RATE))
    source = np.where(phase > 1.9, 1.0, 0.0) + 0.05 * rng.standard_normal(n)
    voice = np.zeros(n)
    for formant in formants:
        b, a = _resonator(formant * rng.uniform(0.9, 1.1), 80 + formant * 0.05, RATE)
        voice += lfilter(b, a, source)
    syllables = rng.uniform(3, 6)
    envelope = np.clip(np.sin(np.pi * syllables * t) ** 2 * 1.4, 0, 1)
    envelope[: int(0.1 * RATE)] = 0
    envelope[-int(0.1 * RATE):] = 0
    audio = voice * envelope
    return (0.3 * audio / (np.abs(audio).max() + 1e-9)).astype(np.float32)


def make_corpus(root: str | Path, speakers: list[str], utterances: int, min_seconds: float, max_seconds: float,
                seed: int = 0) -> int:
    unsafe = [s for s in speakers if not IDENTIFIER.fullmatch(s)]
    if unsafe:
        raise CorpusError(f"demo_corpus.speakers: {unsafe[0]!r} is not a safe identifier ({IDENTIFIER_RULE})")
    layout = vctk_layout()
    root = Path(root)
    rng = np.random.default_rng(seed)
    count = 0
    for speaker in speakers:
        f0 = rng.uniform(90, 240)
        formants = [rng.uniform(500, 800), rng.uniform(1100, 1800), rng.uniform(2300, 3000)]
        for number in range(1, utterances + 1):
            utt = f"{speaker}_{number:03d}"
            audio = synth_utterance(rng, rng.uniform(min_seconds, max_seconds), f0, formants)
            write_atomic(root / layout["audio_dir"] / speaker / f"{utt}_mic1.flac", audio, RATE, "flac")
            write_text_atomic(f"Synthetic demo utterance {number} of speaker {speaker}.\n",
                              root / layout["text_dir"] / speaker / f"{utt}.txt")
            count += 1
    return count
