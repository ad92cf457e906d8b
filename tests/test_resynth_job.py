"""The shard jobs: bad input is listed with its reason and the rest of the shard is processed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import codec_wrappers
from codecfake.resynth import run_bonafide_shard, run_codec_shard
from codecfake.tables import read_tsv


@pytest.fixture(scope="module")
def encodec():
    return codec_wrappers.load("Encodec_6b24k", weights="random", seed=0)


def split_manifest(tmp_path, speech_16k):
    audio = tmp_path / "in"
    audio.mkdir()
    good = {"p1_001": (speech_16k[:12000], 16000), "p1_002": (speech_16k, 16000),
            "p1_003": (np.repeat(speech_16k[:8000], 3), 48000)}
    for utt, (x, rate) in good.items():
        sf.write(audio / f"{utt}.flac", x, rate)
    sf.write(audio / "p1_004.wav", np.zeros((800, 2), np.float32), 16000)
    sf.write(audio / "p1_005.wav", np.zeros(0, np.float32), 16000)
    sf.write(audio / "p1_006.wav", np.full(4000, np.nan, np.float32), 16000, subtype="FLOAT")
    sf.write(audio / "p1_007.wav", np.zeros(100, np.float32), 16000)  # shorter than one codec frame
    (audio / "p1_008.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    paths = {**{u: audio / f"{u}.flac" for u in good},
             **{f"p1_00{i}": audio / f"p1_00{i}.wav" for i in range(4, 9)}}
    frame = pd.DataFrame([{"utt_id": u, "speaker": "p1", "path": str(p), "split": "dev"} for u, p in paths.items()])
    manifest = tmp_path / "dev.tsv"
    frame.to_csv(manifest, sep="\t", index=False)
    return manifest, good


def test_codec_shard_rejects_bad_input_and_writes_the_rest(tmp_path, speech_16k, encodec):
    manifest, good = split_manifest(tmp_path, speech_16k)
    res = tmp_path / "res"
    stats = run_codec_shard(manifest, "000of001", encodec, res, res / "t.tsv", res / "r.tsv", batch_items=2)
    table, rejects = read_tsv(res / "t.tsv"), read_tsv(res / "r.tsv")
    assert table["source_utt"].tolist() == sorted(good) and stats.written == 3
    reasons = dict(zip(rejects["source_utt"], rejects["reason"]))
    assert reasons["p1_004"].startswith("multichannel") and reasons["p1_005"].startswith("empty")
    assert reasons["p1_006"].startswith("non-finite") and reasons["p1_007"].startswith("too short")
    assert reasons["p1_008"].startswith("unreadable")
    for record in table.to_dict("records"):
        audio, rate = sf.read(res / record["path"])
        source, source_rate = good[record["source_utt"]]
        assert rate == 16000 and len(audio) == round(len(source) * 16000 / source_rate)
        assert record["path"] == f"audio/Encodec_6b24k/dev/{record['source_utt']}_Encodec_6b24k.wav"
        assert record["weights"] == "random" and record["finite"] == "True"
    assert 0 < stats.codec_seconds <= stats.wall_seconds


def test_bonafide_shard_is_only_resampled(tmp_path, speech_16k):
    manifest, good = split_manifest(tmp_path, speech_16k)
    res = tmp_path / "res"
    run_bonafide_shard(manifest, "000of001", res, res / "t.tsv", res / "r.tsv")
    table = read_tsv(res / "t.tsv")
    assert table["utt_id"].tolist() == sorted([*good, "p1_007"])  # too short for a codec, fine as bona fide
    audio, _ = sf.read(res / "audio/bonafide/dev/p1_002.wav", dtype="float32")
    assert np.abs(audio - good["p1_002"][0]).max() <= 1 / 32768  # 16 kHz input: only 16-bit quantisation
    assert read_tsv(res / "r.tsv")["source_utt"].tolist() == ["p1_004", "p1_005", "p1_006", "p1_008"]


def test_batched_equals_one_by_one_for_causal_codec(tmp_path, speech_16k, encodec):
    manifest, _ = split_manifest(tmp_path, speech_16k)
    outs = {}
    for items in (1, 16):
        res = tmp_path / f"res{items}"
        run_codec_shard(manifest, "000of001", encodec, res, res / "t.tsv", res / "r.tsv", batch_items=items)
        outs[items] = {p.name: sf.read(p)[0] for p in sorted((res / "audio").rglob("*.wav"))}
    assert outs[1].keys() == outs[16].keys()
    for name in outs[1]:
        assert np.abs(outs[1][name] - outs[16][name]).max() <= 2 / 32768, name
