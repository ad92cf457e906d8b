"""The shard jobs: bad input is listed with its reason and the rest of the shard is processed; the shard count
never changes an output byte; long utterances run in bounded chunks; batches waste little padding."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from codecfake import codec_loading
from codecfake.resynth import plan_codec_shard, resynthesize_chunked, run_bonafide_shard, run_codec_shard
from codecfake.shard import length_batches
from codecfake.tables import read_tsv
from tests.deadline import deadline


@pytest.fixture(scope="module")
def encodec():
    """EnCodec with batching on, as on an accelerator, so the tests mix lengths in a batch."""
    codec = codec_loading.load("Encodec_6b24k", weights="random", seed=0)
    codec.batching = True
    return codec


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
    stats = run_codec_shard(manifest, "000of001", encodec, res, res / "t.tsv", res / "r.tsv", batch_seconds=5,
                            batch_items=2, chunk_seconds=30)
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
    assert 0 <= stats.codec_idle_fraction < 1 and "codec_idle_fraction=" in stats.summary("job")


def test_bonafide_shard_is_only_resampled(tmp_path, speech_16k):
    manifest, good = split_manifest(tmp_path, speech_16k)
    res = tmp_path / "res"
    run_bonafide_shard(manifest, "000of001", res, res / "t.tsv", res / "r.tsv")
    table = read_tsv(res / "t.tsv")
    assert table["utt_id"].tolist() == sorted([*good, "p1_007"])  # too short for a codec, fine as bona fide
    audio, _ = sf.read(res / "audio/bonafide/dev/p1_002.wav", dtype="float32")
    assert np.abs(audio - good["p1_002"][0]).max() <= 1 / 32768  # 16 kHz input: only 16-bit quantisation
    assert read_tsv(res / "r.tsv")["source_utt"].tolist() == ["p1_004", "p1_005", "p1_006", "p1_008"]


def bad_file_manifest(tmp_path, speech_16k):
    """A split manifest as the manifest step writes it: files it could not use have samples and sample_rate 0
    (the shard jobs must reject them, not divide by them); one row has no path field at all."""
    audio = tmp_path / "in"
    audio.mkdir()
    sf.write(audio / "good_1.flac", speech_16k[:12000], 16000)
    sf.write(audio / "good_2.flac", speech_16k, 16000)
    (audio / "zero.wav").write_bytes(b"")
    os.mkfifo(audio / "fifo.wav")
    (audio / "folder.wav").mkdir()
    full = {"samples": "12000", "sample_rate": "16000"}
    rows = [{"utt_id": "p1_001", "path": str(audio / "good_1.flac"), **full},
            {"utt_id": "p1_002", "path": str(audio / "good_2.flac"), "samples": str(len(speech_16k)),
             "sample_rate": "16000"},
            {"utt_id": "p1_003", "path": str(audio / "missing.wav"), "samples": "0", "sample_rate": "0"},
            {"utt_id": "p1_004", "path": str(audio / "zero.wav"), "samples": "0", "sample_rate": "0"},
            {"utt_id": "p1_005", "path": str(audio / "fifo.wav"), "samples": "0", "sample_rate": "0"},
            {"utt_id": "p1_006", "path": str(audio / "folder.wav"), "samples": "", "sample_rate": ""},
            {"utt_id": "p1_007", "samples": "0", "sample_rate": "0"}]
    manifest = tmp_path / "dev.tsv"
    pd.DataFrame([{**row, "speaker": "p1", "split": "dev"} for row in rows]).to_csv(manifest, sep="\t", index=False)
    return manifest


BAD_FILE_REASONS = {"p1_003": "missing: ", "p1_004": "unreadable: zero.wav", "p1_005": "not a regular file: ",
                    "p1_006": "not a regular file: ", "p1_007": "missing: the manifest gives no path"}


@pytest.mark.parametrize("subset", ["bonafide", "Encodec_6b24k"])
def test_bad_files_are_rejects_with_reasons_never_a_failed_job(tmp_path, speech_16k, encodec, subset):
    manifest = bad_file_manifest(tmp_path, speech_16k)
    res = tmp_path / "res"
    with deadline(60):  # opening the FIFO would hang the job
        for shard in ("000of002", "001of002"):
            tables = res / f"{shard}.tsv", res / f"{shard}.rejects.tsv"
            if subset == "bonafide":
                stats = run_bonafide_shard(manifest, shard, res, *tables)
            else:
                stats = run_codec_shard(manifest, shard, encodec, res, *tables, batch_seconds=5, batch_items=2,
                                        chunk_seconds=30)
            assert f"{stats.written} written, {sum(stats.rejected.values())} rejected" in stats.summary(shard)
    written = pd.concat([read_tsv(res / f"{shard}.tsv") for shard in ("000of002", "001of002")])
    rejects = pd.concat([read_tsv(res / f"{shard}.rejects.tsv") for shard in ("000of002", "001of002")])
    assert sorted(written["source_utt"]) == ["p1_001", "p1_002"]
    assert all((res / path).is_file() for path in written["path"])
    reasons = dict(zip(rejects["source_utt"], rejects["reason"]))
    assert sorted(reasons) == sorted(BAD_FILE_REASONS)
    for utt, start in BAD_FILE_REASONS.items():
        assert reasons[utt].startswith(start), reasons[utt]
    assert reasons["p1_005"].endswith("is a FIFO (named pipe), not an audio file (fix the manifest's path column)")
    assert " is a folder, " in reasons["p1_006"]


def test_clipping_is_counted_in_the_job_summary(tmp_path):
    noise = np.random.default_rng(0).uniform(-1, 1, 48000).astype(np.float32)  # resampling overshoots full scale
    sf.write(tmp_path / "loud.wav", noise, 48000, subtype="FLOAT")
    sf.write(tmp_path / "quiet.wav", 0.1 * noise, 48000, subtype="FLOAT")
    rows = [{"utt_id": u, "speaker": "p1", "path": str(tmp_path / f"{u}.wav"), "split": "dev"}
            for u in ("loud", "quiet")]
    pd.DataFrame(rows).to_csv(tmp_path / "dev.tsv", sep="\t", index=False)
    res = tmp_path / "res"
    stats = run_bonafide_shard(tmp_path / "dev.tsv", "000of001", res, res / "t.tsv", res / "r.tsv")
    clipped = read_tsv(res / "t.tsv").set_index("utt_id")["clipped"].astype(int)
    assert clipped["loud"] > 0 and clipped["quiet"] == 0
    assert f"2 written, 0 rejected (none), 1 clipped ({clipped['loud']} samples beyond full scale)" in \
        stats.summary("bonafide 000of001")


def test_batched_equals_one_by_one_for_causal_codec(tmp_path, speech_16k, encodec):
    manifest, _ = split_manifest(tmp_path, speech_16k)
    outs = {}
    for items in (1, 16):
        res = tmp_path / f"res{items}"
        run_codec_shard(manifest, "000of001", encodec, res, res / "t.tsv", res / "r.tsv", batch_seconds=5,
                        batch_items=items, chunk_seconds=30)
        outs[items] = {p.name: sf.read(p)[0] for p in sorted((res / "audio").rglob("*.wav"))}
    assert outs[1].keys() == outs[16].keys()
    for name in outs[1]:
        assert np.abs(outs[1][name] - outs[16][name]).max() <= 2 / 32768, name


def varied_manifest(tmp_path, speech_16k, count=12):
    """Utterances in three length clusters, each a little spread, from three source rates: causal batches mix
    (and pad) lengths within a cluster."""
    folder = tmp_path / "varied"
    folder.mkdir()
    rng = np.random.default_rng(1)
    rows = []
    for index in range(count):
        rate = (16000, 24000, 48000)[index % 3]
        seconds = (0.4, 0.8, 1.2)[index % 4 % 3] + rng.uniform(0, 0.05)
        clip = np.roll(speech_16k, 2000 * index)[: int(seconds * 16000)]
        audio = np.interp(np.arange(int(seconds * rate)) * 16000 / rate, np.arange(len(clip)), clip)
        path = folder / f"p2_{index:03d}.wav"
        sf.write(path, audio.astype(np.float32), rate, subtype="FLOAT")
        rows.append({"utt_id": path.stem, "speaker": "p2", "path": str(path), "split": "eval"})
    manifest = tmp_path / "eval.tsv"
    pd.DataFrame(rows).to_csv(manifest, sep="\t", index=False)
    return manifest


def fake_codec(causal=True, batching=True, device="cpu"):
    return SimpleNamespace(sample_rate=24000, hop_length=320, causal=causal, batching=batching,
                           device=torch.device(device))


def test_batch_plan_does_not_depend_on_the_shard_count(tmp_path, speech_16k):
    split = read_tsv(varied_manifest(tmp_path, speech_16k))
    whole, _ = plan_codec_shard(split, "000of001", fake_codec(), 1.5, 4)
    names = [[row["utt_id"] for row in batch] for batch in whole]
    assert any(len(batch) > 1 for batch in names) and sorted(sum(names, [])) == sorted(split["utt_id"])
    for count in (2, 3, 5):
        parts = [plan_codec_shard(split, f"{i:03d}of{count:03d}", fake_codec(), 1.5, 4)[0] for i in range(count)]
        assert [[row["utt_id"] for row in batch] for part in parts for batch in part] == names, count
        assert sum(1 for part in parts if part) >= 2  # the work is spread, not all in one shard


def test_codec_without_batching_gain_gets_one_utterance_per_batch(tmp_path, speech_16k):
    split = read_tsv(varied_manifest(tmp_path, speech_16k))
    batches, _ = plan_codec_shard(split, "000of001", fake_codec(batching=False), 100, 16)
    assert len(batches) == len(split) and all(len(batch) == 1 for batch in batches)
    on_gpu, _ = plan_codec_shard(split, "000of001", fake_codec(batching=False, device="cuda"), 100, 16)
    assert max(map(len, on_gpu)) > 1  # the declaration is about CPU: accelerators batch


def test_padding_stays_under_the_bound():
    lengths = list(np.random.default_rng(0).integers(1000, 50000, 300))
    batches = list(length_batches(lengths, max_samples=400000, max_items=16, max_padding=0.1))
    assert sorted(i for b in batches for i in b) == list(range(300))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert 1 - sum(lengths[i] for i in batch) / (len(batch) * longest) <= 0.1
    assert max(len(b) for b in batches) > 1
    unbounded = list(length_batches([1000, 3000], 10**6, 16))
    bounded = list(length_batches([1000, 3000], 10**6, 16, max_padding=0.1))
    assert unbounded == [[0, 1]] and bounded == [[0], [1]]


def test_shard_count_changes_no_output_byte(tmp_path, speech_16k, encodec):
    manifest = varied_manifest(tmp_path, speech_16k)
    outputs = {}
    for count in (1, 2):
        res = tmp_path / f"res{count}"
        for index in range(count):
            shard = f"{index:03d}of{count:03d}"
            run_codec_shard(manifest, shard, encodec, res, res / f"{shard}.tsv", res / f"{shard}.r.tsv",
                            batch_seconds=1.5, batch_items=4, chunk_seconds=30)
        outputs[count] = {p.name: p.read_bytes() for p in (res / "audio").rglob("*.wav")}
    assert len(outputs[1]) == 12 and outputs[2] == outputs[1]


def test_stochastic_decoder_output_does_not_depend_on_shard_count_or_order(tmp_path, speech_16k, encodec,
                                                                          monkeypatch):
    """A decoder that draws noise (LLM-Codec, SemantiCodec): shards run in reverse order, as separate cluster jobs
    may, still write the bytes of the one-shard run."""
    deterministic = encodec.codec

    def noisy(wav):
        decoded = deterministic(wav)
        return decoded + 0.01 * torch.randn_like(decoded)

    monkeypatch.setattr(encodec, "codec", noisy)
    manifest = varied_manifest(tmp_path, speech_16k)
    outputs = {}
    for count in (1, 3):
        res = tmp_path / f"res{count}"
        for index in reversed(range(count)):
            shard = f"{index:03d}of{count:03d}"
            run_codec_shard(manifest, shard, encodec, res, res / f"{shard}.tsv", res / f"{shard}.r.tsv",
                            batch_seconds=1.5, batch_items=4, chunk_seconds=30)
        outputs[count] = {p.relative_to(res): sf.read(p)[0] for p in (res / "audio").rglob("*.wav")}
    assert len(outputs[1]) == 12 and outputs[3].keys() == outputs[1].keys()
    assert all(np.array_equal(outputs[3][name], audio) for name, audio in outputs[1].items())
    monkeypatch.setattr(encodec, "codec", deterministic)
    clean = tmp_path / "clean"
    run_codec_shard(manifest, "000of001", encodec, clean, clean / "t.tsv", clean / "r.tsv", batch_seconds=1.5,
                    batch_items=4, chunk_seconds=30)
    noise = [np.abs(sf.read(clean / name)[0] - audio).max() for name, audio in outputs[1].items()]
    assert min(noise) > 1e-3  # the noise is there: the equality above is not that of a deterministic decoder


def test_long_utterance_is_chunked_close_to_unchunked_for_a_causal_codec(speech_16k, encodec):
    rate = encodec.sample_rate
    wave = np.interp(np.arange(len(speech_16k) * 3 * rate // 16000) * 16000 / rate,
                     np.arange(len(speech_16k) * 2), np.concatenate([speech_16k, speech_16k[::-1]]))
    wave = wave.astype(np.float32)  # 4.5 s
    whole = encodec.resynthesize(torch.from_numpy(wave)[None])[0].numpy()[: len(wave)]
    chunk, overlap = 3 * rate // 2, rate // 4
    chunked = resynthesize_chunked(encodec, wave, chunk, overlap)
    assert len(chunked) == len(wave)
    first_join = chunk - overlap  # before it, the first chunk alone: a causal codec saw the same input
    assert np.abs(chunked[:first_join] - whole[:first_join]).max() < 1e-5
    snr = 10 * np.log10(np.sum(whole ** 2) / np.sum((chunked - whole) ** 2))
    assert snr > 12, snr  # measured 17.9 dB here (random weights of main 2026-12-01 11:50): joins cost little


def test_job_chunks_long_utterances_to_their_exact_length(tmp_path, speech_16k, encodec):
    folder = tmp_path / "long"
    folder.mkdir()
    sf.write(folder / "p3_001.wav", np.tile(speech_16k, 3), 16000)  # 4.5 s
    manifest = tmp_path / "long.tsv"
    pd.DataFrame([{"utt_id": "p3_001", "speaker": "p3", "path": str(folder / "p3_001.wav"),
                   "split": "eval"}]).to_csv(manifest, sep="\t", index=False)
    res = tmp_path / "res"
    stats = run_codec_shard(manifest, "000of001", encodec, res, res / "t.tsv", res / "r.tsv", batch_seconds=5,
                            batch_items=16, chunk_seconds=2)
    audio, rate = sf.read(res / "audio/Encodec_6b24k/eval/p3_001_Encodec_6b24k.wav")
    assert stats.written == 1 and len(audio) == 3 * len(speech_16k) and np.abs(audio).max() > 0
