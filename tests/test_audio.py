"""Resampling (length, alias rejection), atomic writes, and the checks that reject bad input."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from codecfake.audio import (
    BadAudio,
    UnreadableAudio,
    fit_length,
    load_any,
    read_mono,
    resample,
    signal_checks,
    write_atomic,
)


@pytest.mark.parametrize("rate", [8000, 22050, 24000, 44100, 48000])
def test_resample_length_matches_duration(rate):
    for n in (rate, rate + 1, 3 * rate + 7):
        out = resample(np.zeros(n, np.float32), rate, 16000)
        assert abs(len(out) - n * 16000 / rate) <= 1


def _tone_level_db(x, rate, freq):
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window))
    bin_ = round(freq * len(x) / rate)
    return 20 * np.log10(spectrum[max(bin_ - 3, 0): bin_ + 4].max() / (window.sum() / 2) + 1e-20)


def test_resample_rejects_aliases_and_keeps_passband():
    rate = 48000
    t = np.arange(rate) / rate
    passband = resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), rate, 16000)
    assert abs(_tone_level_db(passband, 16000, 1000)) < 0.1
    # A 12 kHz tone is above 16 kHz's Nyquist: it must vanish, not fold back to 4 kHz.
    alias = resample(np.sin(2 * np.pi * 12000 * t).astype(np.float32), rate, 16000)
    assert _tone_level_db(alias, 16000, 4000) < -100


def test_write_atomic_leaves_no_temp_and_is_16bit(tmp_path):
    path = tmp_path / "a" / "x.wav"
    write_atomic(path, np.linspace(-1, 1, 1600, dtype=np.float32), 16000)
    info = sf.info(path)
    assert (info.samplerate, info.frames, info.subtype) == (16000, 1600, "PCM_16")
    assert [p.name for p in path.parent.iterdir()] == ["x.wav"]
    write_atomic(tmp_path / "y.flac", np.zeros(10, np.float32), 16000, "flac")
    assert sf.info(tmp_path / "y.flac").format == "FLAC"


def test_bad_inputs_are_rejected_with_reasons(tmp_path):
    sf.write(tmp_path / "stereo.wav", np.zeros((100, 2), np.float32), 16000)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1], np.float32), 16000, subtype="FLOAT")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    expected = {"stereo.wav": "multichannel", "empty.wav": "empty", "nan.wav": "non-finite",
                "corrupt.wav": "unreadable", "absent.wav": "missing: .*absent.wav does not exist"}
    for name, reason in expected.items():
        with pytest.raises(BadAudio, match=reason):
            read_mono(tmp_path / name)


def test_fit_length_and_checks():
    x = np.ones(10, np.float32)
    assert len(fit_length(x, 4)) == 4 and fit_length(x, 12)[-2:].tolist() == [0, 0]
    checks = signal_checks(np.array([0.5, -0.5, 0.5, -0.5], np.float32), 4)
    assert checks == {"samples": 4, "duration": 1.0, "peak": 0.5, "rms": 0.5, "clipped": 0, "finite": True}
    assert not signal_checks(np.array([np.inf], np.float32), 4)["finite"]


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAV", "FLOAT"), ("FLAC", "PCM_16")])
def test_truncated_file_is_rejected(tmp_path, fmt, subtype):
    """libsndfile reads a WAV cut in half as a valid shorter file: the header's declared size must be checked."""
    full = tmp_path / f"full.{fmt.lower()}"
    sf.write(full, np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32), 16000, format=fmt,
             subtype=subtype)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(data[: len(data) // 2])
    assert len(read_mono(full)[0]) == 16000
    with pytest.raises(BadAudio, match="truncated|unreadable|corrupt"):
        read_mono(cut)


def test_full_scale_noise_is_clipped_on_record_not_silently(tmp_path):
    """Full-scale noise resampled 48 -> 16 kHz overshoots (~2x): the table says what the file holds."""
    noise = np.random.default_rng(0).choice([-1.0, 1.0], 48000).astype(np.float32)
    resampled = resample(noise, 48000, 16000)
    assert np.abs(resampled).max() > 1.5
    checks = signal_checks(resampled, 16000)
    path = tmp_path / "n.wav"
    write_atomic(path, resampled, 16000)
    written, _ = sf.read(path, dtype="float32")
    assert checks["peak"] == pytest.approx(np.abs(written).max(), abs=1e-4)
    assert checks["clipped"] == int(np.count_nonzero(np.abs(resampled) > 1.0)) > 0
    assert checks["rms"] == pytest.approx(np.sqrt(np.mean(written.astype(np.float64) ** 2)), abs=1e-4)


def test_a_users_fifo_is_named_not_read(tmp_path):
    """`detect` / `trace` on a FIFO: a sentence for that file, not a run blocked on opening it."""
    import os

    from tests.deadline import deadline

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(UnreadableAudio, match="is a FIFO"):
        load_any(fifo)
