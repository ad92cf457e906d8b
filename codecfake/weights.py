"""Codec checkpoints: where each comes from (resources/codecs/<family>.yaml), where it lives locally, and its checksum.

A source is a hub file `{hub, revision, file}` (revision pinned to a commit) or a release `{url}`; either may
carry `sha256` (full, or the prefix the upstream loader itself checks). Files are kept under
`<weights_dir>/<protocol family>/...` so the `fetch_weights` rule can fill the cache on a machine with internet
and compute nodes without it read from there.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from codecfake.download import download, sha256_of, verify
from codecfake.errors import UserError
from codecfake.registry import CodecEntry

__all__ = ["WeightsUnavailable", "ensure_all", "local_path", "sha256_of", "offline"]

COMMIT = re.compile(r"^[0-9a-f]{40}$")
DEFAULT_DIR = Path("weights")


class WeightsUnavailable(UserError):
    pass


def offline() -> bool:
    """HF_HUB_OFFLINE=1 turns off every download, hub or URL, so offline runs fail at once and clearly."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def local_path(entry: CodecEntry, spec: dict, weights_dir: str | os.PathLike | None) -> Path:
    root = Path(weights_dir or DEFAULT_DIR) / entry.family.replace(" ", "_")
    if "hub" in spec:
        return root / spec["hub"].replace("/", "--") / spec["revision"] / spec["file"]
    return root / spec["url"].rstrip("/").rsplit("/", 1)[-1]


def _describe(spec: dict) -> str:
    if "hub" in spec:
        return f"hub {spec['hub']}@{spec['revision']}:{spec['file']}"
    return spec["url"]


def _fetch(entry: CodecEntry, spec: dict, path: Path) -> None:
    if "hub" in spec:
        if not COMMIT.match(str(spec["revision"])):
            raise WeightsUnavailable(f"{entry.protocol_name}: hub revision {spec['revision']!r} is not a pinned "
                                     f"commit sha; pin it in resources/codecs/")
        from huggingface_hub import hf_hub_download

        fetched = hf_hub_download(spec["hub"], spec["file"], revision=spec["revision"],
                                  local_dir=path.parent)
        if Path(fetched) != path:
            os.replace(fetched, path)
        verify(path, spec.get("sha256"))
    else:
        download(spec["url"], path, sha256=spec.get("sha256"))


def ensure_all(entry: CodecEntry, weights_dir=None, allow_download: bool = True) -> dict[str, Path]:
    """Local, verified paths of all of a configuration's checkpoint files, downloading what is missing."""
    if not entry.weights:
        raise WeightsUnavailable(f"{entry.protocol_name}: no weights source in resources/codecs/")
    files = {}
    for key, spec in entry.weights.items():
        path = local_path(entry, spec, weights_dir)
        if path.exists():
            verify(path, spec.get("sha256"))
        elif offline() or not allow_download:
            raise WeightsUnavailable(
                f"{entry.protocol_name}: checkpoint {key!r} ({_describe(spec)}) is not at {path} and downloads are "
                f"off (HF_HUB_OFFLINE=1). Run `snakemake fetch_weights` where there is internet, or use "
                f"`weights: random` for a test run.")
        else:
            try:
                _fetch(entry, spec, path)
            except WeightsUnavailable:
                raise
            except Exception as err:
                raise WeightsUnavailable(f"{entry.protocol_name}: could not download {key!r} ({_describe(spec)}) "
                                         f"to {path}: {type(err).__name__}: {err}") from err
        files[key] = path
    return files
