"""Codec checkpoints: where each comes from (codecfake/resources/codecs/<family>.yaml), where it lives, how it is
verified.

A source is a hub file `{hub, revision, file}` or a release `{url}`, and it says how its bytes are verified:
`sha256`, a full 64-hex digest, or `lock: true` where none could be learned. A hash prefix (an upstream file
name's) never verifies anything. A hub revision is a 40-hex commit; only a `lock: true` file may name a commit
prefix (>= 7 hex, where nothing longer is public), which `fetch` resolves through the hub to the one commit it
starts with and records.

`fetch` (the `fetch_weights` rule, on a host with internet) downloads through codecfake.download and records,
in the lock file `<weights_dir>/weights.lock.json`, the commit and full sha256 of what it downloaded from the
pinned source in that run, never of a file it found on disk: a `lock: true` file already there is downloaded
again (a sha256-pinned one is kept when it matches the pin). The lock sits beside the weights, so whoever can
plant a file can write a record for it: a loader uses a record only to detect change (a file that differs from
its record is deleted and refused), and a `lock: true` file with no record is refused with the way to fetch it.
Nothing a record vouches for is ever run: checkpoints are read without executing code (codec_wrappers'
checkpoint reader). Files are kept under `<weights_dir>/<family>/...` so compute nodes read them offline.
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
from codecfake.registry import CodecEntry, pin_problem

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
    """A checkpoint source must name fixed bytes and say how they are verified (codecfake.registry.pin_problem)."""
    problem = pin_problem(spec)
    if problem:
        raise WeightsUnavailable(f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)}): {problem}; fix "
                                 f"its entry in codecfake/resources/codecs/")


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
    """The lock's record of `path` if it is for the same source; a hub record must name a commit that the
    registry's revision is (or, for a prefix, starts)."""
    record = read_lock(weights_dir).get(_relative(path, weights_dir))
    if record is None or record.get("source") != source(spec):
        return None
    commit = str(record.get("commit"))
    if "hub" in spec and not (COMMIT.match(commit) and commit.startswith(str(spec["revision"]))):
        raise WeightsUnavailable(f"{lock_path(weights_dir)}: the record of {path} names commit {commit!r}, which is "
                                 f"not {spec['hub']}@{spec['revision']}: the lock was edited. Delete that record and "
                                 f"the file, then fetch again.")
    return record


def _relative(path: Path, weights_dir) -> str:
    return str(path.relative_to(Path(weights_dir or DEFAULT_DIR)))


def _record(path: Path, spec: dict, commit: str | None, sha256: str) -> dict:
    return {"source": source(spec), "commit": commit, "sha256": sha256, "size": path.stat().st_size}


def write_record(weights_dir, path: Path, spec: dict, commit: str | None, sha256: str) -> dict:
    """Record in the lock what was just downloaded from `spec`'s source: a checkpoint, or a corpus archive that
    publishes no checksum (codecfake.corpus keeps its lock beside the archive)."""
    return _write_record(weights_dir, path, _record(path, spec, commit, sha256))


def _write_record(weights_dir, path: Path, record: dict) -> dict:
    with _exclusive(lock_path(weights_dir)):
        table = read_lock(weights_dir)
        table[_relative(path, weights_dir)] = record
        target = lock_path(weights_dir)
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
        os.replace(temp, target)
    return record


# -- verification ----------------------------------------------------------------------------------------------
def check_local(entry: CodecEntry, key: str, spec: dict, path: Path, weights_dir) -> str:
    """The full sha256 of `path` once it matches the pinned sha256, or, for a `lock: true` file, its lock record
    (which only detects change). A mismatch deletes the file; a `lock: true` file with no record is refused."""
    check_spec(entry, key, spec)
    if spec.get("sha256"):
        return verify(path, spec["sha256"])
    record = lock_record(weights_dir, path, spec)
    if record is None:
        raise WeightsUnavailable(
            f"{entry.protocol_name}: checkpoint {key!r} at {path} was not downloaded by fetch: its registry entry "
            f"says `lock: true` (no sha256 is published) and {lock_path(weights_dir)} has no record of it, so "
            f"nothing says these are the released bytes. Delete it and run `codecfake fetch codec-weights --codecs "
            f"{entry.protocol_name}` (or `snakemake fetch_weights`) where there is internet.")
    return verify(path, record["sha256"], record.get("size"))


