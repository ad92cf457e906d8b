"""Issue 13 through Snakemake: a manifest with a `../` utt_id stops at the manifest step naming the row (or, with
corpus.invalid_ids: reject, is left out and listed) and nothing is written outside the run folder, also when the
results_dir itself holds `;touch ...` and `$(...)` (bars/11-hardening: nothing runs)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake import results_lock
from codecfake.tables import read_tsv
from tests.tinyrun import REPO, demo_config, run, targets, three_speaker_rows

ESCAPE = "../../../../../../escaped_rel"
HOSTILE_RESULTS = "results dir;touch pwned_1;$(touch pwned_2)"


def hostile_run(tmp_path, invalid_ids: str, results: str = "results"):
    workdir = tmp_path / "run"
    rows = three_speaker_rows(workdir)
    rows.append({"utt_id": ESCAPE, "speaker": "p225", "path": "audio/p225.wav"})
    pd.DataFrame(rows).to_csv(workdir / "manifest.tsv", sep="\t", index=False)
    demo_config(workdir, results_dir=results, corpus={"manifest": "manifest.tsv", "invalid_ids": invalid_ids},
                demo_corpus={"speakers": []}, split={"dev": ["p226"], "eval": ["p227"]},
                shards={"train": 1, "dev": 1, "eval": 1}, codecs=["Encodec_6b24k"], cm={}, trace={})
    return workdir


def files_outside_results(tmp_path, workdir, results: str = "results"):
    made = {workdir / "manifest.tsv", workdir / "config.yaml", *(workdir / "audio").iterdir()}
    return sorted(str(p) for p in tmp_path.rglob("*")
                  if p.is_file() and p not in made and not p.is_relative_to(workdir / results)
                  and not p.is_relative_to(workdir / ".snakemake"))


def test_traversal_utt_id_stops_the_run_naming_the_row(tmp_path):
    workdir = hostile_run(tmp_path, "error")
    result = run(workdir, workdir / "config.yaml", "--cores", "2", "results/corpus/split/train.tsv", check=False)
    assert result.returncode != 0
    log = (workdir / "results/logs/corpus/manifest.log").read_text()
    assert f"manifest.tsv line 5: utt_id '{ESCAPE}' is not a safe identifier" in log
    assert not (workdir / "results/corpus/manifest.tsv").exists()
    assert files_outside_results(tmp_path, workdir) == []


@pytest.mark.parametrize("results", ["results", HOSTILE_RESULTS])
def test_traversal_utt_id_is_quarantined_in_reject_mode(tmp_path, results):
    workdir = hostile_run(tmp_path, "reject", results)
    shards = [f"{results}/shards/bonafide/{s}/000of001.tsv" for s in ("train", "dev", "eval")]
    run(workdir, workdir / "config.yaml", "--cores", "2", *shards)
    rejects = read_tsv(workdir / results / "corpus/manifest.rejects.tsv")
    assert rejects["utt_id"].tolist() == [ESCAPE] and "not a safe identifier" in rejects["reason"].iloc[0]
    assert read_tsv(workdir / results / "corpus/manifest.tsv")["utt_id"].tolist() == ["p225_001", "p226_001",
                                                                                      "p227_001"]
    assert files_outside_results(tmp_path, workdir, results) == []
    assert not list(tmp_path.parent.rglob("escaped_rel*"))
    assert not list(tmp_path.rglob("pwned_*")), "a command in results_dir ran"


# -- issue 18: bad audio files, newline identifiers, results_dir "/", two working directories ------------------------
def bad_audio_run(tmp_path, results: str = "results"):
    """A user manifest whose train speaker has two good files, one missing, one zero-byte and one FIFO path; one
    codec, two train shards (the tests run the train split only: seconds, not minutes)."""
    workdir = tmp_path / "run"
    (workdir / "audio").mkdir(parents=True)
    rows = []
    for index, (speaker, utt) in enumerate([("p225", "p225_001"), ("p225", "p225_002"), ("p226", "p226_001"),
                                            ("p227", "p227_001")]):
        sf.write(workdir / "audio" / f"{utt}.wav", np.full(8000 + 800 * index, 0.1, np.float32), 16000)
        rows.append({"utt_id": utt, "speaker": speaker, "path": f"audio/{utt}.wav"})
    (workdir / "audio" / "zero.wav").write_bytes(b"")
    os.mkfifo(workdir / "audio" / "fifo.wav")
    rows += [{"utt_id": "p225_003", "speaker": "p225", "path": "audio/missing.wav"},
             {"utt_id": "p225_004", "speaker": "p225", "path": "audio/zero.wav"},
             {"utt_id": "p225_005", "speaker": "p225", "path": "audio/fifo.wav"}]
    pd.DataFrame(rows).to_csv(workdir / "manifest.tsv", sep="\t", index=False)
    demo_config(workdir, results_dir=results, corpus={"manifest": "manifest.tsv"}, demo_corpus={"speakers": []},
                split={"dev": ["p226"], "eval": ["p227"]}, shards={"train": 2, "dev": 1, "eval": 1},
                codecs=["Encodec_6b24k"], cm={}, trace={})
    return workdir


BAD_AUDIO = {"p225_003": "missing: ", "p225_004": "unreadable: zero.wav",
             "p225_005": "not a regular file: "}


def test_bad_audio_files_are_rejected_and_the_run_ends_well(tmp_path):
    workdir = bad_audio_run(tmp_path)
    run(workdir, workdir / "config.yaml", "--cores", "2", *targets(["train"]), timeout=600)
    results = workdir / "results"
    rejects = read_tsv(results / "manifests/rejects_train.tsv")
    for subset in ("bonafide", "Encodec_6b24k"):
        listed = rejects[rejects["subset"] == subset].set_index("source_utt")["reason"].to_dict()
        assert sorted(listed) == sorted(BAD_AUDIO), (subset, listed)
        for utt, start in BAD_AUDIO.items():
            assert listed[utt].startswith(start), listed[utt]
    assert "is a FIFO (named pipe), not an audio file" in rejects.set_index("source_utt").loc["p225_005",
                                                                                            "reason"].iloc[0]
    protocol = (results / "protocols/CoRS_train.txt").read_text().split("\n")
    assert protocol == ["p225 p225_001 - REAL REAL REAL bonafide", "p225 p225_001_Encodec_6b24k - Trad TIME MVQ spoof",
                        "p225 p225_002 - REAL REAL REAL bonafide", "p225 p225_002_Encodec_6b24k - Trad TIME MVQ spoof",
                        ""]
    manifest = read_tsv(results / "manifests/cors_train.tsv")
    assert manifest["utt_id"].tolist() == ["p225_001", "p225_001_Encodec_6b24k", "p225_002", "p225_002_Encodec_6b24k"]
    assert all((results / path).is_file() for path in manifest["path"])
    assert (manifest["clipped"] == "0").all()
    for log in ("bonafide/train/001of002.log", "resynth/Encodec_6b24k/train/001of002.log"):  # the rows' shard
        summary = (results / "logs" / log).read_text()
        assert " written, 3 rejected (1 missing, 1 unreadable, 1 not a regular file), 0 clipped" in summary, log
    assert not results_lock.lock_path(results).exists()


def test_a_utt_id_ending_in_a_newline_is_refused(tmp_path):
    workdir = bad_audio_run(tmp_path)
    manifest = pd.read_csv(workdir / "manifest.tsv", sep="\t")
    manifest.loc[0, "utt_id"] = "p225_001\n"
    manifest.to_csv(workdir / "manifest.tsv", sep="\t", index=False)
    result = run(workdir, workdir / "config.yaml", "--cores", "1", "results/corpus/manifest.tsv", check=False)
    assert result.returncode != 0
    log = (workdir / "results/logs/corpus/manifest.log").read_text()
    assert "manifest.tsv line 2: utt_id 'p225_001\\n' is not a safe identifier" in log
    assert not (workdir / "results/corpus/manifest.tsv").exists()


@pytest.mark.parametrize("results,message", [("/", "is the filesystem root"), ("", "results_dir is empty"),
                                             ("results/{x}", "holds { or }")])
def test_results_dir_that_is_root_empty_or_a_pattern_is_refused(tmp_path, results, message):
    workdir = bad_audio_run(tmp_path, results)
    root = sorted(os.listdir("/"))
    result = run(workdir, workdir / "config.yaml", "--cores", "1", check=False)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert sorted(os.listdir("/")) == root
    assert sorted(p.name for p in workdir.iterdir() if p.name != ".snakemake") == ["audio", "config.yaml",
                                                                                  "manifest.tsv"]


def test_two_working_directories_cannot_run_on_one_results_dir(tmp_path):
    """Snakemake locks a working directory; the results folder's own lock stops a run from another one. Run A is a
    process from working directory a that holds the lock (as a running Snakemake does from its onstart); run B, a
    real Snakemake run from working directory b, is refused and writes nothing; once A is killed, B takes the
    lock over and runs."""
    shared = tmp_path / "shared results"
    workdir = bad_audio_run(tmp_path, str(shared))
    (tmp_path / "a").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from codecfake import results_lock; "
                               "results_lock.acquire(sys.argv[1]); print('held', flush=True); time.sleep(120)",
                               str(shared)], cwd=tmp_path / "a", stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "held"
        target = str(shared / "corpus/manifest.tsv")
        refused = run(workdir, workdir / "config.yaml", "--cores", "1", target, check=False)
        assert refused.returncode != 0
        lock = results_lock.lock_path(shared).resolve()
        assert (f"results_dir {shared.resolve()} is in use by another run: its lock {lock} is held by pid "
                f"{holder.pid} on host {socket.gethostname()}, started from the working directory "
                f"{(tmp_path / 'a').resolve()}") in refused.stdout + refused.stderr
        assert not (shared / "corpus").exists()
    finally:
        holder.kill()
        holder.wait()
    taken = run(workdir, workdir / "config.yaml", "--cores", "1", target)
    assert "removed the results lock left by a killed run" in taken.stderr
    assert (shared / "corpus/manifest.tsv").is_file() and not results_lock.lock_path(shared).exists()
