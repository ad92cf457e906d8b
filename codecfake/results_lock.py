"""A lock on the results folder itself, held by a run that executes jobs, from its start to its end.

Snakemake locks the working directory (`.snakemake/locks/`), so two runs started from different working
directories on the same results_dir would run the same jobs on the same files. The Snakefile therefore also takes
`{results_dir}/.codecfake-run.lock` when a run starts executing jobs (`onstart`: a dry run writes nothing and takes
none) and removes it when the run ends. The file is created exclusively (O_CREAT | O_EXCL: one creator wins) and
records its owner: host, pid, the process's start time and working directory. A second run finds it and stops with
a sentence naming the lock and that owner.

Stale locks are handled as for Snakemake's own (codecfake/stale_lock.py): a lock whose owner is provably gone (on
this host, no process with that pid and start time: a run killed outright) is removed and taken, so the rerun needs
no manual step. An owner on another host (a shared file system) cannot be checked and is left alone; the message
says to delete the file once that run is known to be over.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from codecfake import stale_lock
from codecfake.errors import UserError

LOCK_NAME = ".codecfake-run.lock"


class ResultsLocked(UserError):
    pass


def lock_path(results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / LOCK_NAME


def _owner(path: Path) -> dict | None:
    """The recorded owner; None when the file is gone; {} when it names none (being written, or damaged)."""
    try:
        owner = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _is_me(owner: dict) -> bool:
    me = stale_lock.this_process()
    return all(owner.get(key) == me[key] for key in ("host", "pid", "started"))


def _describe(owner: dict) -> str:
    if not owner:
        return "a run that recorded no owner (the file is empty or damaged)"
    return (f"pid {owner.get('pid')} on host {owner.get('host')}, started from the working directory "
            f"{owner.get('workdir')}")


def acquire(results_dir: str | os.PathLike, workdir: str | os.PathLike = ".") -> str | None:
    """Take the results folder's lock for this process. Returns a note when a killed run's lock was removed first;
    raises ResultsLocked naming the lock and its owner when another run may hold it."""
    path = lock_path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.dumps({**stale_lock.this_process(), "workdir": str(Path(workdir).resolve())})
    note = None
    for _ in range(2):  # a second try after removing a stale lock
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = _owner(path)
            if owner is None:
                continue  # removed meanwhile: try again
            if _is_me(owner):
                return note
            if not owner or stale_lock.alive(owner):
                raise ResultsLocked(
                    f"results_dir {Path(results_dir).resolve()} is in use by another run: its lock {path.resolve()} "
                    f"is held by {_describe(owner)}. Wait for that run to end (or stop it); if it is known to be "
                    f"over, delete {path}.") from None
            if _owner(path) == owner:  # still that owner's file, not a lock another run has just taken
                path.unlink(missing_ok=True)
            note = f"removed the results lock left by a killed run ({_describe(owner)}, no longer running)"
            continue
        with os.fdopen(handle, "w") as out:
            out.write(record)
        return note
    raise ResultsLocked(f"results_dir {Path(results_dir).resolve()}: could not take its lock {path.resolve()}; "
                        f"another run is starting on it")


def release(results_dir: str | os.PathLike) -> None:
    """Remove the lock if this process holds it (the Snakefile's onsuccess/onerror)."""
    path = lock_path(results_dir)
    owner = _owner(path)
    if owner and _is_me(owner):
        path.unlink(missing_ok=True)
