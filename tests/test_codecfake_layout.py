"""Codecfake's layout (Xie et al.; xieyuankun/Codecfake README and raw_dataset.py), written from a run's manifests
and read as published: file names F0k_/C3-1_, label lines `<file> real|fake <method>`, which fakes each part
holds, the shared test reals, C7 over every split, and A3 without its AudioCaps reals."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake import codecfake_layout
from codecfake.cm import evalsets
from codecfake.cm.trials import SHARED_BONAFIDE

#: Registry codecs and the Codecfake condition each carries (codecfake/resources/codecs/*.yaml), plus one that
#: carries none (left out of the layout).
CODECS = {"SpeechTokenizer_hubert_avg": "C2", "Encodec_6b24k": "C4", "Encodec_3b24k": "C4-1", "DAC44_8kbps": "C7",
          "vocos_encodec_6": None}
UTTERANCES = {"train": ["p225_001", "SSB00050001"], "dev": ["p225_002"], "eval": ["p225_003", "SSB00050004"]}


def _wav(path: Path, value: float = 0.1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full(1600, value, np.float32), 16000)


def _manifests(results: Path) -> dict[str, pd.DataFrame]:
    """CoRS manifests (the columns the layout reads) with a real and every codec's fake of each utterance."""
    tables = {}
    for split, utts in UTTERANCES.items():
        rows = []
        for utt in utts:
            for subset in ["bonafide", *CODECS]:
                path = f"audio/{subset}/{split}/{utt}.wav"
                _wav(results / path)
                rows.append({"utt_id": utt if subset == "bonafide" else f"{utt}_{subset}", "source_utt": utt,
                             "subset": subset, "label": "bonafide" if subset == "bonafide" else "spoof",
                             "path": path})
        tables[split] = pd.DataFrame(rows)
    return tables


@pytest.fixture
def written(tmp_path):
    results = tmp_path / "results"
    counts = codecfake_layout.write(_manifests(results), list(CODECS), results, results / "codecfake")
    return results / "codecfake", counts


def _lines(root: Path, part: str) -> list[str]:
    return (root / "label" / f"{part}.txt").read_text().splitlines()


def test_train_and_dev_hold_each_real_with_its_c1_c6_fakes_only(written):
    root, _ = written
    assert sorted(_lines(root, "train")) == sorted([
        "p225_001.wav real 0", "F02_p225_001.wav fake 2", "F04_p225_001.wav fake 4",
        "SSB00050001.wav real 0", "F02_SSB00050001.wav fake 2", "F04_SSB00050001.wav fake 4"])
    assert sorted(_lines(root, "dev")) == ["F02_p225_002.wav fake 2", "F04_p225_002.wav fake 4",
                                           "p225_002.wav real 0"]
    assert sorted(p.name for p in (root / "train").iterdir()) == sorted(line.split()[0]
                                                                      for line in _lines(root, "train"))


def test_each_test_condition_is_the_test_reals_with_its_fakes_and_c7_takes_every_split(written):
    root, counts = written
    reals = ["SSB00050004.wav real 0", "p225_003.wav real 0"]
    assert sorted(_lines(root, "C2")) == sorted([*reals, "F02_p225_003.wav fake 2", "F02_SSB00050004.wav fake 2"])
    assert sorted(_lines(root, "C4-1")) == sorted([*reals, "C4-1_p225_003.wav fake C4-1",
                                                   "C4-1_SSB00050004.wav fake C4-1"])
    c7 = [f"F07_{u}.wav fake 7" for u in ("p225_001", "SSB00050001", "p225_002", "p225_003", "SSB00050004")]
    assert sorted(_lines(root, "C7")) == sorted([*reals, *c7])
    assert sorted(p.name for p in (root / "label").iterdir()) == ["C2.txt", "C4-1.txt", "C4.txt", "C7.txt",
                                                                   "dev.txt", "train.txt"]
    assert (root / "test" / "C7" / "F07_p225_001.wav").is_file()
    assert counts == {"train": 6, "dev": 3, "C2": 4, "C4": 4, "C4-1": 4, "C7": 7}


def test_a_run_without_any_codecfake_codec_is_refused(tmp_path):
    results = tmp_path / "results"
    with pytest.raises(codecfake_layout.LayoutError, match="none of the run's codecs runs a Codecfake condition"):
        codecfake_layout.write(_manifests(results), ["vocos_encodec_6"], results, results / "codecfake")


