"""Provenance cards: what made a subset, next to its audio."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import yaml

from codecfake.cli import main
from codecfake.quality.provenance import config_hash, environment, summary

SHA = "a" * 64


def shard(tmp_path, name: str, rows: int, weights: str) -> str:
    frame = pd.DataFrame({"utt_id": [f"u{i}" for i in range(rows)], "duration": [1.5] * rows,
                          "weights": [weights] * rows})
    path = tmp_path / name
    frame.to_csv(path, sep="\t", index=False)
    return str(path)


def rejects(tmp_path, count: int) -> str:
    path = tmp_path / f"rejects{count}.tsv"
    pd.DataFrame({"source_utt": [f"r{i}" for i in range(count)], "reason": ["empty: 0 samples"] * count}) \
        .to_csv(path, sep="\t", index=False)
    return str(path)


def make_card(tmp_path, subset, mode, tables, reject_tables, checksums=None, config=None):
    out = tmp_path / "audio" / subset / "dev" / "provenance.json"
    argv = ["step", "provenance-card", "--subset", subset, "--split", "dev", "--mode", mode,
            "--env-file", "envs/encodec.yaml",
            "--config-json", json.dumps(config or {"codec": {"settings": {"bandwidth": 6.0}}, "seed": 0}),
            "--tables", *tables, "--rejects", *reject_tables, "--out", str(out)]
    if checksums:
        argv += ["--checksums", checksums]
    assert main(argv) == 0
    return out, json.loads(out.read_text())


def test_pretrained_card_records_codec_weights_hashes_env_and_counts(tmp_path):
    checksums = tmp_path / "Encodec_6b24k.tsv"
    checksums.write_text(f"Encodec_6b24k\tmodel\tweights/EnCodec/encodec_24khz-d7cc33bc.th\t-\t{SHA}\n")
    tables = [shard(tmp_path, "0.tsv", 3, "pretrained"), shard(tmp_path, "1.tsv", 2, "pretrained")]
    config = {"codec": {"settings": {"bandwidth": 6.0}}, "seed": 0}
    _, card = make_card(tmp_path, "Encodec_6b24k", "pretrained", tables, [rejects(tmp_path, 1)],
                        str(checksums), config)
    assert card["codec"]["family"] == "EnCodec" and card["codec"]["settings"] == {"bandwidth": 6.0}
    assert (card["codec"]["QUA"], card["codec"]["AUX"], card["codec"]["DEC"]) == ("Mvq", "None", "Time")
    assert card["codec"]["architecture"]  # the hyper-parameters the model was built from
    assert card["weights"] == {"mode": "pretrained", "random_weights": False,
                               "sources": card["weights"]["sources"], "sha256": {"model": SHA},
                               "commit": {"model": "-"}}
    assert "dl.fbaipublicfiles.com" in card["weights"]["sources"]["model"]["url"]
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    assert card["config_sha256"] == hashlib.sha256(canonical).hexdigest()
    assert card["rows"] == {"files": 5, "hours": round(7.5 / 3600, 6), "rejects": 1,
                            "weights_in_tables": ["pretrained"]}
    packages = card["environment"]["packages"]
    assert packages["numpy"]["installed"] == np.__version__ and packages["numpy"]["pinned"].startswith("==")
    assert set(packages) >= {"torch", "encodec", "soundfile"}


def test_random_weights_are_flagged_and_a_config_change_changes_the_hash(tmp_path):
    tables = [shard(tmp_path, "0.tsv", 2, "random")]
    _, card = make_card(tmp_path, "Encodec_6b24k", "random", tables, [])
    _, other = make_card(tmp_path, "Encodec_6b24k", "random", tables, [],
                         config={"codec": {"settings": {"bandwidth": 24.0}}, "seed": 0})
    assert card["weights"]["random_weights"] is True and "sha256" not in card["weights"]
    assert "not the codec's artifacts" in card["weights"]["note"]
    assert card["config_sha256"] != other["config_sha256"]
    assert config_hash({"b": 1, "a": 2}) == config_hash({"a": 2, "b": 1})


def test_bonafide_card_has_no_codec_and_the_summary_has_one_row_per_card(tmp_path):
    bonafide, card = make_card(tmp_path, "bonafide", "random", [shard(tmp_path, "b.tsv", 4, "none")], [])
    assert card["codec"] is None and card["weights"]["mode"] == "none" and card["label"] == "bonafide"
    codec, _ = make_card(tmp_path, "Encodec_6b24k", "random", [shard(tmp_path, "c.tsv", 4, "random")], [])
    table = summary([str(bonafide), str(codec)])
    assert table["subset"].tolist() == ["bonafide", "Encodec_6b24k"]
    assert table["random_weights"].tolist() == [False, True] and table["files"].tolist() == [4, 4]
    assert "encodec=0.1.1" in table["packages"].iloc[1] or "encodec=missing" in table["packages"].iloc[1]


def test_env_versions_are_read_from_the_env_file_pins(tmp_path):
    env = tmp_path / "env.yaml"
    env.write_text(yaml.safe_dump({"dependencies": ["python=3.11", {"pip": [
        "numpy==2.4.6", "surely-not-installed-pkg==1.0", "--extra-index-url https://example.invalid",
        "somepkg @ git+https://example.invalid/x.git@" + "0" * 40]}]}))
    record = environment(env)
    assert record["conda"] == {"python": "3.11"}
    assert record["packages"]["numpy"]["installed"] == np.__version__
    assert record["packages"]["surely-not-installed-pkg"] == {"pinned": "==1.0", "installed": None}
    assert record["packages"]["somepkg"]["pinned"].startswith("git+https://")
    assert len(record["packages"]) == 3
