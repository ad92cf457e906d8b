"""The one fetch module: resumable URL downloads and pinned hub files, all under one checksum policy.

Policy, for every file this project fetches (corpus archives, codec checkpoints, UTMOS, SSL front-ends, CM
weights): a hub file is named by a 40-hex commit, never a branch; every downloaded or cached file is checked
against a full 64-hex sha256 before it is used, the pinned one or, for a hub file with none pinned, the digest
the hub publishes for it at that commit. A hash prefix (an upstream file name's, a short commit) identifies a
file but never verifies one: eight hex digits take minutes to forge. A file that fails is deleted, so it can
neither pass next time nor be loaded by mistake. A URL download lands in `<dest>.part`,
resumes from its size with an HTTP Range request, and is renamed to `dest` only once it verifies.
`HF_HUB_OFFLINE=1` turns off every hub download and every checkpoint download (codecfake.weights, UTMOS), so
offline runs fail at once and clearly.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.request
from pathlib import Path

from tqdm import tqdm

from codecfake.errors import UserError

CHUNK = 1 << 20
COMMIT = re.compile(r"\A[0-9a-f]{40}\Z")
SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
#: A short commit a hub repository's pages show: resolved to the one full commit it starts with, never trusted as is.
COMMIT_PREFIX = re.compile(r"\A[0-9a-f]{7,39}\Z")


class ChecksumMismatch(UserError):
    pass


class DownloadFailed(UserError):
    pass


def offline() -> bool:
    """HF_HUB_OFFLINE=1: no hub download here, and no checkpoint download from a release URL either."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def require_commit(revision, what: str) -> str:
    """`revision` if it is a pinned 40-hex commit sha; a branch or tag can move under a fixed name."""
    if not COMMIT.match(str(revision or "")):
        raise DownloadFailed(f"{what}: hub revision {revision!r} is not a pinned 40-hex commit sha")
    return str(revision)


def resolve_commit(repo: str, revision: str) -> str:
    """The full 40-hex commit `revision` names on the hub: itself, or the one commit of `repo` that a 7- to
    39-hex prefix starts with. A branch or tag is refused: it moves under a fixed name."""
    revision = str(revision)
    if COMMIT.match(revision):
        return revision
    if not COMMIT_PREFIX.match(revision):
        raise DownloadFailed(f"{repo}@{revision}: a hub revision must be a 40-hex commit or a commit prefix of at "
                             f"least 7 hex digits, not a branch or tag")
    if offline():
        raise DownloadFailed(f"{repo}@{revision}: resolving the commit prefix needs the hub (HF_HUB_OFFLINE=1)")
    from huggingface_hub import HfApi

    try:
        found = sorted({c.commit_id for c in HfApi().list_repo_commits(repo) if c.commit_id.startswith(revision)})
    except Exception as err:
        raise DownloadFailed(f"could not list the commits of {repo} to resolve {revision}: "
                             f"{type(err).__name__}: {err}") from err
    if not found:
        raise DownloadFailed(f"{repo} has no commit starting with {revision}; the registry's prefix is wrong or "
                             f"the history was rewritten, so nothing is fetched")
    if len(found) > 1:
        raise DownloadFailed(f"{repo}: {len(found)} commits start with {revision} ({', '.join(found)}); pin the "
                             f"full 40-hex commit in codecfake/resources/codecs/ instead of the ambiguous prefix")
    return found[0]


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The git object id of a file's bytes: what the hub publishes for a file not stored in LFS."""
    digest = hashlib.sha1(f"blob {Path(path).stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def delete(path: Path) -> None:
    """Remove a file that failed verification; through a symlink (the hub cache's layout) the blob goes too."""
    target = Path(path).resolve()
    Path(path).unlink(missing_ok=True)
    target.unlink(missing_ok=True)


def verify(path: Path, sha256: str | None = None, size: int | None = None) -> str:
    """Check size and full sha256; returns the full digest. A mismatch deletes `path` (the policy above) and
    raises ChecksumMismatch; an expected value that is not a full 64-hex sha256 is refused, never matched."""
    path = Path(path)
    if sha256 is not None and not SHA256.match(str(sha256)):
        raise ChecksumMismatch(f"{path}: {sha256!r} is not a full sha256 (64 hex digits); a prefix identifies a "
                               f"file but never verifies it")
    actual_size = path.stat().st_size
    digest = sha256_of(path)
    if size is not None and actual_size != size:
        delete(path)
        raise ChecksumMismatch(f"{path}: {actual_size} bytes, expected {size}; the file was deleted")
    if sha256 and digest != str(sha256):
        delete(path)
        raise ChecksumMismatch(f"{path}: sha256 {digest} does not match the expected {sha256}; the file was deleted")
    return digest


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, size: int | None = None,
             timeout: float = 30.0) -> Path:
    """`dest`, verified; fetched from `url` (resuming a partial transfer) when it is not there yet."""
    dest = Path(dest)
    if dest.exists():
        verify(dest, sha256, size)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = start and response.status == 206
        total = response.length + (start if resumed else 0) if response.length is not None else size
        mode = "ab" if resumed else "wb"
        with open(part, mode) as out, tqdm(total=total, initial=start if resumed else 0, unit="B",
                                           unit_scale=True, desc=dest.name, file=sys.stderr,
                                           mininterval=5) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                bar.update(len(block))
    verify(part, sha256, size)
    os.replace(part, dest)
    return dest


