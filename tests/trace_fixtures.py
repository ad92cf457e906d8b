"""A tiny synthetic CoRS results folder for the tracing tests: manifests with the registry's taxonomy columns and
16 kHz audio where each codec leaves its own spectral mark (a noise band) on a voiced tone."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from codecfake import registry

#: Five registry codecs that together cover every class of VQ (MVQ, SVQ, SQ), AUX (Trad, SEM, Disent), DEC.
CODECS = ["Encodec_6b24k", "wavtokenizer_small_320_24k_4096", "spectralcodecs", "ticodec_1g1r",
          "SemantiCodec_0.70kbps_16k"]
BANDS = {codec: (1000 + 1400 * i, 1800 + 1400 * i) for i, codec in enumerate(CODECS)}
RATE = 16000
ARCH = {"sinc": {"filters": 16, "kernel": 32}, "encoder": [[1, 4], [4, 8], [8, 8]], "gat_dims": [8, 8]}


def _voice(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = rng.uniform(100, 220)
    tone = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    return 0.2 * tone / 2 + 0.005 * rng.standard_normal(t.size)


def _band_noise(rng: np.random.Generator, size: int, band: tuple[float, float]) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.fft.rfftfreq(size, 1 / RATE)
    spectrum[(freqs < band[0]) | (freqs > band[1])] = 0
    noise = np.fft.irfft(spectrum, size)
    return 0.15 * noise / noise.std()


def make_results(root: Path, utterances: dict[str, int], codecs=CODECS, seconds: float = 0.5,
                 seed: int = 0) -> Path:
    """<root>/manifests/cors_{split}.tsv + audio; `utterances` = source utterances per split."""
    rng = np.random.default_rng(seed)
    for split, count in utterances.items():
        rows = []
        for i in range(count):
            speaker = f"p{300 + i % 3}"
            source = f"{speaker}_{split}{i:03d}"
            voice = _voice(rng, seconds)
            for codec in [None, *codecs]:
                entry = registry.get(codec) if codec else None
                audio = voice if codec is None else voice + _band_noise(rng, voice.size, BANDS[codec])
                subset = codec or registry.BONAFIDE
                utt = source if codec is None else f"{source}_{codec}"
                path = Path("audio") / subset / split / f"{utt}.wav"
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / path, audio.astype(np.float32), RATE)
                rows.append({"utt_id": utt, "source_utt": source, "speaker": speaker, "split": split,
                             "subset": subset, "label": "spoof" if codec else "bonafide",
                             "codec_id": entry.id if entry else "-", "family": entry.family if entry else "-",
                             **registry.protocol_taxonomy(entry), "path": str(path), "samples": audio.size,
                             "duration": audio.size / RATE, "weights": "random" if codec else "none"})
        (root / "manifests").mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(root / "manifests" / f"cors_{split}.tsv", sep="\t", index=False)
    return root
