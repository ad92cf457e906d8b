"""Resumable, checksum-verified downloads (corpus archives and codec checkpoints).

A download lands in `<dest>.part`, resumes from its size with an HTTP Range request, and is renamed to `dest`
only after its size and sha256 match: an interrupted or corrupt transfer is never mistaken for the file.
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from pathlib import Path

from tqdm import tqdm

from codecfake.errors import UserError

CHUNK = 1 << 20


class ChecksumMismatch(UserError):
    pass


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, sha256: str | None = None, size: int | None = None) -> str:
    """Check size and sha256 (a full digest, or the prefix upstream loaders check); returns the full digest."""
    if size is not None and path.stat().st_size != size:
        raise ChecksumMismatch(f"{path}: {path.stat().st_size} bytes, expected {size}")
    digest = sha256_of(path)
    if sha256 and not digest.startswith(sha256.lower()):
        raise ChecksumMismatch(f"{path}: sha256 {digest} does not match the expected {sha256}")
    return digest


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, size: int | None = None,
             timeout: float = 30.0) -> Path:
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
    try:
        verify(part, sha256, size)
    except ChecksumMismatch:
        part.unlink()
        raise
    os.replace(part, dest)
    return dest
