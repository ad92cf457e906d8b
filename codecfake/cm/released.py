"""Released reference countermeasures (codecfake/resources/cm/released.yaml): their entries, and fetching them.

Reading a file (released or not) is codecfake.checkpoint's job.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from codecfake import RESOURCES
from codecfake.download import ChecksumMismatch, download, offline
from codecfake.errors import UserError

RELEASED = RESOURCES / "cm" / "released.yaml"


@cache
def released() -> dict[str, dict]:
    return yaml.safe_load(RELEASED.read_text())["released"]


def canonical(name: str) -> str:
    """Model names are spelt with underscores; the command line also takes hyphens (aasist-l = aasist_l)."""
    return name.replace("-", "_")


def entry_for_digest(digest: str) -> tuple[str, dict] | None:
    return next(((name, e) for name, e in released().items() if e["sha256"] == digest), None)


def fetch(name: str, weights_dir: str | Path) -> Path:
    """The released file of `name` under weights_dir/cm (downloaded once, sha256-verified; HF_HUB_OFFLINE=1 or no
    network fails at once, saying where to put the file)."""
    entry = released()[name]
    path = Path(weights_dir) / "cm" / f"{name}{Path(entry['url']).suffix}"
    if path.is_file():
        return _verified(name, entry, path)  # present: only verified
    if offline():
        raise UserError(f"{name} is not at {path} and downloads are off (HF_HUB_OFFLINE=1): put {entry['url']} "
                        f"there or give --checkpoint")
    try:
        return _verified(name, entry, path)
    except OSError as err:
        raise UserError(f"could not download {name} from {entry['url']} ({err}); put the file at {path} or give "
                        f"--checkpoint") from err


def _verified(name: str, entry: dict, path: Path) -> Path:
    """download() (which only verifies a file already there), its checksum failure told as a sentence about `name`."""
    try:
        return download(entry["url"], path, sha256=entry["sha256"])
    except ChecksumMismatch as err:
        raise ChecksumMismatch(f"{path} is not the released {name}: its sha256 must be {entry['sha256']}; it was "
                               f"deleted (put the file of {entry['url']} there, or give --checkpoint)") from err
