"""Hostile and unusual config values reach no shell unquoted (issue 13): every rule quotes what it passes (`:q`).

A results_dir with spaces, quotes, `;touch ...`, `$(touch ...)` and backquotes, a weights_dir and a user manifest
path of the same kind: the run completes, every file it writes (logs included) lies under the results folder, and
no injected command runs. A hostile split.dev value is a speaker name like any other: the split step rejects it
naming the value, and runs nothing.
"""
from __future__ import annotations

import re

import pytest

from codecfake.corpus import read_vctk
from codecfake.demo import make_corpus
from tests.tinyrun import REPO, run, targets, tiny_config

#: Each would create `pwned_<n>` in the work dir if it reached a shell unquoted (jobs run there).
HOSTILE = "res dir 'q';touch pwned_1;$(touch pwned_2)`touch pwned_3`"


def test_every_shell_placeholder_is_quoted():
    """Every `{...}` of every rule's shell command is `:q`-quoted (threads, an int Snakemake sets, excepted), and
    the Snakefile's prefix quotes the workflow folder: the parts of the workflow no end-to-end test here runs
    (CM, quality, tracing, fetch rules) are held to the same rule."""
    found = 0
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        for block in re.findall(r"^\s+shell:\n((?:\s+\".*\"\n)+)", path.read_text(), re.M):
            for field in re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", block):
                found += 1
                assert field.endswith(":q") or field == "threads", f"{path.name}: unquoted {{{field}}} in {block}"
    assert found > 100
    assert "shlex.quote(workflow.basedir)" in (REPO / "Snakefile").read_text()


def _files(root) -> set[str]:
    """Every file under root (relative), Snakemake's own bookkeeping folder excepted."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".snakemake" not in p.parts}


def _user_manifest(workdir, name: str) -> str:
    """A 3-speaker synthetic corpus and a user manifest of it at a hostile file name; returns that name."""
    corpus = workdir / "corpus"
    make_corpus(corpus, ["p225", "p226", "p227"], 2, 0.5, 0.8, seed=0)
    frame, _ = read_vctk(corpus)
    frame[["utt_id", "speaker", "path"]].to_csv(workdir / name, sep="\t", index=False)
    return name


@pytest.mark.slow
def test_hostile_paths_run_nothing_and_write_only_under_results(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    manifest = _user_manifest(workdir, "manifest;touch pwned_4;$(touch pwned_5).tsv")
    config = tiny_config(workdir, codecs=["Encodec_6b24k"], results_dir=HOSTILE,
                         corpus={"manifest": manifest}, demo_corpus={"speakers": []},
                         weights_dir="weights;touch pwned_6;$(touch pwned_7)")
    before = _files(workdir)
    proc = run(workdir, config, "--cores", "2", *targets(results=HOSTILE), check=False)

    assert not list(workdir.rglob("pwned_*")) and not list(tmp_path.glob("pwned_*")), "an injected command ran"
    assert proc.returncode == 0, proc.stderr[-4000:]
    written = _files(workdir) - before
    outside = sorted(f for f in written if not f.startswith(HOSTILE + "/"))
    assert not outside, f"written outside results_dir: {outside}"
    for split in ("train", "dev", "eval"):
        assert (workdir / HOSTILE / "protocols" / f"CoRS_{split}.txt").read_text().strip()
    logs = {f for f in written if f.startswith(f"{HOSTILE}/logs/")}
    assert f"{HOSTILE}/logs/corpus/manifest.log" in logs and any("/logs/resynth/" in f for f in logs)


@pytest.mark.slow
def test_hostile_split_speaker_is_rejected_and_runs_nothing(tmp_path):
    config = tiny_config(tmp_path, codecs=["Encodec_6b24k"], split={"dev": ["p226;touch pwned_1"],
                                                                     "eval": ["$(touch pwned_2)"]})
    proc = run(tmp_path, config, "--cores", "1", "results/corpus/split/train.tsv", check=False)
    assert proc.returncode != 0
    assert not list(tmp_path.rglob("pwned_*")), "an injected command ran"
    log = (tmp_path / "results" / "logs" / "corpus" / "split.log").read_text()
    assert "p226;touch pwned_1" in log or "$(touch pwned_2)" in log, log
