"""Codec checkpoints: where each comes from (resources/codecs/<family>.yaml), where it lives, and how it is verified.

A source is a hub file `{hub, revision, file}` (revision a 40-hex commit; a locked source may give a commit
prefix or branch, resolved once by `fetch` and locked) or a release `{url}`, and it says how
its bytes are verified: `sha256` (full, or the prefix the upstream loader itself checks, as EnCodec's file name
carries) or `lock: true` (no hash could be known in advance). `fetch` (the `fetch_weights` rule, on a host with
internet) downloads each file through codecfake.download and writes its commit and full sha256 to the lock
file `<weights_dir>/weights.lock.json`; every later use verifies the file against the pinned sha256 and the lock
record, and a file that matches neither is deleted and refused. Nothing is loaded that was verified by neither:
a `lock: true` file with no lock record is refused as unverified, even if it is already in `weights_dir`.
Files are kept under `<weights_dir>/<family>/...` so compute nodes read them without internet.
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from codec_wrappers._checkpoints import mark_verified
from codecfake.download import (
    COMMIT,
    ChecksumMismatch,
    DownloadFailed,
    delete,
    download,
    hub_file,
    offline,
    resolve_commit,
    verify,
)
from codecfake.errors import UserError
from codecfake.registry import CodecEntry

DEFAULT_DIR = Path("weights")
#: The lock file, kept with the weights: what `fetch_weights` downloaded, per file relative to weights_dir.
LOCK_FILE = "weights.lock.json"
SOURCE_KEYS = ("hub", "revision", "file", "url")


class WeightsUnavailable(UserError):
    pass


def local_path(entry: CodecEntry, spec: dict, weights_dir: str | os.PathLike | None) -> Path:
    root = Path(weights_dir or DEFAULT_DIR) / entry.family.replace(" ", "_")
    if "hub" in spec:
        return root / spec["hub"].replace("/", "--") / spec["revision"] / spec["file"]
    return root / spec["url"].rstrip("/").rsplit("/", 1)[-1]


def describe(spec: dict) -> str:
    if "hub" in spec:
        return f"hub {spec['hub']}@{spec['revision']}:{spec['file']}"
    return spec["url"]


def source(spec: dict) -> dict:
    """The fields that name where a file comes from; a lock record is valid only for the same source."""
    return {key: spec[key] for key in SOURCE_KEYS if key in spec}


def check_spec(entry: CodecEntry, key: str, spec: dict) -> None:
    """A checkpoint source must say how its bytes are verified (`sha256` or `lock: true`) and name fixed bytes: a
    hub file a 40-hex commit, unless it is locked (a commit prefix or branch is then resolved once by `fetch`)."""
    if "hub" in spec and not COMMIT.match(str(spec.get("revision", ""))) and spec.get("lock") is not True:
        raise WeightsUnavailable(f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)}): hub revision is "
                                 f"not a pinned 40-hex commit sha; pin it in resources/codecs/ (or mark the source "
                                 f"`lock: true` to resolve it once, at fetch time, and lock that commit)")
    if not spec.get("sha256") and spec.get("lock") is not True:
        raise WeightsUnavailable(f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)}) has neither "
                                 f"`sha256` nor `lock: true` in resources/codecs/, so nothing could verify it")


# -- the lock file ---------------------------------------------------------------------------------------------
def lock_path(weights_dir) -> Path:
    return Path(weights_dir or DEFAULT_DIR) / LOCK_FILE


def read_lock(weights_dir) -> dict:
    path = lock_path(weights_dir)
    return json.loads(path.read_text()) if path.exists() else {}


@contextmanager
def _exclusive(path: Path):
    """Exclusive access to `path` among processes: the fetch jobs of several codecs run at once, share the lock
    file, and some share a checkpoint (both EnCodec configurations, the three TiCodec ones)."""
    guard = path.with_name(path.name + ".flock")
    guard.parent.mkdir(parents=True, exist_ok=True)
    with open(guard, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def lock_record(weights_dir, path: Path, spec: dict) -> dict | None:
    record = read_lock(weights_dir).get(_relative(path, weights_dir))
    return record if record is not None and record.get("source") == source(spec) else None


def _relative(path: Path, weights_dir) -> str:
    return str(path.relative_to(Path(weights_dir or DEFAULT_DIR)))


def _write_record(weights_dir, path: Path, spec: dict, commit: str | None, sha256: str) -> dict:
    record = {"source": source(spec), "commit": commit, "sha256": sha256,
              "size": path.stat().st_size}
    with _exclusive(lock_path(weights_dir)):
        table = read_lock(weights_dir)
        table[_relative(path, weights_dir)] = record
        target = lock_path(weights_dir)
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
        os.replace(temp, target)
    return record


# -- verification ----------------------------------------------------------------------------------------------
def verify_local(entry: CodecEntry, key: str, spec: dict, path: Path, weights_dir) -> str:
    """The full sha256 of `path` once it matches the pinned sha256 and the lock record (whichever the entry has);
    a mismatch deletes the file, and a `lock: true` file without a record is refused as unverified."""
    check_spec(entry, key, spec)
    record = lock_record(weights_dir, path, spec)
    if spec.get("sha256"):
        digest = verify(path, spec["sha256"])
    elif record is None:
        raise WeightsUnavailable(
            f"{entry.protocol_name}: checkpoint {key!r} at {path} is unverified: its registry entry says `lock: "
            f"true` and {lock_path(weights_dir)} has no record of it. Run `snakemake fetch_weights` to download "
            f"and lock it.")
    else:
        digest = verify(path, record["sha256"], record.get("size"))
    if record is not None and record["sha256"] != digest:
        delete(path)
        raise ChecksumMismatch(f"{path}: sha256 {digest} differs from the one locked in {lock_path(weights_dir)} "
                               f"({record['sha256']}); the file was deleted")
    return digest


def _download(spec: dict, path: Path, commit: str | None) -> None:
    if "hub" in spec:
        hub_file(spec["hub"], spec["file"], commit, dest=path, sha256=spec.get("sha256"))
    else:
        download(spec["url"], path, sha256=spec.get("sha256"))


def _resolve(spec: dict) -> str:
    try:
        return resolve_commit(spec["hub"], spec["revision"])
    except DownloadFailed as err:
        raise WeightsUnavailable(str(err)) from err


def _sources(entry: CodecEntry, weights_dir):
    """(key, spec, local path) of each of a configuration's checkpoint files, its registry spec checked first."""
    if not entry.weights:
        raise WeightsUnavailable(f"{entry.protocol_name}: no weights source in resources/codecs/")
    for key, spec in entry.weights.items():
        check_spec(entry, key, spec)
        yield key, spec, local_path(entry, spec, weights_dir)