def published_digest(repo: str, file: str, revision: str) -> tuple[str, str]:
    """("sha256", hex) of an LFS file or ("git-blob-sha1", hex) of a plain one, as the hub lists it at `revision`."""
    from huggingface_hub import HfApi

    (info,) = HfApi().get_paths_info(repo, [file], revision=revision)
    if info.lfs is not None:
        return "sha256", info.lfs.sha256
    return "git-blob-sha1", info.blob_id


def _check_published(path: Path, repo: str, file: str, revision: str) -> None:
    kind, expected = published_digest(repo, file, revision)
    if kind == "sha256":
        verify(path, expected)
    elif git_blob_sha1(path) != expected:
        delete(path)
        raise ChecksumMismatch(f"{path}: git blob id does not match {expected} listed by {repo}@{revision}:{file}; "
                               f"the file was deleted")


def hub_file(repo: str, file: str, revision: str, *, dest: str | os.PathLike | None = None,
             cache_dir: str | os.PathLike | None = None, sha256: str | None = None) -> Path:
    """One file of a hub repo at a pinned commit, downloaded and verified (pinned sha256, else the hub's digest).

    With `dest` the file lands exactly there (a plain folder tree); with `cache_dir` it lands in the hub's cache
    layout, which `from_pretrained(cache_dir=...)` reads. A cached `dest` is verified, not fetched again."""
    require_commit(revision, f"{repo}:{file}")
    if dest is not None and Path(dest).exists() and sha256:
        verify(Path(dest), sha256)
        return Path(dest)
    if offline():
        raise DownloadFailed(f"{repo}@{revision}:{file} is not here and downloads are off (HF_HUB_OFFLINE=1)")
    from huggingface_hub import hf_hub_download

    try:
        if dest is not None:
            dest = Path(dest)
            fetched = Path(hf_hub_download(repo, file, revision=revision, local_dir=dest.parent))
            if fetched != dest:
                os.replace(fetched, dest)
        else:
            dest = Path(hf_hub_download(repo, file, revision=revision, cache_dir=cache_dir))
    except Exception as err:
        raise DownloadFailed(f"could not download {repo}@{revision}:{file}: {type(err).__name__}: {err}") from err
    if sha256:
        verify(dest, sha256)
    else:
        _check_published(dest, repo, file, revision)
    return dest
