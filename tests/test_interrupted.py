"""A resynthesis job killed mid-shard (SIGKILL, as on a node failure or OOM kill) and a rerun.

The job writes each audio file atomically and its shard table last, so a killed job leaves complete audio files
but no table: Snakemake sees the shard as not done and reruns it, and the final outputs equal an uninterrupted
run's byte for byte.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import soundfile as sf

from codecfake.tables import read_tsv
from tests.tinyrun import (
    CODECS,
    SPLITS,
    assert_same_products,
    job_env,
    plain_run,
    run,
    snakemake_cmd,
    targets,
    tiny_config,
)

pytestmark = pytest.mark.slow
CODEC = CODECS[0]


def _job_process(root: psutil.Process, split: str) -> psutil.Process | None:
    """The `python -m codecfake step resynthesize` process of the split's shard, among root's descendants only."""
    for proc in root.children(recursive=True):
        try:
            cmd = proc.cmdline()
        except psutil.Error:
            continue
        if "codecfake" in cmd and "resynthesize" in cmd and f"results/corpus/split/{split}.tsv" in cmd:
            return proc
    return None


def _kill_mid_shard(workdir: Path, config: Path, whole_run: bool = False) -> list[str]:
    """Start a run, SIGKILL the train shard's job (or with whole_run Snakemake and all its jobs, as a node failure
    or the OOM killer would) once it wrote its first file; returns the files it had written."""
    audio = workdir / "results" / "audio" / CODEC / "train"
    table = workdir / "results" / "shards" / CODEC / "train" / "000of001.tsv"
    snakemake = subprocess.Popen(snakemake_cmd(config, "--cores", "1", *targets()), cwd=workdir, env=job_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        root = psutil.Process(snakemake.pid)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and snakemake.poll() is None:
            written = sorted(p.name for p in audio.glob("*.wav")) if audio.is_dir() else []
            job = _job_process(root, "train")
            if written and job is not None:
                try:
                    if whole_run:
                        os.killpg(snakemake.pid, signal.SIGKILL)
                    else:
                        job.send_signal(signal.SIGKILL)
                except (psutil.NoSuchProcess, ProcessLookupError):
                    raise AssertionError("the shard job ended before it could be killed") from None
                assert not table.exists(), "the shard finished before it could be killed"
                assert snakemake.wait(timeout=300) != 0, "snakemake did not notice the killed job"
                return written
            time.sleep(0.01)
        raise AssertionError(f"no resynthesis job was caught mid-shard (snakemake exit {snakemake.poll()})")
    finally:
        if snakemake.poll() is None:  # a failed assertion: stop the run we started (its own process group)
            os.killpg(snakemake.pid, signal.SIGKILL)
            snakemake.wait()


def test_killed_job_is_rerun_and_outputs_equal_an_uninterrupted_run(tmp_path, tmp_path_factory):
    workdir = tmp_path / "interrupted"
    config = tiny_config(workdir)
    written = _kill_mid_shard(workdir, config)
    reference = plain_run(tmp_path_factory)
    train = read_tsv(reference / "results" / "manifests" / "cors_train.tsv")
    assert 1 <= len(written) < (train["subset"] == CODEC).sum(), "the kill did not land mid-shard"
    assert not (workdir / "results" / "shards" / CODEC / "train" / "000of001.tsv").exists()

    run(workdir, config, "--cores", "2", *targets())  # the rerun
    assert_same_products(workdir / "results", reference / "results")
    for split in SPLITS:  # every listed file is whole: it decodes to the length its manifest row gives
        for row in read_tsv(workdir / "results" / "manifests" / f"cors_{split}.tsv").itertuples():
            assert sf.info(str(workdir / "results" / row.path)).frames == int(row.samples)


def test_rerun_after_the_whole_run_was_killed_needs_no_unlock(tmp_path, tmp_path_factory):
    """kill -9 of Snakemake itself leaves its lock (Snakemake 9.27 cannot tell it from a live run's): the Snakefile
    removes it because the run that held it is gone (codecfake/stale_lock.py), and rerun-incomplete (the default
    profile) redoes the killed shard, so a plain rerun completes with the uninterrupted run's bytes."""
    workdir = tmp_path / "killed"
    config = tiny_config(workdir)
    _kill_mid_shard(workdir, config, whole_run=True)
    assert list((workdir / ".snakemake" / "locks").glob("*.lock")), "the killed run left no lock to test with"

    proc = run(workdir, config, "--cores", "2", *targets())  # no --unlock
    assert "removed the lock left by a killed run" in proc.stderr
    assert_same_products(workdir / "results", plain_run(tmp_path_factory) / "results")
