"""The crop datasets CMs train and score on: for training, RawBoost on the whole utterance, then a 64,600-sample
crop (random, or the first 64,600 samples as the SSL_Anti-spoofing and tracing references take); for scoring the
first 64,600 samples. Short files are repeat-padded."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from codecfake.audio import TARGET_RATE, read_mono, resample
from codecfake.cm.rawboost import RawBoostParams, augment
from codecfake.cm.trials import label_codes

#: 4.04 s at 16 kHz, the crop of AASIST and its SSL variants.
CROP_SAMPLES = 64600


def repeat_to(x: np.ndarray, length: int) -> np.ndarray:
    """Tile a short waveform until it is `length` long (short files are repeated, not zero-padded)."""
    if x.size >= length:
        return x[:length]
    return np.tile(x, length // x.size + 1)[:length]


CROP_MODES = ("random", "first")


def train_crop(x: np.ndarray, length: int, rng: np.random.Generator, mode: str = "random") -> np.ndarray:
    if mode not in CROP_MODES:
        raise ValueError(f"crop mode must be one of {CROP_MODES}, got {mode!r}")
    if mode == "random" and x.size > length:
        start = int(rng.integers(0, x.size - length + 1))
        return x[start:start + length]
    return repeat_to(x, length)


def load_16k(path: str) -> np.ndarray:
    audio, rate = read_mono(path)
    return resample(audio, rate, TARGET_RATE)


class CropDataset(Dataset):
    """(waveform crop, label) per trial: RawBoost on the utterance then a `crop` crop when training (as the
    references order them: the augmentation's filters see the whole signal), the first crop otherwise.

    Training randomness is drawn from (seed, epoch, index), so it is the same whatever the number of loader
    workers and a resumed run sees the same crops as an uninterrupted one. Call set_epoch before each epoch
    (workers are not persistent, so each epoch's workers get the new value).
    """

    def __init__(self, table: pd.DataFrame, crop_samples: int = CROP_SAMPLES, train: bool = False,
                 rawboost: int = 0, seed: int = 0, crop: str = "random",
                 rawboost_params: RawBoostParams | None = None):
        self.paths = table["path"].tolist()
        self.labels = label_codes(table)
        self.crop_samples = crop_samples
        self.train = train
        self.rawboost = rawboost
        self.rawboost_params = rawboost_params or RawBoostParams()
        self.crop = crop
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        audio = load_16k(self.paths[index])
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            if self.rawboost:
                audio = augment(audio, self.rawboost, rng, params=self.rawboost_params)
            audio = train_crop(audio, self.crop_samples, rng, self.crop)
        else:
            audio = repeat_to(audio, self.crop_samples)
        return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), int(self.labels[index])
