"""The UTMOS checkpoint: fetched from the hub at a pinned commit, sha256-checked, cached under weights_dir.

Torch-free, so the fetch rule can run on a submitting host without it and the Snakefile can name the path at
parse time. Fetching and checking follow codecfake.download's one policy (pinned commit, verified before use,
a bad file deleted); HF_HUB_OFFLINE=1 turns the download off and a missing file is then a clear error at once.
"""
from __future__ import annotations

from pathlib import Path

from codecfake.download import DownloadFailed, hub_file, offline, require_commit, verify
from codecfake.errors import UserError


class UtmosUnavailable(UserError):
    pass


def checkpoint_path(weights_dir, hub_repo: str, revision: str, filename: str) -> Path:
    return Path(weights_dir) / "utmos" / hub_repo.replace("/", "--") / revision / filename


def fetch_checkpoint(weights_dir, hub_repo: str, revision: str, filename: str, sha256: str | None) -> Path:
    """The verified local checkpoint, downloaded from the hub at a pinned commit when missing."""
    try:
        require_commit(revision, f"quality.utmos.revision of {hub_repo}")
    except DownloadFailed as err:
        raise UtmosUnavailable(f"{err}; set it to the commit whose {filename} you mean to score with") from err
    path = checkpoint_path(weights_dir, hub_repo, revision, filename)
    if path.exists() and sha256:
        verify(path, sha256)
        return path
    if offline():
        raise UtmosUnavailable(
            f"UTMOS checkpoint {hub_repo}@{revision}:{filename} is not at {path} (or has no sha256 to check it "
            f"against: quality.utmos.sha256) and downloads are off "
            f"(HF_HUB_OFFLINE=1). Run `snakemake fetch_utmos_weights` where there is internet, or set "
            f"quality.utmos.enabled: false (or weights: random for a test run; its scores are not MOS).")
    try:
        return hub_file(hub_repo, filename, revision, dest=path, sha256=sha256)
    except DownloadFailed as err:
        raise UtmosUnavailable(f"UTMOS checkpoint (quality.utmos): {err}") from err
