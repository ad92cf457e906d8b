"""Snakemake's directory lock after a killed run, cleared only when the run that held it is gone.

Snakemake 9.27 locks a working directory (`.snakemake/locks/`) for the length of a run and removes the lock when the
run ends, even on an error or Ctrl-C. A run killed outright (SIGKILL, the OOM killer, a power loss) leaves it
behind, and every later run stops with "Directory cannot be locked" until someone runs `--unlock`; Snakemake does
not record who holds a lock, so it cannot tell a stale lock from a live run.

The Snakefile records each run's process when it starts (`onstart`: host, pid and the process's start time) and
forgets it when the run ends. When a later run parses the Snakefile, `clear_if_stale` removes the locks only if
their owners are provably gone: on this host, and no process with that pid and start time. A live run, an owner
on another host (a shared file system), or a lock without a recorded owner (a run killed between taking the lock
and `onstart`, e.g. while conda envs were built) is left alone, and Snakemake's own message stands.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import psutil

LOCKS = Path(".snakemake") / "locks"
OWNERS = Path(".snakemake") / "codecfake-lock-owners"  # one JSON file per running Snakemake process


def this_process() -> dict:
    """What identifies a running process across pid reuse: host, pid and the process's start time."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": psutil.Process().create_time()}


def _owner_file(workdir: str | Path) -> Path:
    return Path(workdir) / OWNERS / f"{socket.gethostname()}-{os.getpid()}.json"


def record_owner(workdir: str | Path = ".") -> None:
    """Note that this process holds a lock here (called from the Snakefile's `onstart`)."""
    path = _owner_file(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(this_process()))


def release(workdir: str | Path = ".") -> None:
    """Forget this process (the Snakefile's `onsuccess`/`onerror`; Snakemake removes its own locks itself)."""
    _owner_file(workdir).unlink(missing_ok=True)


def alive(owner: dict) -> bool:
    """Whether a recorded process may still run: False only when it provably ended (this host, and no process with
    that pid and start time)."""
    if owner.get("host") != socket.gethostname():
        return True  # another host's process cannot be checked from here: assume it runs
    try:
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner["started"])) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, TypeError, ValueError):
        return False


def clear_if_stale(workdir: str | Path = ".") -> str | None:
    """Remove the locks killed runs left here; returns what was done, or None when nothing was provably stale.

    Stale means: every lock has a recorded owner (no more output locks than owners) and every owner is gone. With
    no lock present, gone owners are forgotten, so an old record never stands in for a later run's lock."""
    locks, owners = Path(workdir) / LOCKS, Path(workdir) / OWNERS
    held = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    files = sorted(owners.glob("*.json")) if owners.is_dir() else []
    recorded = []
    for path in files:
        try:
            recorded.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            return None
    if not held:  # no lock: forget owners that are gone, so none is ever counted for a later run's lock
        for path, owner in zip(files, recorded):
            if not alive(owner):
                path.unlink(missing_ok=True)
        return None
    if not files or len([f for f in held if f.name.endswith(".output.lock")]) > len(files):
        return None
    if any(alive(owner) for owner in recorded):
        return None
    for path in held + files:
        path.unlink(missing_ok=True)
    gone = ", ".join(f"pid {o.get('pid')} on {o.get('host')}" for o in recorded)
    return f"removed the lock left by a killed run ({gone}, no longer running); its unfinished jobs rerun"
