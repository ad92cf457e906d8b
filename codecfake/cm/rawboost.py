"""RawBoost data augmentation (Tak et al., ICASSP 2022), re-implemented from the paper's description.

Three raw-waveform distortions and their combinations, drawn afresh for every training crop:
  1 LnL  linear and non-linear convolutive noise: sum over orders j of a random multi-band notch filter applied
         to x**j (higher orders quieter), as channel/coding distortion;
  2 ISD  impulsive signal-dependent noise on a random few per cent of the samples;
  3 SSI  stationary signal-independent noise: white noise through a random notch filter at a random SNR;
  4 = 1, 2, 3 in series; 5 = 1, 2 in series (the SSL W2V2-AASIST setup for LA); 6 = 1, 3; 7 = 2, 3;
  8 = 1 and 2 in parallel (summed). 0 = no augmentation.

Matches the reference (TakHemlata/SSL_Anti-spoofing RawBoost.py): the notch FIRs are linear-phase and their delay
is removed (zero-delay filtering), band edges are clipped to (0.001 Hz, Nyquist - 0.001 Hz), tap counts are drawn
as int(uniform(min, max)) made odd. The reference removes (L + 1) / 2 samples of delay from an L-tap filter, one more
than its group delay (L - 1) / 2, so its output leads the input by one sample; that is the default here (results
reproduce) and `RawBoostParams(exact_delay=True)` removes exactly the group delay instead.
Training augments the whole utterance and crops afterwards, as the reference does (codecfake.cm.data).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import firwin, freqz, oaconvolve

ALGORITHMS = tuple(range(9))


@dataclass(frozen=True)
class NotchBank:
    """Random multi-band notch filter: each band's centre, width and length drawn in these ranges."""
    bands: int = 5
    min_freq: float = 20.0
    max_freq: float = 8000.0
    min_width: float = 100.0
    max_width: float = 1000.0
    min_taps: int = 10
    max_taps: int = 100
    min_gain_db: float = 0.0
    max_gain_db: float = 0.0


@dataclass(frozen=True)
class RawBoostParams:
    """The paper's default ranges."""
    notch: NotchBank = NotchBank()
    #: LnL: number of non-linear orders and how much quieter (dB range) every order above the first is.
    orders: int = 5
    min_order_bias_db: float = 5.0
    max_order_bias_db: float = 20.0
    #: ISD: at most this per cent of the samples are hit, with this signal-dependent gain.
    isd_max_percent: float = 10.0
    isd_gain: float = 2.0
    #: SSI: signal-to-noise ratio range (dB).
    min_snr_db: float = 10.0
    max_snr_db: float = 40.0
    #: remove the FIRs' group delay (L - 1) / 2 exactly instead of the reference's (L + 1) / 2 (a one-sample lead).
    exact_delay: bool = False


def _peak_normalise(x: np.ndarray, always: bool) -> np.ndarray:
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak > 0 and (always or peak > 1.0):
        return x / peak
    return x


def _energy(x: np.ndarray) -> float:
    """L2 norm without BLAS (a multi-threaded BLAS dot costs more than it saves on one waveform)."""
    return float(np.sqrt(np.sum(np.square(x))))


def notch_filter(rng: np.random.Generator, bank: NotchBank, rate: int, gain_db: tuple[float, float]) -> np.ndarray:
    """FIR coefficients of `bank.bands` cascaded band-stop filters, scaled to a random peak gain."""
    nyquist = rate / 2
    taps = np.ones(1)
    for _ in range(bank.bands):
        centre = rng.uniform(bank.min_freq, bank.max_freq)
        width = rng.uniform(bank.min_width, bank.max_width)
        length = int(rng.uniform(bank.min_taps, bank.max_taps)) | 1  # band-stop FIRs need odd lengths
        low, high = max(centre - width / 2, 1e-3), min(centre + width / 2, nyquist - 1e-3)
        taps = np.convolve(taps, firwin(length, [low, high], window="hamming", fs=rate))
    _, response = freqz(taps, 1, fs=rate)
    return taps * 10 ** (rng.uniform(*gain_db) / 20) / max(np.max(np.abs(response)), 1e-12)