def fetch(entry: CodecEntry, weights_dir=None) -> dict[str, dict]:
    """Download what is missing, verify every file, and lock it: {key: lock record} (run where there is internet).

    A cached file is kept only if it verifies (a `lock: true` file needs a lock record for that); otherwise it is
    deleted and downloaded again, and the download itself must match the sha256 and any earlier lock record."""
    records = {}
    for key, spec, path in _sources(entry, weights_dir):
        with _exclusive(path):
            records[key] = _fetch_file(entry, key, spec, path, weights_dir)
    return records


def _fetch_file(entry: CodecEntry, key: str, spec: dict, path: Path, weights_dir) -> dict:
    """One checkpoint file of `fetch`, while no other fetch touches it."""
    record = lock_record(weights_dir, path, spec)
    # A locked hub source keeps the commit it was locked at; otherwise its revision is resolved now.
    commit = (record or {}).get("commit") or (_resolve(spec) if "hub" in spec else None)
    digest = None
    if path.exists():
        try:
            digest = verify_local(entry, key, spec, path, weights_dir)
        except (ChecksumMismatch, WeightsUnavailable):
            delete(path)  # not verifiable or not the pinned bytes: fetch it again from the pinned source
    if digest is None:
        if offline():
            raise WeightsUnavailable(f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)}) is not at "
                                     f"{path} and downloads are off (HF_HUB_OFFLINE=1)")
        try:
            _download(spec, path, commit)
        except DownloadFailed as err:
            raise WeightsUnavailable(f"{entry.protocol_name}: checkpoint {key!r}: {err}") from err
        except ChecksumMismatch:
            raise
        except Exception as err:
            raise WeightsUnavailable(f"{entry.protocol_name}: could not download {key!r} ({describe(spec)}) "
                                     f"to {path}: {type(err).__name__}: {err}") from err
        # The first download of a `lock: true` file from its pinned source is what gets locked.
        digest = verify_local(entry, key, spec, path, weights_dir) if spec.get("sha256") or record else \
            verify(path)
    return _write_record(weights_dir, path, spec, commit, digest)


def ensure_all(entry: CodecEntry, weights_dir=None) -> dict[str, Path]:
    """Local paths of all of a configuration's checkpoint files, each verified (sha256 or lock) just now and
    marked so codec_wrappers' checkpoint_loads() trusts exactly these bytes. Nothing is downloaded here: `fetch`
    (the `fetch_weights` rule) does that and writes the lock."""
    files = {}
    for key, spec, path in _sources(entry, weights_dir):
        if not path.exists():
            raise WeightsUnavailable(
                f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)}) is not at {path}. Run `snakemake "
                f"fetch_weights` where there is internet (HF_HUB_OFFLINE=1 turns downloads off), or use "
                f"`weights: random` for a test run.")
        files[key] = mark_verified(path, verify_local(entry, key, spec, path, weights_dir))
    return files
