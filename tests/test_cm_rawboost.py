"""RawBoost: every algorithm keeps length and finiteness, changes the signal, and is reproducible by seed; the
filters are zero-delay like the reference's; training augments the utterance, then crops."""
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.cm.data import CropDataset
from codecfake.cm.rawboost import ALGORITHMS, RawBoostParams, augment, fir


@pytest.fixture(scope="module")
def wave():
    t = np.arange(16000) / 16000
    return (0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * np.random.default_rng(0).standard_normal(t.size)).astype(
        np.float32)


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_shape_finiteness_and_reproducibility(wave, algo):
    out = augment(wave, algo, np.random.default_rng(7))
    assert out.shape == wave.shape and out.dtype == np.float32 and np.isfinite(out).all()
    assert np.array_equal(out, augment(wave, algo, np.random.default_rng(7)))
    if algo == 0:
        assert np.array_equal(out, wave)
    else:
        assert not np.allclose(out, wave)
        assert not np.array_equal(out, augment(wave, algo, np.random.default_rng(8)))


def test_additive_noise_keeps_the_snr_range(wave):
    noise = augment(wave, 3, np.random.default_rng(3)) - wave
    snr = 20 * np.log10(np.linalg.norm(wave) / np.linalg.norm(noise))
    assert 10 - 1e-6 <= snr <= 40 + 1e-6


def test_unknown_algorithm(wave):
    with pytest.raises(ValueError, match="RawBoost algorithm"):
        augment(wave, 9, np.random.default_rng(0))


def test_fir_removes_the_delay_as_the_reference_does():
    """An impulse at n0 through a symmetric L-tap FIR: the reference (filterFIR: lfilter on x padded with L+1 zeros,
    then drop (L+1)/2 samples at each end) puts the filter's centre tap at n0 - 1; the exact option at n0."""
    taps = np.hanning(21)  # symmetric: the centre tap (index 10) is the peak
    x = np.zeros(200)
    x[100] = 1.0
    reference = fir(taps, x)
    assert int(np.argmax(reference)) == 99
    assert np.allclose(reference[89:110], taps) and np.allclose(np.delete(reference, range(89, 110)), 0)
    assert int(np.argmax(fir(taps, x, exact_delay=True))) == 100
    assert reference.shape == x.shape


def test_fir_matches_numbers_of_the_reference_filter():
    """filterFIR of the reference RawBoost.py (run outside the repo) on x = 0..9 with taps [1, 2, 3]."""
    assert np.allclose(fir(np.array([1.0, 2.0, 3.0]), np.arange(10.0)), [4, 10, 16, 22, 28, 34, 40, 46, 42, 27])


@pytest.mark.parametrize("exact, lag", [(False, -1), (True, 0)])
def test_convolutive_noise_is_not_delayed(exact, lag):
    """LnL with one linear order: the output lines up with the input (a causal filter would lag by ~L/2)."""
    x = np.random.default_rng(1).standard_normal(8000) * 0.1
    params = RawBoostParams(orders=1, exact_delay=exact)
    y = augment(x, 1, np.random.default_rng(2), params=params)
    lags = np.arange(-200, 201)
    correlation = [np.dot(np.roll(y, -k)[300:-300], x[300:-300]) for k in lags]
    assert lags[int(np.argmax(correlation))] == lag


def test_training_augments_the_utterance_then_crops(tmp_path):
    """The crop is a piece of the augmented utterance (the filters saw its whole length), not an augmented crop."""
    path = tmp_path / "u.wav"
    audio = (0.3 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32)
    sf.write(path, audio, 16000)
    table = pd.DataFrame([{"utt_id": "u", "path": str(path), "label": "spoof"}])
    crop = CropDataset(table, 8000, train=True, rawboost=1, seed=3, crop="first")[0][0].numpy()
    whole = augment(sf.read(path, dtype="float32")[0], 1, np.random.default_rng([3, 0, 0]))
    assert np.allclose(crop, whole[:8000], atol=1e-6)
    assert not np.allclose(crop, augment(audio[:8000], 1, np.random.default_rng([3, 0, 0])), atol=1e-3)


def test_training_set_takes_the_exact_delay_option(tmp_path):
    from codecfake.cm.train import train_augmentation
    path = tmp_path / "u.wav"
    sf.write(path, (0.3 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32), 16000)
    table = pd.DataFrame([{"utt_id": "u", "path": str(path), "label": "spoof"}])
    cfg = {"rawboost": 1, "crop": "first", "rawboost_exact_delay": False}
    reference = CropDataset(table, 8000, **train_augmentation(cfg, 3))[0][0].numpy()
    exact = CropDataset(table, 8000, **train_augmentation({**cfg, "rawboost_exact_delay": True}, 3))[0][0].numpy()
    # same draws, filters shifted by one sample: the reference output leads the exact one by one sample
    assert np.allclose(reference[:-200], exact[1:-199], atol=1e-4) and not np.allclose(reference, exact, atol=1e-3)
