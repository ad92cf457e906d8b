"""CoSG prompt lists: the paper's next-transcript pairing (hand-written expectations on a synthetic VCTK-layout
corpus), the MaskGCT-VCTK counts on VCTK 0.92 where it is present, the prompt list format and the E2 list reader."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from codecfake.corpus import read_vctk, vctk_layout
from codecfake.cosg.prompts import PROMPT_COLUMNS, PromptError, corpus_prompts, e2_prompts, read_prompts, write_prompts
from codecfake.demo import make_corpus
from codecfake.split import assign_splits
from codecfake.tables import write_tsv_atomic

DEV, EVAL = ["p226", "p229"], ["p227", "p228"]


def _text(speaker: str, number: int) -> str:
    """The demo corpus writer's transcript (codecfake/demo.py), written out here by hand."""
    return f"Synthetic demo utterance {number} of speaker {speaker}."


@pytest.fixture(scope="module")
def split_manifests(tmp_path_factory) -> dict[str, Path]:
    """Six speakers, three utterances each; p315 has no transcripts (as in VCTK 0.92) and p229_002 lost its own."""
    root = tmp_path_factory.mktemp("vctk") / "VCTK-Corpus-0.92"
    make_corpus(root, ["p225", "p226", "p227", "p228", "p229", "p315"], 3, 0.2, 0.3, seed=1)
    text_dir = root / vctk_layout()["text_dir"]
    for path in (text_dir / "p315").iterdir():
        path.unlink()
    (text_dir / "p229" / "p229_002.txt").unlink()
    manifest, _ = read_vctk(root)
    out = {}
    for split, frame in assign_splits(manifest, DEV, EVAL).items():
        out[split] = root.parent / f"{split}.tsv"
        write_tsv_atomic(frame, out[split])
    return out


def test_next_transcript_pairing_with_wrap_around(split_manifests, capsys):
    expected = {  # utt_id -> the utterance whose transcript it speaks
        "train": {"p225_001": "p225_002", "p225_002": "p225_003", "p225_003": "p225_001"},
        "dev": {"p226_001": "p226_002", "p226_002": "p226_003", "p226_003": "p226_001",
                "p229_001": "p229_003", "p229_003": "p229_001"},
        "eval": {"p227_001": "p227_002", "p227_002": "p227_003", "p227_003": "p227_001",
                 "p228_001": "p228_002", "p228_002": "p228_003", "p228_003": "p228_001"},
    }
    for split, pairs in expected.items():
        frame = corpus_prompts(split_manifests[split], split)
        assert list(frame.columns) == PROMPT_COLUMNS
        assert dict(zip(frame["utt_id"], frame["target_utt"])) == pairs
        assert (frame["prompt_utt"] == frame["utt_id"]).all() and (frame["split"] == split).all()
        for row in frame.to_dict("records"):
            speaker, number = row["utt_id"].split("_")
            assert row["prompt_text"] == _text(speaker, int(number))
            target_speaker, target_number = row["target_utt"].split("_")
            assert target_speaker == speaker and row["target_text"] == _text(speaker, int(target_number))
            assert Path(row["prompt_path"]).is_file() and row["prompt_path"].endswith(f"{row['utt_id']}_mic1.flac")
    log = capsys.readouterr().err
    assert "speaker p315 dropped: none of its 3 utterances has a transcript" in log
    assert "speaker p229: 1 of 3 utterances without a transcript left out" in log


def test_max_prompts_keeps_the_first_after_pairing(split_manifests):
    frame = corpus_prompts(split_manifests["eval"], "eval", max_prompts=2)
    assert list(frame["utt_id"]) == ["p227_001", "p227_002"]
    assert list(frame["target_utt"]) == ["p227_002", "p227_003"]


def test_a_split_without_transcripts_is_a_sentence(tmp_path):
    path = tmp_path / "train.tsv"
    pd.DataFrame({"utt_id": ["p315_001"], "speaker": ["p315"], "path": ["x.flac"], "text": [""]}).to_csv(
        path, sep="\t", index=False)
    with pytest.raises(PromptError, match="has a transcript, so there is nothing to prompt with"):
        corpus_prompts(path, "train")


VCTK_ROOT = Path(os.environ.get("CODECFAKE_VCTK_ROOT", "data/VCTK-Corpus-0.92"))


@pytest.mark.skipif(not (VCTK_ROOT / "txt").is_dir(), reason="VCTK 0.92 not here (set CODECFAKE_VCTK_ROOT)")
def test_maskgct_vctk_counts_on_vctk_092(tmp_path):
    """CodecFake+ Table II: 42,792 / 735 / 755 MaskGCT-VCTK spoofs (p315 dropped)."""
    manifest, _ = read_vctk(VCTK_ROOT)
    counts = {}
    for split, frame in assign_splits(manifest, DEV, EVAL).items():
        write_tsv_atomic(frame, tmp_path / f"{split}.tsv")
        counts[split] = len(corpus_prompts(tmp_path / f"{split}.tsv", split))
    assert counts == {"train": 42792, "dev": 735, "eval": 755}


