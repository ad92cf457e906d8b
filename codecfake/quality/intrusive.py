"""Full-reference metrics of a resynthesis against its bona fide source.

CoRS files are sample-aligned with their bona fide (the resynthesis job removes the codec delay and fits the
length), so the metrics compare the two signals as they are, with no alignment search that could hide a delay.
"""
from __future__ import annotations

import numpy as np

RATE = 16000
#: Mel-distance analysis (log-mel L1, as codec papers report it): 64 ms windows, 16 ms hop, 80 bands.
MEL = {"n_fft": 1024, "hop_length": 256, "n_mels": 80, "fmin": 0.0, "fmax": RATE / 2}
#: Magnitude floor of the log-mel spectra (-100 dB): silence in both signals counts as equal, not as noise.
MEL_FLOOR = 1e-5
#: Energy floor of SI-SDR's terms: an exact scaled copy reads ~+150 dB instead of dividing by zero.
ENERGY_FLOOR = 1e-12


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., 2019), both signals made zero-mean first."""
    ref = np.asarray(reference, np.float64) - np.mean(reference)
    est = np.asarray(estimate, np.float64) - np.mean(estimate)
    scale = np.dot(est, ref) / (np.dot(ref, ref) + ENERGY_FLOOR)
    target = scale * ref
    noise = est - target
    return float(10 * np.log10((np.dot(target, target) + ENERGY_FLOOR) / (np.dot(noise, noise) + ENERGY_FLOOR)))


def log_mel(x: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=np.asarray(x, np.float32), sr=RATE, power=1.0, **MEL)
    return np.log10(np.maximum(mel, MEL_FLOOR))


def mel_distance(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean absolute difference of the log10 mel magnitudes (0 for identical signals)."""
    return float(np.mean(np.abs(log_mel(estimate) - log_mel(reference))))


def pesq_wb(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Wideband PESQ (ITU-T P.862.2, MOS-LQO); NaN where PESQ finds no speech to compare (silence, too short)."""
    from pesq import PesqError, pesq

    try:
        return float(pesq(RATE, np.asarray(reference, np.float64), np.asarray(estimate, np.float64), "wb"))
    except PesqError:
        return float("nan")


def stoi(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Short-time objective intelligibility (Taal et al., 2011), in [0, 1]."""
    from pystoi import stoi as pystoi_stoi

    return float(pystoi_stoi(np.asarray(reference, np.float64), np.asarray(estimate, np.float64), RATE))


#: Metric name (a column of the scores tables) -> function(reference, estimate).
METRICS = {"pesq_wb": pesq_wb, "stoi": stoi, "mel_distance": mel_distance, "si_sdr": si_sdr}


def score_pair(reference: np.ndarray, estimate: np.ndarray, metrics: list[str]) -> dict[str, float]:
    if len(reference) != len(estimate):
        raise ValueError(f"reference has {len(reference)} samples, estimate {len(estimate)}: CoRS files must be "
                         f"exactly as long as their bona fide")
    return {name: METRICS[name](reference, estimate) for name in metrics}