def _download(spec: dict, path: Path, commit: str | None) -> None:
    if "hub" in spec:
        hub_file(spec["hub"], spec["file"], commit, dest=path, sha256=spec.get("sha256"))
    else:
        download(spec["url"], path, sha256=spec.get("sha256"))


def _commit(spec: dict, record: dict | None) -> str:
    """The full commit of a hub source: its revision, the one its lock record holds, or its prefix resolved now."""
    if COMMIT.match(str(spec["revision"])):
        return spec["revision"]
    if record is not None:
        return record["commit"]
    try:
        return resolve_commit(spec["hub"], spec["revision"])
    except DownloadFailed as err:
        raise WeightsUnavailable(str(err)) from err


def _sources(entry: CodecEntry, weights_dir):
    """(key, spec, local path) of each of a configuration's checkpoint files, its registry spec checked first."""
    if not entry.weights:
        raise WeightsUnavailable(f"{entry.protocol_name}: no weights source in codecfake/resources/codecs/")
    for key, spec in entry.weights.items():
        check_spec(entry, key, spec)
        yield key, spec, local_path(entry, spec, weights_dir)


def fetch(entry: CodecEntry, weights_dir=None) -> dict[str, dict]:
    """Download and verify every checkpoint file of a configuration: {key: record} (run where there is internet).

    A sha256-pinned file already on disk is kept when it matches the pin; any other file found on disk is
    deleted and downloaded again from the pinned source. Only what was downloaded here is written to the lock."""
    records = {}
    for key, spec, path in _sources(entry, weights_dir):
        with _exclusive(path):
            records[key] = _fetch_file(entry, key, spec, path, weights_dir)
    return records


def _fetch_file(entry: CodecEntry, key: str, spec: dict, path: Path, weights_dir) -> dict:
    """One checkpoint file of `fetch`, while no other fetch touches it."""
    what = f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)})"
    if spec.get("sha256") and path.exists():
        try:
            digest = verify(path, spec["sha256"])
            return _record(path, spec, spec.get("revision"), digest)  # the pinned bytes: kept, not locked here
        except ChecksumMismatch as err:
            found = f"{err}, and"  # deleted: fetched again below
    elif path.exists():
        found = f"{path} is not adopted (a `lock: true` file is taken only from its pinned source), and"
    else:
        found = f"it is not at {path} and"
    if offline():
        raise WeightsUnavailable(f"{what}: {found} downloads are off (HF_HUB_OFFLINE=1)")
    record = lock_record(weights_dir, path, spec)
    commit = _commit(spec, record) if "hub" in spec else None
    delete(path)  # a `lock: true` file found on disk is never adopted, whatever the lock says
    try:
        _download(spec, path, commit)
    except DownloadFailed as err:
        raise WeightsUnavailable(f"{what}: {err}") from err
    except ChecksumMismatch:
        raise
    except Exception as err:
        raise WeightsUnavailable(f"{what}: could not download it to {path}: {type(err).__name__}: {err}") from err
    digest = verify(path, spec.get("sha256"))
    if not spec.get("sha256") and record is not None and record["sha256"] != digest:
        delete(path)
        raise ChecksumMismatch(f"{what}: the pinned source now serves sha256 {digest}, not the {record['sha256']} "
                               f"recorded in {lock_path(weights_dir)}: upstream replaced the file or the lock was "
                               f"edited. The download was deleted; find out which before removing that record.")
    return write_record(weights_dir, path, spec, commit, digest)


def ensure_all(entry: CodecEntry, weights_dir=None) -> dict[str, Path]:
    """Local paths of all of a configuration's checkpoint files, each checked just now (check_local) and marked
    for codec_wrappers. Nothing is downloaded here: `fetch` (the `fetch_weights` rule) does that."""
    files = {}
    for key, spec, path in _sources(entry, weights_dir):
        if not path.exists():
            raise WeightsUnavailable(
                f"{entry.protocol_name}: checkpoint {key!r} ({describe(spec)}) is not at {path}. Run `snakemake "
                f"fetch_weights` where there is internet (HF_HUB_OFFLINE=1 turns downloads off), or use "
                f"`weights: random` for a test run.")
        files[key] = mark_verified(path, check_local(entry, key, spec, path, weights_dir))
    return files