def _prompt_row(**changes) -> dict:
    row = {"utt_id": "p225_001", "prompt_utt": "p225_001", "speaker": "p225", "split": "train",
           "prompt_path": "/data/p225_001_mic1.flac", "prompt_text": "Please call Stella.",
           "target_utt": "p225_002", "target_text": "Ask her to bring these things.", "language": "en"}
    return {**row, **changes}


def test_prompt_list_format_round_trip(tmp_path):
    path = tmp_path / "prompts.tsv"
    write_prompts(pd.DataFrame([_prompt_row()]), path)
    lines = path.read_text().splitlines()
    assert lines[0] == ("utt_id\tprompt_utt\tspeaker\tsplit\tprompt_path\tprompt_text\ttarget_utt\ttarget_text"
                        "\tlanguage")
    assert lines[1] == ("p225_001\tp225_001\tp225\ttrain\t/data/p225_001_mic1.flac\tPlease call Stella.\tp225_002"
                        "\tAsk her to bring these things.\ten")
    assert read_prompts(path).to_dict("records") == [_prompt_row()]


@pytest.mark.parametrize("rows, message", [
    ([{k: v for k, v in _prompt_row().items() if k != "target_text"}], "lacks column\\(s\\) target_text"),
    ([_prompt_row(target_text=" ")], "row 2 \\(p225_001\\): target_text is empty"),
    ([_prompt_row(utt_id="../x")], "utt_id '../x' is not a safe identifier"),
    ([_prompt_row(), _prompt_row()], "utt_id 'p225_001' is listed twice"),
])
def test_bad_prompt_lists_are_sentences(tmp_path, rows, message):
    path = tmp_path / "prompts.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    with pytest.raises(PromptError, match=message):
        read_prompts(path)
    with pytest.raises(PromptError, match="does not exist"):
        read_prompts(tmp_path / "missing.tsv")


E2_LINES = [
    "1089-134686-0000\t3.2\tHe hoped there would be stew.\t1089-134686-0004\t6.1\tHello Bertie, any good in your mind?",
    "1089-134686-0000\t3.2\tHe hoped there would be stew.\t1089-134686-0007\t5.0\tWe can't do it.",
    "121-121726-0000\t4.0\t\t121-121726-0001\t4.5\tAlso a popular contrivance.",
    "2300-131720-0000\t2.9\tThe Paris exhibition.\t2300-131720-0002\t7.7\tHe was a great   inventor.",
]


def test_e2_list_reader(tmp_path, capsys):
    listing = tmp_path / "cross_sentence.lst"
    listing.write_text("\n".join(E2_LINES) + "\n")
    frame = e2_prompts(listing, tmp_path / "test-clean")
    assert list(frame["utt_id"]) == ["1089-134686-0004", "1089-134686-0007", "2300-131720-0002"]
    assert list(frame["prompt_utt"]) == ["1089-134686-0000", "1089-134686-0000", "2300-131720-0000"]
    assert list(frame["speaker"]) == ["1089", "1089", "2300"] and set(frame["split"]) == {"eval"}
    assert frame["prompt_path"].iloc[2] == str((tmp_path / "test-clean/2300/131720/2300-131720-0000.flac").resolve())
    assert frame["target_text"].iloc[2] == "He was a great inventor."
    assert frame["prompt_text"].iloc[0] == "He hoped there would be stew."
    assert "line 3 (121-121726-0001) left out: no ref transcript" in capsys.readouterr().err
    assert list(e2_prompts(listing, tmp_path, max_prompts=1)["utt_id"]) == ["1089-134686-0004"]


@pytest.mark.parametrize("line, message", [
    ("1089-134686-0000\t3.2\ttext\t1089-134686-0004\t6.1", "line 1: 5 tab-separated fields, expected 6"),
    ("../etc\t3.2\ttext\t1089-134686-0004\t6.1\ttext", "ref_utt '../etc' is not a LibriSpeech utterance id"),
])
def test_bad_e2_lists_are_sentences(tmp_path, line, message):
    listing = tmp_path / "list.lst"
    listing.write_text(line + "\n")
    with pytest.raises(PromptError, match=message):
        e2_prompts(listing, tmp_path)
    with pytest.raises(PromptError, match="does not exist"):
        e2_prompts(tmp_path / "nothere.lst", tmp_path)
