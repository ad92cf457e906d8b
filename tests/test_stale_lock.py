"""Stale Snakemake locks (codecfake/stale_lock.py): removed only when every recorded owner is provably gone; the
results folder's own lock (codecfake/results_lock.py): exclusive, naming its owner, taken over only from a run that
is provably gone."""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import psutil
import pytest

from codecfake import results_lock, stale_lock


def _locks(workdir, runs: int = 1) -> list:
    folder = workdir / stale_lock.LOCKS
    folder.mkdir(parents=True)
    paths = []
    for i in range(runs):
        for kind in ("input", "output"):
            path = folder / f"{i}.{kind}.lock"
            path.write_text("results/x.tsv\n")
            paths.append(path)
    return paths


def _owner(workdir, host: str, pid: int, started: float) -> None:
    folder = workdir / stale_lock.OWNERS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{host}-{pid}.json").write_text(json.dumps({"host": host, "pid": pid, "started": started}))


def _finished_process() -> tuple[int, float]:
    """pid and start time of a process that has exited (its pid is not reused with that start time)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return proc.pid, started


def test_locks_of_a_dead_owner_are_removed(tmp_path):
    locks = _locks(tmp_path)
    _owner(tmp_path, socket.gethostname(), *_finished_process())
    message = stale_lock.clear_if_stale(tmp_path)
    assert message and "no longer running" in message
    assert not any(p.exists() for p in locks) and not list((tmp_path / stale_lock.OWNERS).glob("*"))


def test_live_owner_keeps_its_locks(tmp_path):
    locks = _locks(tmp_path)
    stale_lock.record_owner(tmp_path)  # this test process: alive
    assert stale_lock.clear_if_stale(tmp_path) is None and all(p.exists() for p in locks)
    stale_lock.release(tmp_path)
    assert not list((tmp_path / stale_lock.OWNERS).glob("*"))


def test_pid_reused_by_another_process_is_not_the_owner(tmp_path):
    locks = _locks(tmp_path)
    me = psutil.Process()
    _owner(tmp_path, socket.gethostname(), me.pid, me.create_time() - 3600)  # same pid, started an hour earlier
    assert stale_lock.clear_if_stale(tmp_path) and not any(p.exists() for p in locks)


def test_owner_on_another_host_or_unrecorded_lock_is_left_alone(tmp_path):
    locks = _locks(tmp_path)
    _owner(tmp_path, socket.gethostname() + "-other", *_finished_process())
    assert stale_lock.clear_if_stale(tmp_path) is None and all(p.exists() for p in locks)

    other = tmp_path / "two_runs"
    locks = _locks(other, runs=2)  # two runs hold locks, one owner recorded: the other could be running
    _owner(other, socket.gethostname(), *_finished_process())
    assert stale_lock.clear_if_stale(other) is None and all(p.exists() for p in locks)


def test_without_locks_gone_owners_are_forgotten(tmp_path):
    """A gone owner with no lock left (e.g. after a manual --unlock) must not count for a later run's lock."""
    _owner(tmp_path, socket.gethostname(), *_finished_process())
    stale_lock.record_owner(tmp_path)  # alive: kept
    assert stale_lock.clear_if_stale(tmp_path) is None
    assert [p.name for p in (tmp_path / stale_lock.OWNERS).glob("*.json")] == [stale_lock._owner_file(tmp_path).name]
    stale_lock.release(tmp_path)
    locks = _locks(tmp_path)  # a live run between taking its lock and onstart: no owner recorded yet
    assert stale_lock.clear_if_stale(tmp_path) is None and all(p.exists() for p in locks)


# -- the results folder's own lock (codecfake/results_lock.py) ------------------------------------------------------
def _results_lock(results, host: str, pid: int, started: float, workdir: str = "/elsewhere") -> None:
    results.mkdir(parents=True, exist_ok=True)
    results_lock.lock_path(results).write_text(json.dumps({"host": host, "pid": pid, "started": started,
                                                           "workdir": workdir}))


def test_results_lock_is_exclusive_and_names_its_owner(tmp_path):
    me = psutil.Process()
    _results_lock(tmp_path / "results", socket.gethostname(), me.pid, me.create_time(), "/run/a")
    # this very process: already held, taken again without a fuss
    assert results_lock.acquire(tmp_path / "results") is None
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _results_lock(tmp_path / "results", socket.gethostname(), other.pid,
                      psutil.Process(other.pid).create_time(), "/run/a")
        with pytest.raises(results_lock.ResultsLocked) as refused:
            results_lock.acquire(tmp_path / "results", tmp_path)
        message = str(refused.value)
        assert str(results_lock.lock_path(tmp_path / "results").resolve()) in message
        assert f"pid {other.pid} on host {socket.gethostname()}, started from the working directory /run/a" in message
        results_lock.release(tmp_path / "results")  # not ours: left alone
        assert results_lock.lock_path(tmp_path / "results").exists()
    finally:
        other.kill()
        other.wait()


def test_results_lock_of_a_killed_run_is_taken_over_and_released(tmp_path):
    results = tmp_path / "results"
    _results_lock(results, socket.gethostname(), *_finished_process())
    note = results_lock.acquire(results, tmp_path)
    assert note and "no longer running" in note
    owner = json.loads(results_lock.lock_path(results).read_text())
    assert owner["pid"] == psutil.Process().pid and owner["workdir"] == str(tmp_path.resolve())
    results_lock.release(results)
    assert not results_lock.lock_path(results).exists()


def test_results_lock_of_another_host_or_without_owner_is_left_alone(tmp_path):
    _results_lock(tmp_path / "one", socket.gethostname() + "-other", *_finished_process())
    with pytest.raises(results_lock.ResultsLocked, match="-other"):
        results_lock.acquire(tmp_path / "one")
    (tmp_path / "two").mkdir()
    results_lock.lock_path(tmp_path / "two").write_text("")
    with pytest.raises(results_lock.ResultsLocked, match="recorded no owner"):
        results_lock.acquire(tmp_path / "two")
