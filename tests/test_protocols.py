"""Protocol files in the published CodecFake+ format, built from shard tables with taxonomy from the registry."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from codecfake.protocols import (
    ProtocolError,
    build_manifest,
    protocol_lines,
    read_protocol,
    summarize,
    write_split,
)
from codecfake.tables import TextError, read_tsv, write_tsv_atomic

# Lines as they appear in the published CodecFake+ CoRS protocols.
PUBLISHED = ["p260 p260_075 - REAL REAL REAL bonafide",
             "p260 p260_075_Encodec_24b24k - Trad TIME MVQ spoof",
             "p260 p260_075_vocos_encodec_6 - Trad FREQ MVQ spoof"]
LINE = re.compile(r"^\S+ \S+ - (Trad|SEM|Disent|REAL) (TIME|FREQ|REAL) (MVQ|SVQ|SQ|REAL) (bonafide|spoof)$")


def shard_table(path, rows):
    write_tsv_atomic(pd.DataFrame(rows), path)
    return path


def row(utt, subset, **extra):
    file_id = utt if subset == "bonafide" else f"{utt}_{subset}"
    return {"utt_id": file_id, "source_utt": utt, "speaker": utt.split("_")[0], "split": "train",
            "subset": subset, "path": f"audio/{subset}/train/{file_id}.wav", "samples": "16000",
            "duration": "1.0", "clipped": "0", "weights": "random", **extra}


def test_lines_match_published_format(tmp_path):
    bona = shard_table(tmp_path / "b.tsv", [row("p260_075", "bonafide")])
    spoof = shard_table(tmp_path / "c.tsv", [row("p260_075", "Encodec_24b24k"), row("p260_075", "vocos_encodec_6")])
    manifest = build_manifest([bona], [spoof], ["Encodec_24b24k", "vocos_encodec_6"])
    assert protocol_lines(manifest) == PUBLISHED
    assert all(LINE.match(line) for line in PUBLISHED)


def test_round_trip_and_orphans(tmp_path):
    bona = shard_table(tmp_path / "b.tsv", [row("p261_001", "bonafide"), row("p260_002", "bonafide")])
    spoof = shard_table(tmp_path / "c.tsv", [row("p260_002", "DAC24"), row("p261_001", "DAC24"),
                                             row("p999_001", "DAC24")])  # its bona fide was rejected
    rejects = shard_table(tmp_path / "r.tsv", [{"source_utt": "p999_001", "reason": "empty: 0 samples"}])
    out = tmp_path / "out"
    manifest = write_split([bona], [spoof], ["DAC24"], [rejects], out / "p.txt", out / "m.tsv", out / "r.tsv")
    parsed = read_protocol(out / "p.txt")
    assert parsed["utt_id"].tolist() == ["p260_002", "p260_002_DAC24", "p261_001", "p261_001_DAC24"]
    assert parsed[["AUX", "DEC", "VQ", "label"]].values.tolist()[1] == ["Trad", "TIME", "MVQ", "spoof"]
    assert parsed["utt_id"].tolist() == manifest["utt_id"].tolist()
    assert manifest.set_index("utt_id").loc["p261_001_DAC24", "codec_id"] == "B"
    assert pd.read_csv(out / "r.tsv", sep="\t")["reason"].tolist() == ["empty: 0 samples"]


# Lines in each published layout (CodecFake-Source-Tracing @ 91516e0, w2v2_aasist_baseline/metadata/).
TAXONOMY_LIST = ["p260 p260_075 - REAL REAL REAL bonafide", "p260 p260_075_Encodec_24b24k - Trad TIME MVQ spoof"]
CORS_ALL = ["p227 p227_260_snac_24khz - - spoof", "p228 p228_328 - - bonafide"]
COSG_SEEN = ["CLAMTTS 0_ours - MVQ spoof", "CLAMTTS 0_ref - REAL bonafide"]
COSG_ALL = ["VIOLA audios_entts_ref_14 - bonafide", "ELLAV 1_gen - - spoof"]


def protocol_file(tmp_path, lines, name="p.txt"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("lines,expected", [
    (TAXONOMY_LIST, [["p260", "p260_075", "REAL", "REAL", "REAL", "bonafide"],
                     ["p260", "p260_075_Encodec_24b24k", "Trad", "TIME", "MVQ", "spoof"]]),
    (CORS_ALL, [["p227", "p227_260_snac_24khz", "-", "-", "-", "spoof"],
                ["p228", "p228_328", "-", "-", "-", "bonafide"]]),
    (COSG_SEEN, [["CLAMTTS", "0_ours", "-", "-", "MVQ", "spoof"], ["CLAMTTS", "0_ref", "-", "-", "REAL", "bonafide"]]),
    (COSG_ALL, [["VIOLA", "audios_entts_ref_14", "-", "-", "-", "bonafide"],
                ["ELLAV", "1_gen", "-", "-", "-", "spoof"]]),
])
def test_every_published_layout_reads_with_its_labels(tmp_path, lines, expected):
    frame = read_protocol(protocol_file(tmp_path, lines))
    assert frame.columns.tolist() == ["speaker", "utt_id", "AUX", "DEC", "VQ", "label"]
    assert frame.values.tolist() == expected


@pytest.mark.parametrize("bad,message", [
    ("p260 p260_075_x - Trad TIME MVQ spoof extra", "8 fields"),
    ("p260 p260_075_x - Trad TIME spoof", "6 fields"),
    ("p260 p260_075_x spoof", "3 fields"),
    ("p260 p260_075_x X Trad TIME MVQ spoof", "third field is 'X'"),
    ("p260 p260_075_x - TIME Trad MVQ spoof", "AUX 'TIME' is not one of"),
    ("p260 p260_075_x - Trad TIME MVQ fake", "label 'fake' is not bonafide or spoof"),
    ("p260 p260_075_x - - Spoof", "label 'Spoof'"),
])
def test_malformed_line_is_an_error_naming_file_and_line(tmp_path, bad, message):
    path = protocol_file(tmp_path, [*TAXONOMY_LIST, bad])
    with pytest.raises(ProtocolError, match=rf"{re.escape(str(path))} line 3: {re.escape(message)}"):
        read_protocol(path)


def test_published_typo_is_accepted_with_a_warning_naming_the_line(tmp_path, capsys):
    path = protocol_file(tmp_path, [*CORS_ALL, "p228 p228_241_vocos_encodec_6 - - spoofs"])
    frame = read_protocol(path)
    assert frame["label"].tolist() == ["spoof", "bonafide", "spoof"]
    assert f"{path} line 3: label 'spoofs' read as 'spoof'" in capsys.readouterr().err


def test_protocol_lines_refuse_fields_that_would_break_a_line():
    good = {"speaker": "p1", "utt_id": "p1_001", "AUX": "REAL", "DEC": "REAL", "VQ": "REAL", "label": "bonafide"}
    for bad in ({"utt_id": "p1 001"}, {"utt_id": ""}, {"speaker": "p\t1"}):
        with pytest.raises(ProtocolError, match="empty or holds whitespace"):
            protocol_lines(pd.DataFrame([{**good, **bad}]))
    with pytest.raises(ProtocolError, match="two lines"):
        protocol_lines(pd.DataFrame([good, good]))


def test_bonafide_every_codec_rejected_leaves_the_protocol(tmp_path):
    bona = shard_table(tmp_path / "b.tsv", [row("p260_001", "bonafide"), row("p260_002", "bonafide")])
    spoof = shard_table(tmp_path / "c.tsv", [row("p260_002", "DAC24")])
    rejects = shard_table(tmp_path / "r.tsv", [{"source_utt": "p260_001", "speaker": "p260", "split": "train",
                                                "subset": "DAC24", "source_path": "/c/p260_001.flac",
                                                "reason": "too short: 8 samples"}])
    out = tmp_path / "out"
    manifest = write_split([bona], [spoof], ["DAC24"], [rejects], out / "p.txt", out / "m.tsv", out / "r.tsv")
    assert manifest["utt_id"].tolist() == ["p260_002", "p260_002_DAC24"]
    assert read_protocol(out / "p.txt")["utt_id"].tolist() == ["p260_002", "p260_002_DAC24"]
    listed = pd.read_csv(out / "r.tsv", sep="\t")
    assert listed[["source_utt", "subset"]].values.tolist() == [["p260_001", "DAC24"], ["p260_001", "bonafide"]]
    assert listed["reason"].iloc[1].startswith("unpaired:") and listed["source_path"].iloc[1] == "/c/p260_001.flac"


def test_cors_manifest_lists_clipping_and_the_summary_counts_it(tmp_path):
    bona = shard_table(tmp_path / "b.tsv", [row("p260_001", "bonafide"), row("p260_002", "bonafide")])
    spoof = shard_table(tmp_path / "c.tsv", [row("p260_001", "DAC24", clipped="37"), row("p260_002", "DAC24")])
    empty_rejects = tmp_path / "r.tsv"
    empty_rejects.write_text("source_utt\treason\n")
    out = tmp_path / "out"
    manifest = write_split([bona], [spoof], ["DAC24"], [empty_rejects], out / "p.txt", out / "m.tsv", out / "r.tsv")
    written = read_tsv(out / "m.tsv").set_index("utt_id")["clipped"].to_dict()
    assert written == {"p260_001": "0", "p260_001_DAC24": "37", "p260_002": "0", "p260_002_DAC24": "0"}
    assert "2 bona fide, 2 spoof files (1 clipped)" in summarize(manifest, out / "r.tsv", "train")


def test_protocol_with_a_bom_or_latin1_bytes(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(TAXONOMY_LIST).encode())
    assert read_protocol(path)["speaker"].tolist() == ["p260", "p260"]
    path = tmp_path / "latin1.txt"
    path.write_bytes((TAXONOMY_LIST[0] + "\np\u00e9 x - REAL REAL REAL bonafide\n").encode("latin-1"))
    with pytest.raises(TextError, match=r"latin1.txt line 2 is not UTF-8 text \(byte 0xe9 at column 2\)"):
        read_protocol(path)
