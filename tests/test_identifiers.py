"""Hostile and careless manifests: unsafe identifiers stop at the manifest step; nothing is written outside
results_dir; empty or unreadable manifests say what is wrong."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.cli import main
from codecfake.corpus import CorpusError, read_user_manifest
from codecfake.paths import OutsideResultsError, inside_results
from codecfake.resynth import run_bonafide_shard
from codecfake.tables import read_tsv, write_tsv_atomic


def manifest(tmp_path, rows, name="m.tsv"):
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    path = tmp_path / name
    pd.DataFrame([{"utt_id": u, "speaker": s, "path": "a.wav"} for u, s in rows]).to_csv(path, sep="\t", index=False)
    return path


@pytest.mark.parametrize("utt,speaker,reason", [
    ("../../../../escaped_rel", "p1", "not a safe identifier"),
    ("/tmp/absolute", "p1", "not a safe identifier"),
    ("has space", "p1", "not a safe identifier"),
    ("a/b", "p1", "not a safe identifier"),
    (".hidden", "p1", "not a safe identifier"),
    ("", "p1", "not a safe identifier"),
    ("abc\n", "p1", "utt_id 'abc\\\\n' is not a safe identifier"),
    ("ok_1", "p1\n", "speaker 'p1\\\\n' is not a safe identifier"),
    ("ok_1", "../spk", "speaker '../spk' is not a safe identifier"),
    ("u1_Encodec_24b24k", "p1", "collides with the Encodec_24b24k resynthesis of utt_id 'u1'"),
    ("u1", "p1", "'u1' is duplicated"),
])
def test_bad_identifier_is_an_error_naming_the_row(tmp_path, utt, speaker, reason):
    path = manifest(tmp_path, [("u1", "p1"), ("u2", "p1"), (utt, speaker)])
    with pytest.raises(CorpusError, match=f"m.tsv line 4: .*{reason}".replace("(", r"\(").replace(")", r"\)")):
        read_user_manifest(path)


def test_reject_mode_quarantines_rows_with_reasons(tmp_path):
    path = manifest(tmp_path, [("u1", "p1"), ("../evil", "p1"), ("u1_DAC24", "p1"), ("u.2-x", "p_2")])
    frame, rejects = read_user_manifest(path, on_invalid="reject")
    assert frame["utt_id"].tolist() == ["u.2-x", "u1"]
    assert rejects["utt_id"].tolist() == ["../evil", "u1_DAC24"]
    assert rejects["row"].tolist() == ["m.tsv line 3", "m.tsv line 4"]
    assert rejects["reason"].str.contains("not a safe identifier|collides").all()


@pytest.mark.parametrize("content,message", [
    ("", "is empty: it needs a header line"),
    ("utt_id\tspeaker\tpath\n", "has a header but no rows"),
    ("utt\tspeaker\tpath\nu1\tp\ta.wav\n", "missing column.*utt_id"),
])
def test_empty_or_headerless_manifest_is_a_clear_cli_error(tmp_path, capsys, content, message):
    (tmp_path / "m.tsv").write_text(content)
    code = main(["step", "corpus-manifest", "--user-manifest", str(tmp_path / "m.tsv"),
                 "--out", str(tmp_path / "out.tsv"), "--rejects", str(tmp_path / "rejects.tsv"),
                 "--invalid-ids", "error"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(tmp_path / "m.tsv") in err
    assert pd.Series([err]).str.contains(message).all(), err
    assert not (tmp_path / "out.tsv").exists()


def test_inside_results_refuses_escapes(tmp_path):
    root = tmp_path / "results"
    assert inside_results(root, root / "audio" / "x.wav") == (root / "audio" / "x.wav").resolve()
    for escape in (root / ".." / "x.wav", root / "audio" / ".." / ".." / "x.wav", tmp_path / "elsewhere.wav"):
        with pytest.raises(OutsideResultsError, match="outside results_dir"):
            inside_results(root, escape)
    (root / "link").parent.mkdir(parents=True)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(OutsideResultsError):
        inside_results(root, root / "link" / "x.wav")


def test_a_traversal_utt_id_that_reached_a_split_writes_nothing_outside(tmp_path):
    """Even a split table edited by hand (past the manifest check) cannot make a shard job write outside."""
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    split = tmp_path / "split.tsv"
    row = {"utt_id": "../../../../../../escaped", "speaker": "p1", "path": str(tmp_path / "a.wav"), "split": "train"}
    write_tsv_atomic(pd.DataFrame([row]), split)
    results = tmp_path / "deep" / "results"
    with pytest.raises(OutsideResultsError):
        run_bonafide_shard(split, "000of001", results, results / "t.tsv", results / "r.tsv")
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {p.relative_to(tmp_path) for p in (tmp_path / "a.wav", split)}


def test_valid_manifest_via_cli_writes_empty_rejects(tmp_path):
    path = manifest(tmp_path, [("u1", "p1"), ("u2", "p2")])
    assert main(["step", "corpus-manifest", "--user-manifest", str(path), "--out", str(tmp_path / "out.tsv"),
                 "--rejects", str(tmp_path / "rejects.tsv"), "--invalid-ids", "error"]) == 0
    assert read_tsv(tmp_path / "out.tsv")["utt_id"].tolist() == ["u1", "u2"]
    assert read_tsv(tmp_path / "rejects.tsv").empty


def test_demo_corpus_refuses_unsafe_speaker_names(tmp_path):
    from codecfake.demo import make_corpus

    with pytest.raises(CorpusError, match="demo_corpus.speakers: '../x' is not a safe identifier"):
        make_corpus(tmp_path / "corpus", ["p225", "../x"], 1, 0.2, 0.3)
    assert not (tmp_path / "x").exists() and not (tmp_path / "corpus").exists()


@pytest.mark.parametrize("where", ["cm.models[].name", "trace.tracers[].name", "cm.datasets key"])
def test_config_names_that_become_paths_are_validated(where):
    """Names in the config that become folders under results_dir are refused by the schema if unsafe."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from tests.tinyrun import REPO

    def config(name):
        if where == "cm.models[].name":
            return {"cm": {"models": [{"name": name, "model": "aasist"}]}}
        if where == "trace.tracers[].name":
            return {"trace": {"tracers": [{"name": name, "model": "aasist"}]}}
        return {"cm": {"datasets": {name: {"format": "folder", "root": "x"}}}}

    schema = str(REPO / "config.schema.yaml")
    validate(config("ok_name-1.0"), schema)
    for bad in ("../escaped", "a b", "x;touch y", ".hidden", "ok_name\n"):
        with pytest.raises(WorkflowError):
            validate(config(bad), schema)


@pytest.mark.parametrize("value,message", [
    ("", "results_dir is empty"),
    ("  ", "results_dir is empty"),
    ("/", "is the filesystem root"),
    ("//", "is the filesystem root"),
    ("/..", "is the filesystem root"),
    ("results/{codec}", "holds { or }, which Snakemake reads as wildcards"),
    ("results}", "holds { or }"),
])
def test_results_dir_that_would_write_everywhere_is_refused(value, message):
    from codecfake.errors import UserError
    from codecfake.workflow import results_folder

    with pytest.raises(UserError, match=re.escape(message)):
        results_folder(value)


def test_results_dir_keeps_ordinary_and_odd_but_safe_names():
    from codecfake.workflow import results_folder

    assert results_folder("results/vctk/") == "results/vctk"
    assert results_folder("/abs/run dir;x$(y)") == "/abs/run dir;x$(y)"
