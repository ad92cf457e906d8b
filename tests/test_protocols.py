"""Protocol files in the published CodecFake+ format, built from shard tables with taxonomy from the registry."""
from __future__ import annotations

import re

import pandas as pd

from codecfake.protocols import build_manifest, protocol_lines, read_protocol, write_split
from codecfake.tables import write_tsv_atomic

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
            "duration": "1.0", "weights": "random", **extra}


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