def fir(taps: np.ndarray, x: np.ndarray, exact_delay: bool = False) -> np.ndarray:
    """Zero-delay FIR filtering of a linear-phase (odd-length) filter: the full convolution with its first
    (L + 1) / 2 samples dropped, as the reference does, or (L - 1) / 2 (the group delay) with `exact_delay`.
    Overlap-add FFT convolution: ~10x faster than lfilter for the few-hundred-tap notch cascades."""
    start = (taps.size - 1) // 2 if exact_delay else (taps.size + 1) // 2
    full = np.concatenate([oaconvolve(x, taps), np.zeros(2)])  # the reference filters x padded with zeros
    return full[start:start + x.size]


def convolutive_noise(x: np.ndarray, rng: np.random.Generator, p: RawBoostParams, rate: int) -> np.ndarray:
    """LnL: sum_j h_j * x**j with a fresh notch filter per order."""
    y = np.zeros_like(x)
    power = np.ones_like(x)
    gain = (p.notch.min_gain_db, p.notch.max_gain_db)
    for order in range(1, p.orders + 1):
        if order == 2:
            lowered = (gain[0] - p.min_order_bias_db, gain[1] - p.max_order_bias_db)
            gain = (min(lowered), max(lowered))  # orders above the first: 5-20 dB quieter by default
        power = power * x  # x**order by products: np.power with a float array is several times slower
        y = y + fir(notch_filter(rng, p.notch, rate, gain), power, p.exact_delay)
    return _peak_normalise(y - np.mean(y), always=False)


def impulsive_noise(x: np.ndarray, rng: np.random.Generator, p: RawBoostParams) -> np.ndarray:
    """ISD: a random share of the samples gets x[n] * g * u1 * u2 added (u uniform in [-1, 1])."""
    y = x.copy()
    count = int(x.size * rng.uniform(0, p.isd_max_percent) / 100)
    where = rng.permutation(x.size)[:count]
    factor = (2 * rng.random(count) - 1) * (2 * rng.random(count) - 1)
    y[where] = x[where] + p.isd_gain * x[where] * factor
    return _peak_normalise(y, always=False)


def additive_noise(x: np.ndarray, rng: np.random.Generator, p: RawBoostParams, rate: int) -> np.ndarray:
    """SSI: coloured white noise at a random SNR."""
    white = rng.standard_normal(x.size)
    noise = fir(notch_filter(rng, p.notch, rate, (p.notch.min_gain_db, p.notch.max_gain_db)), white, p.exact_delay)
    noise = _peak_normalise(noise, always=True)
    snr = rng.uniform(p.min_snr_db, p.max_snr_db)
    scale = _energy(x) / max(_energy(noise), 1e-12) / 10 ** (snr / 20)
    return x + noise * scale


def augment(x: np.ndarray, algo: int, rng: np.random.Generator, rate: int = 16000,
            params: RawBoostParams = RawBoostParams()) -> np.ndarray:
    """RawBoost algorithm `algo` (0-8, see the module docstring) on a mono float waveform."""
    if algo not in ALGORITHMS:
        raise ValueError(f"RawBoost algorithm must be one of {ALGORITHMS}, got {algo!r}")
    y = np.asarray(x, dtype=np.float64)
    if algo == 0:
        return y.astype(np.float32)
    if algo == 8:
        y = _peak_normalise(convolutive_noise(y, rng, params, rate) + impulsive_noise(y, rng, params), always=False)
        return y.astype(np.float32)
    steps = {1: "c", 2: "i", 3: "a", 4: "cia", 5: "ci", 6: "ca", 7: "ia"}[algo]
    for step in steps:
        if step == "c":
            y = convolutive_noise(y, rng, params, rate)
        elif step == "i":
            y = impulsive_noise(y, rng, params)
        else:
            y = additive_noise(y, rng, params, rate)
    return y.astype(np.float32)
