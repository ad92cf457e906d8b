"""RawBoost: every algorithm keeps length and finiteness, changes the signal, and is reproducible by seed."""
import numpy as np
import pytest

from codecfake.cm.rawboost import ALGORITHMS, augment


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