def test_the_written_layout_reads_back_one_shared_real_per_test_utterance(written):
    root, _ = written
    trials = evalsets.load("Codecfake", {"format": "codecfake", "root": str(root)})
    bonafide = trials[trials["label"] == "bonafide"]
    assert sorted(bonafide["utt_id"]) == ["test/SSB00050004.wav", "test/p225_003.wav"]
    assert set(bonafide["system"]) == {SHARED_BONAFIDE}
    spoof = trials[trials["label"] == "spoof"]
    assert spoof.groupby("system").size().to_dict() == {"C2": 2, "C4": 2, "C4-1": 2, "C7": 5}
    row = spoof[spoof["utt_id"] == "C4-1/C4-1_SSB00050004.wav"].iloc[0]
    assert (row["speaker"], row["source_utt"]) == ("SSB0005", "SSB00050004")
    train = evalsets.load("Codecfake_train", {"format": "codecfake", "root": str(root), "parts": ["train"]})
    assert sorted(train["label"]) == ["bonafide"] * 2 + ["spoof"] * 4


def _published(root: Path, audiocaps: bool) -> None:
    """A small copy of the Zenodo layout: test/C1 and test/C3-2 (the README's tree), C7 flat (the authors' own
    scripts' tree), A1 with its own VCTK reals, A3 whose AudioCaps reals may be absent."""
    labels = {"C1": ["p230_010.wav real 0", "F01_p230_010.wav fake 1"],
              "C3-2": ["p230_010.wav real 0", "C3-2_p230_010.wav fake C3-2"],
              "C7": ["p230_010.wav real 0", "F07_p230_010.wav fake 7", "F07_SSB00120001.wav fake 7"],
              "A1": ["p230_011.wav real L1", "p230_011_valle.wav fake L1"],
              "A3": ["Yabc.wav real L3", "audiogen_0001.wav fake L3"]}
    (root / "label").mkdir(parents=True)
    for part, lines in labels.items():
        (root / "label" / f"{part}.txt").write_text("\n".join(lines) + "\n")
        folder = root / part if part == "C7" else root / "test" / part
        for line in lines:
            if part == "A3" and line.startswith("Yabc") and not audiocaps:
                continue
            _wav(folder / line.split()[0])


def test_the_published_layout_is_read_with_c7_and_the_alm_sets(tmp_path):
    root = tmp_path / "Codecfake"
    _published(root, audiocaps=True)
    trials = evalsets.load("Codecfake", {"format": "codecfake", "root": str(root)})
    spoof = trials[trials["label"] == "spoof"].groupby("system").size().to_dict()
    assert spoof == {"C1": 1, "C3-2": 1, "C7": 2, "A1": 1, "A3": 1}
    bonafide = trials[trials["label"] == "bonafide"].set_index("utt_id")["system"].to_dict()
    assert bonafide == {"test/p230_010.wav": SHARED_BONAFIDE, "A1/p230_011.wav": "A1", "A3/Yabc.wav": "A3"}
    assert Path(trials.set_index("utt_id").at["C7/F07_p230_010.wav", "path"]).parent == (root / "C7").resolve()


def test_absent_audiocaps_reals_leave_a3_out_with_a_message_and_the_rest_usable(tmp_path, capsys):
    root = tmp_path / "Codecfake"
    _published(root, audiocaps=False)
    trials = evalsets.load("Codecfake", {"format": "codecfake", "root": str(root)})
    assert "A3" not in set(trials["system"]) and not trials["utt_id"].str.startswith("A3/").any()
    assert set(trials.loc[trials["label"] == "spoof", "system"]) == {"C1", "C3-2", "C7", "A1"}
    message = capsys.readouterr().err
    assert "A3 left out" in message and "AudioCaps" in message and "Yabc.wav" in message


def test_any_other_absent_file_is_an_error(tmp_path):
    root = tmp_path / "Codecfake"
    _published(root, audiocaps=True)
    (root / "test" / "C1" / "F01_p230_010.wav").unlink()
    with pytest.raises(evalsets.EvalSetError, match="1 of .* audio files are missing, e.g. .*F01_p230_010.wav"):
        evalsets.load("Codecfake", {"format": "codecfake", "root": str(root)})


@pytest.mark.parametrize("line,message", [("F01_x.wav spoof 1", "expected `<file> real|fake <method>`"),
                                          ("F09_x.wav fake 9", "method '9' is none of"),
                                          ("x.wav fake 0", "a fake with method 0"),
                                          ("../../etc/F01_x.wav fake 1", "a bare file name"),
                                          (".hidden.wav fake 1", "a bare file name")])
def test_a_malformed_label_line_is_named(tmp_path, line, message):
    root = tmp_path / "Codecfake"
    (root / "label").mkdir(parents=True)
    (root / "label" / "C1.txt").write_text(f"p1_001.wav real 0\n{line}\n")
    with pytest.raises(codecfake_layout.LayoutError, match=message):
        evalsets.load("Codecfake", {"format": "codecfake", "root": str(root)})


def test_no_label_file_is_named(tmp_path):
    with pytest.raises(evalsets.EvalSetError, match="no label/<condition>.txt"):
        evalsets.load("Codecfake", {"format": "codecfake", "root": str(tmp_path)})
