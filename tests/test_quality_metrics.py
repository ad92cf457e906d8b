"""Full-reference metrics and DNSMOS on signals whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from codecfake.quality.intrusive import mel_distance, pesq_wb, score_pair, si_sdr, stoi


def with_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(x))
    noise *= np.sqrt(np.sum(x.astype(np.float64) ** 2) / np.sum(noise**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def test_si_sdr_of_a_scaled_copy_is_very_high_and_of_noise_its_snr(speech_16k):
    assert si_sdr(speech_16k, 0.5 * speech_16k) > 100
    for snr in (0.0, 10.0, 20.0):
        assert si_sdr(speech_16k, with_noise(speech_16k, snr)) == pytest.approx(snr, abs=0.3)


def test_pesq_and_stoi_rank_cleaner_signals_higher(speech_16k):
    clean, noisy = with_noise(speech_16k, 40.0), with_noise(speech_16k, 0.0)
    assert pesq_wb(speech_16k, speech_16k) > 4.5
    assert pesq_wb(speech_16k, clean) > pesq_wb(speech_16k, noisy) + 1.0  # wideband PESQ is harsh on white noise
    assert stoi(speech_16k, speech_16k) == pytest.approx(1.0, abs=1e-6)
    assert 0 <= stoi(speech_16k, noisy) < stoi(speech_16k, clean) <= 1


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide")
def test_pesq_of_silence_is_nan_not_an_exception():
    silence = np.zeros(16000, np.float32)
    assert np.isnan(pesq_wb(silence, silence))


def test_mel_distance_is_zero_for_identical_and_grows_with_noise(speech_16k):
    assert mel_distance(speech_16k, speech_16k) == 0.0
    assert 0 < mel_distance(speech_16k, with_noise(speech_16k, 30.0)) < mel_distance(speech_16k,
                                                                                       with_noise(speech_16k, 0.0))


def test_score_pair_refuses_unaligned_lengths(speech_16k):
    with pytest.raises(ValueError, match="exactly as long"):
        score_pair(speech_16k, speech_16k[:-1], ["si_sdr"])
    assert set(score_pair(speech_16k, speech_16k, ["si_sdr", "stoi"])) == {"si_sdr", "stoi"}


@pytest.fixture(scope="module")
def dnsmos():
    from codecfake.quality.dnsmos import Dnsmos

    return Dnsmos(batch_segments=3)


def clip(speech: np.ndarray, seconds: float) -> np.ndarray:
    """Speech tiled to `seconds`. DNSMOS tiles a file to >= 9.01 s and scores each 1 s hop of the tiling: 2.4 s
    costs one segment, 11.5 s two, 12.5 s three (a 1.5 s file, tiled to 12 s, would cost three)."""
    return np.tile(speech, int(np.ceil(seconds * 16000 / len(speech))))[: int(seconds * 16000)]


def test_dnsmos_is_in_range_and_separates_clean_from_distorted(dnsmos, speech_16k):
    clean = clip(speech_16k, 2.4)
    distorted = np.clip(with_noise(clean, -5.0) * 4, -1, 1)
    clean_scores, distorted_scores = dnsmos.score([clean, distorted])
    for scores in (clean_scores, distorted_scores):
        assert set(scores) == {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"}
        assert all(1.0 <= v <= 5.0 for v in scores.values())
    assert clean_scores["dnsmos_ovrl"] > distorted_scores["dnsmos_ovrl"] + 0.5
    assert clean_scores["dnsmos_bak"] > distorted_scores["dnsmos_bak"] + 0.5


def test_batched_dnsmos_equals_speechmos_per_file_scores(dnsmos, speech_16k):
    """Files of 1, 3 and 2 segments, cut across batches of 3, give what speechmos' own per-file call gives."""
    waves = [clip(speech_16k, 2.4), clip(speech_16k, 12.5), with_noise(clip(speech_16k, 11.5), 10.0)]
    batched = list(dnsmos.score(waves))
    for wave, scores in zip(waves, batched):
        reference = dnsmos.model(np.clip(wave, -1, 1), 16000, False)
        assert scores["dnsmos_ovrl"] == pytest.approx(reference["ovrl_mos"], abs=1e-5)
        assert scores["dnsmos_sig"] == pytest.approx(reference["sig_mos"], abs=1e-5)
        assert scores["dnsmos_bak"] == pytest.approx(reference["bak_mos"], abs=1e-5)
        assert scores["dnsmos_p808"] == pytest.approx(float(reference["p808_mos"]), abs=1e-5)
