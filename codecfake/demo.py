"""Small synthetic multi-speaker corpora in the VCTK 0.92 and AISHELL-3 layouts, so the demos need no download.

Each speaker has its own pitch and vocal-tract (formant) settings; utterances are voiced syllables with pauses:
enough structure for codecs and countermeasures to behave like they do on speech, seeded and reproducible.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from codecfake.audio import write_atomic
from codecfake.corpus import AISHELL3_FILE, IDENTIFIER, IDENTIFIER_RULE, CorpusError, aishell3_layout, vctk_layout
from codecfake.tables import write_text_atomic

RATE = 48000
#: The layouts the writer knows; AISHELL-3's files are written at its native rate (codecfake/resources/aishell3.yaml).
LAYOUTS = ("vctk", "aishell3")


def _resonator(freq: float, bandwidth: float, rate: int):
    radius = np.exp(-np.pi * bandwidth / rate)
    theta = 2 * np.pi * freq / rate
    return [1.0 - radius], [1.0, -2 * radius * np.cos(theta), radius**2]


def synth_utterance(rng: np.random.Generator, seconds: float, f0: float, formants: list[float],
                    rate: int = RATE) -> np.ndarray:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)))
    phase = 2 * np.cos(np.cumsum(2 * np.pi * pitch / rate))
    source = np.where(phase > 1.9, 1.0, 0.0) + 0.05 * rng.standard_normal(n)
    voice = np.zeros(n)
    for formant in formants:
        b, a = _resonator(formant * rng.uniform(0.9, 1.1), 80 + formant * 0.05, rate)
        voice += lfilter(b, a, source)
    syllables = rng.uniform(3, 6)
    envelope = np.clip(np.sin(np.pi * syllables * t) ** 2 * 1.4, 0, 1)
    envelope[: int(0.1 * rate)] = 0
    envelope[-int(0.1 * rate):] = 0
    audio = voice * envelope
    return (0.3 * audio / (np.abs(audio).max() + 1e-9)).astype(np.float32)


def make_corpus(root: str | Path, speakers: list[str], utterances: int, min_seconds: float, max_seconds: float,
                seed: int = 0, layout: str = "vctk") -> int:
    """Write `utterances` clips per speaker under `root` in `layout`; returns how many were written."""
    unsafe = [s for s in speakers if not IDENTIFIER.fullmatch(s)]
    if unsafe:
        raise CorpusError(f"demo_corpus.speakers: {unsafe[0]!r} is not a safe identifier ({IDENTIFIER_RULE})")
    if layout not in LAYOUTS:
        raise CorpusError(f"demo corpus layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    writer = _Aishell3Writer(root, speakers) if layout == "aishell3" else _VctkWriter(root)
    rng = np.random.default_rng(seed)
    count = 0
    for speaker in speakers:
        f0 = rng.uniform(90, 240)
        formants = [rng.uniform(500, 800), rng.uniform(1100, 1800), rng.uniform(2300, 3000)]
        for number in range(1, utterances + 1):
            audio = synth_utterance(rng, rng.uniform(min_seconds, max_seconds), f0, formants, writer.rate)
            writer.write(speaker, number, audio)
            count += 1
    writer.finish()
    return count


class _VctkWriter:
    """`wav48_silence_trimmed/{spk}/{spk}_{nnn}_mic1.flac` and `txt/{spk}/{spk}_{nnn}.txt`, 48 kHz."""
    rate = RATE

    def __init__(self, root):
        self.root, self.layout = Path(root), vctk_layout()

    def write(self, speaker: str, number: int, audio: np.ndarray) -> None:
        utt = f"{speaker}_{number:03d}"
        write_atomic(self.root / self.layout["audio_dir"] / speaker / f"{utt}_mic1.flac", audio, self.rate, "flac")
        write_text_atomic(f"Synthetic demo utterance {number} of speaker {speaker}.\n",
                          self.root / self.layout["text_dir"] / speaker / f"{utt}.txt")

    def finish(self) -> None:
        pass


class _Aishell3Writer:
    """`train/wav/{SSBxxxx}/{SSBxxxxnnnn}.wav` (44.1 kHz), `train/content.txt` (hanzi and pinyin, tab after the
    file name) and `spk-info.txt`, as in AISHELL-3; speakers must be SSB plus four digits, as its file names
    are. Everything goes to the train part: AISHELL-3's own train/test division is not Codecfake's split."""

    def __init__(self, root, speakers: list[str]):
        self.root, self.layout = Path(root), aishell3_layout()
        self.rate = int(self.layout["sample_rate"])
        bad = [s for s in speakers if not AISHELL3_FILE.fullmatch(f"{s}0001.wav")]
        if bad:
            raise CorpusError(f"demo AISHELL-3 speaker {bad[0]!r} is not SSB and four digits (e.g. SSB0005)")
        self.speakers, self.lines = speakers, []

    def write(self, speaker: str, number: int, audio: np.ndarray) -> None:
        if number > 9999:
            raise CorpusError(f"demo AISHELL-3 speaker {speaker}: at most 9999 utterances (four digits in the name)")
        utt = f"{speaker}{number:04d}"
        part = self.root / self.layout["parts"][0]
        write_atomic(part / self.layout["audio_dir"] / speaker / f"{utt}.wav", audio, self.rate, "wav")
        self.lines.append(f"{utt}.wav\t合 he2 成 cheng2 语 yu3 音 yin1 {number}\n")

    def finish(self) -> None:
        write_text_atomic("".join(self.lines), self.root / self.layout["parts"][0] / self.layout["transcripts"])
        info = "".join(f"{speaker}\tB\t{'female' if i % 2 else 'male'}\tnorth\n"
                       for i, speaker in enumerate(self.speakers))
        write_text_atomic("# synthetic demo speakers: speaker, age group, gender, accent\n" + info,
                          self.root / self.layout["speaker_info"])
