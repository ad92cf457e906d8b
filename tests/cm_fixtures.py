"""Fixtures shared by the CM tests (imported into their modules)."""
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from codecfake.cm.trials import TRIAL_COLUMNS

#: A tiny AASIST that trains in seconds on CPU.
ARCH = {"sinc": {"filters": 8, "kernel": 32}, "encoder": [[1, 4], [4, 4], [4, 8]], "gat_dims": [8, 8]}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny CMs run several times faster on one thread when other test processes share the two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tone_noise_trials(folder) -> pd.DataFrame:
    """Tones (bona fide) against noise (spoof), two domains, 0.5 s each, written under folder."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        label = "bonafide" if i % 2 == 0 else "spoof"
        t = np.arange(8000) / 16000
        audio = 0.3 * np.sin(2 * np.pi * (150 + 20 * i) * t) if label == "bonafide" else 0.3 * rng.standard_normal(8000)
        path = folder / f"u{i:02d}.wav"
        sf.write(path, audio.astype(np.float32), 16000)
        rows.append({"utt_id": f"u{i:02d}", "path": str(path), "label": label, "speaker": f"s{i % 3}",
                     "source_utt": f"u{i // 2}", "system": "bonafide" if label == "bonafide" else "X",
                     "QUA": "-", "AUX": "-", "DEC": "-", "domain": "CoRS" if i < 8 else "EXT"})
    return pd.DataFrame(rows, columns=TRIAL_COLUMNS)
