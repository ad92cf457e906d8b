"""Corpus -> manifest -> split -> shards."""
from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.corpus import CorpusError, read_user_manifest, read_vctk
from codecfake.errors import UserError
from codecfake.shard import length_batches, parse_shard, shard_name, shard_slice
from codecfake.split import SplitError, assign_splits
from codecfake.tables import read_tsv
from tests.deadline import deadline


def make_vctk(root, speakers=("p225", "p226", "p227"), utts=2, rate=48000):
    for spk in speakers:
        for n in range(1, utts + 1):
            for mic, scale in (("mic1", 0.1), ("mic2", 0.2)):
                path = root / "wav48_silence_trimmed" / spk / f"{spk}_{n:03d}_{mic}.flac"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, np.full(rate // 2 + n, scale, np.float32), rate)
            text = root / "txt" / spk / f"{spk}_{n:03d}.txt"
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text(f"Text {spk} {n}.\n")
    return root


def test_vctk_tree_to_manifest(tmp_path):
    root = make_vctk(tmp_path / "VCTK")
    (root / "txt" / "p227" / "p227_002.txt").unlink()  # VCTK has audio without text (p315): kept, empty text
    frame, _ = read_vctk(root, mic="mic2")
    assert list(frame.columns) == ["utt_id", "speaker", "path", "sample_rate", "samples", "duration", "text"]
    assert frame["utt_id"].tolist() == [f"{s}_{n:03d}" for s in ("p225", "p226", "p227") for n in (1, 2)]
    row = frame.iloc[1]
    assert row.speaker == "p225" and row.path.endswith("p225_002_mic2.flac") and row.text == "Text p225 2."
    assert (row.sample_rate, row.samples, row.duration) == (48000, 24002, round(24002 / 48000, 6))
    assert frame.iloc[-1].text == ""
    assert read_vctk(root)[0].iloc[0].path.endswith("_mic1.flac")


def test_absent_vctk_names_expected_path(tmp_path):
    with pytest.raises(CorpusError, match=str(tmp_path / "nope" / "wav48_silence_trimmed")):
        read_vctk(tmp_path / "nope")


def test_user_manifest_relative_paths_and_missing_columns(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "m.tsv").write_text("utt_id\tspeaker\tpath\nu1\tspk1\ta.wav\nu2\tspk1\tmissing.wav\n")
    frame, _ = read_user_manifest(tmp_path / "m.tsv")
    assert frame.loc[0, "path"] == str((tmp_path / "a.wav").resolve()) and frame.loc[0, "sample_rate"] == 8000
    assert frame.loc[1, "samples"] == 0  # unreadable: kept, the shard jobs reject it with the reason
    assert (f"1 audio file(s) cannot be used; the shard jobs reject them with the reason: m.tsv line 3: missing: "
            f"{tmp_path.resolve() / 'missing.wav'} does not exist") in capsys.readouterr().err
    (tmp_path / "bad.tsv").write_text("utt\tspeaker\tpath\n")
    with pytest.raises(CorpusError, match="missing column.*utt_id"):
        read_user_manifest(tmp_path / "bad.tsv")


def speakers_frame(speakers, per=3):
    return pd.DataFrame([{"utt_id": f"{s}_{n:03d}", "speaker": s} for s in speakers for n in range(per)])


def test_split_is_speaker_disjoint_and_complete():
    frame = speakers_frame(["p225", "p226", "p227", "p228", "p229", "p230"])
    parts = assign_splits(frame, ["p226", "p229"], ["p227", "p228"])
    assert set(parts["dev"].speaker) == {"p226", "p229"} and set(parts["eval"].speaker) == {"p227", "p228"}
    assert set(parts["train"].speaker) == {"p225", "p230"}
    assert sum(len(p) for p in parts.values()) == len(frame)


def test_split_missing_speaker_is_an_error_naming_the_field():
    frame = speakers_frame(["p225", "p226", "p227"])
    with pytest.raises(SplitError, match=r"split\.eval: speaker\(s\) p228 not in the corpus"):
        assign_splits(frame, ["p226"], ["p227", "p228"])
    with pytest.raises(SplitError, match="both"):
        assign_splits(frame, ["p226"], ["p226"])


@pytest.mark.parametrize("n_rows,count", [(0, 3), (1, 4), (10, 3), (44455, 64), (7, 7)])
def test_shards_partition_the_split(n_rows, count):
    frame = pd.DataFrame({"utt_id": [f"u{i:06d}" for i in np.random.default_rng(0).permutation(n_rows)]})
    slices = [shard_slice(frame, i, count) for i in range(count)]
    ids = [u for part in slices for u in part["utt_id"]]
    assert sorted(ids) == sorted(frame["utt_id"]) and len(ids) == len(set(ids))
    sizes = [len(s) for s in slices]
    assert max(sizes) - min(sizes) <= 1
    assert slices[0].equals(shard_slice(frame.sample(frac=1, random_state=1), 0, count))  # order-independent


def test_shard_names_round_trip():
    assert shard_name(7, 64) == "007of064" and parse_shard("007of064") == (7, 64)
    for bad in ("64of064", "x", "1of0", "007of064\n"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_length_batches_cover_everything_and_respect_budget():
    lengths = list(np.random.default_rng(0).integers(1000, 50000, 200))
    batches = list(length_batches(lengths, max_samples=200000, max_items=8))
    assert sorted(i for b in batches for i in b) == list(range(200))
    for batch in batches:
        assert len(batch) <= 8 and len(batch) * max(lengths[i] for i in batch) <= 200000 or len(batch) == 1
    spans = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert np.mean(spans) < 0.1 * (max(lengths) - min(lengths))  # similar lengths share a batch
    exact = list(length_batches([5, 5, 6, 5, 7, 7], 10**6, 10, exact=True))
    assert sorted(sorted(lengths_of) for lengths_of in [[[5, 5, 6, 5, 7, 7][i] for i in b] for b in exact]) == \
        [[5, 5, 5], [6], [7, 7]]


def test_paths_that_are_not_regular_files_are_named_never_opened(tmp_path, capsys):
    """A FIFO would block the manifest step forever if it were opened: it, a folder and a device are named for what
    they are, kept with 0 samples, and the shard jobs reject them with that sentence."""
    sf.write(tmp_path / "a.wav", np.zeros(800, np.float32), 8000)
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "empty.wav").write_bytes(b"")
    rows = [("u1", "a.wav"), ("u2", "pipe.wav"), ("u3", "folder.wav"), ("u4", "/dev/null"), ("u5", "empty.wav")]
    (tmp_path / "m.tsv").write_text("utt_id\tspeaker\tpath\n" + "".join(f"{u}\tp1\t{p}\n" for u, p in rows))
    with deadline(20):  # a read of the FIFO would hang
        frame, _ = read_user_manifest(tmp_path / "m.tsv")
    assert frame["samples"].tolist() == [800, 0, 0, 0, 0]
    err = capsys.readouterr().err
    assert "4 audio file(s) cannot be used" in err
    for line, kind in ((3, "a FIFO (named pipe)"), (4, "a folder"), (5, "a character device")):
        assert f"m.tsv line {line}: not a regular file: " in err and f" is {kind}, not an audio file" in err
    assert "m.tsv line 6: unreadable: empty.wav" in err


def test_bom_is_stripped_and_other_encodings_name_file_and_line(tmp_path):
    sf.write(tmp_path / "a.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "bom.tsv").write_bytes(b"\xef\xbb\xbfutt_id\tspeaker\tpath\nu1\tp1\ta.wav\n")
    frame, _ = read_user_manifest(tmp_path / "bom.tsv")
    assert frame["utt_id"].tolist() == ["u1"]
    (tmp_path / "latin1.tsv").write_bytes("utt_id\tspeaker\tpath\nu1\tp1\ta.wav\nu2\tp1\tcaf\u00e9.wav\n"
                                          .encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1.tsv line 3 is not UTF-8 text \(byte 0xe9 at column 10\)"):
        read_user_manifest(tmp_path / "latin1.tsv")
    with pytest.raises(UserError, match=r"latin1.tsv line 3 is not UTF-8"):
        read_tsv(tmp_path / "latin1.tsv")
    (tmp_path / "bom_split.tsv").write_bytes(b"\xef\xbb\xbfutt_id\tspeaker\nu1\tp1\n")
    assert list(read_tsv(tmp_path / "bom_split.tsv").columns) == ["utt_id", "speaker"]


@pytest.mark.parametrize("row,reason", [
    ("u2\tp1\ta.wav\textra", "4 fields where the header has 3: 'extra' after the 'path' field has no column"),
    ("u2\tp1", "2 fields where the header has 3: no 'path' field"),
    ("u2", "1 fields where the header has 3: no 'speaker' field"),
])
def test_row_with_extra_or_missing_fields_names_the_right_field(tmp_path, row, reason):
    sf.write(tmp_path / "a.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "m.tsv").write_text(f"utt_id\tspeaker\tpath\nu1\tp1\ta.wav\n\n{row}\n")
    with pytest.raises(CorpusError, match=re.escape(f"m.tsv line 4: {reason}")):
        read_user_manifest(tmp_path / "m.tsv")
    frame, rejects = read_user_manifest(tmp_path / "m.tsv", on_invalid="reject")
    assert frame["utt_id"].tolist() == ["u1"]
    assert rejects["row"].tolist() == ["m.tsv line 4"] and rejects["reason"].tolist() == [reason]
