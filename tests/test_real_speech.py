"""Real speech (Debian codec2-examples, 8 kHz recordings of several speakers) through the whole data path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake import codec_loading
from codecfake.corpus import read_user_manifest
from codecfake.resynth import run_bonafide_shard, run_codec_shard
from codecfake.split import assign_splits
from codecfake.tables import read_tsv, write_tsv_atomic
from tests.conftest import CODEC2_WAVS

SPEAKERS = {"hts1a": "male1", "morig": "male2", "forig": "female1", "big_dog": "female2", "cross": "male3"}


@pytest.fixture(scope="module")
def codec2_manifest(tmp_path_factory):
    if not CODEC2_WAVS.is_dir():
        pytest.skip("Debian codec2-examples is not installed (apt-get install codec2-examples)")
    folder = tmp_path_factory.mktemp("codec2")
    rows = [{"utt_id": f"{speaker}_{name}", "speaker": speaker, "path": str(CODEC2_WAVS / f"{name}.wav")}
            for name, speaker in SPEAKERS.items()]
    pd.DataFrame(rows).to_csv(folder / "manifest.tsv", sep="\t", index=False)
    return folder


def test_real_speech_user_manifest_split_and_resynthesis(codec2_manifest):
    frame, _ = read_user_manifest(codec2_manifest / "manifest.tsv")
    assert set(frame.sample_rate) == {8000}
    parts = assign_splits(frame, dev=["female1"], eval=["female2"])
    split = codec2_manifest / "train.tsv"
    write_tsv_atomic(parts["train"].assign(split="train"), split)
    results = codec2_manifest / "results"
    run_bonafide_shard(split, "000of001", results, results / "b.tsv", results / "br.tsv")
    codec = codec_loading.load("Encodec_24b24k", weights="random", seed=0)
    run_codec_shard(split, "000of001", codec, results, results / "c.tsv", results / "cr.tsv", batch_seconds=5,
                    batch_items=16, chunk_seconds=30)
    bona, spoof = read_tsv(results / "b.tsv"), read_tsv(results / "c.tsv")
    assert len(bona) == len(spoof) == 3 and read_tsv(results / "cr.tsv").empty
    for b, s in zip(bona.itertuples(), spoof.itertuples()):
        x, rate_x = sf.read(results / b.path)
        y, rate_y = sf.read(results / s.path)
        assert rate_x == rate_y == 16000 and len(x) == len(y)
        source, _ = sf.read(next(r.path for r in frame.itertuples() if r.utt_id == b.source_utt))
        assert len(x) == len(source) * 2  # 8 kHz -> 16 kHz
        assert np.isfinite(y).all() and np.abs(y).max() > 0
        # The bona fide keeps no energy above the source's 4 kHz Nyquist: it was only resampled.
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        assert spectrum[len(spectrum) // 2 + 100:].sum() < 1e-6 * spectrum.sum()
