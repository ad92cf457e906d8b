"""The UTMOS checkpoint: fetched from the hub at a pinned commit, sha256-checked, cached under weights_dir.

Torch-free, so the fetch rule can run on a submitting host without it and the Snakefile can name the path at
parse time. Like the codec checkpoints (codecfake.weights), HF_HUB_OFFLINE=1 turns the download off and a
missing file is then a clear error at once.
"""
from __future__ import annotations

from pathlib import Path

from codecfake.download import verify
from codecfake.errors import UserError
from codecfake.weights import COMMIT, offline


class UtmosUnavailable(UserError):
    pass


def checkpoint_path(weights_dir, hub_repo: str, revision: str, filename: str) -> Path:
    return Path(weights_dir) / "utmos" / hub_repo.replace("/", "--") / revision / filename


def fetch_checkpoint(weights_dir, hub_repo: str, revision: str, filename: str, sha256: str | None) -> Path:
    """The verified local checkpoint, downloaded from the hub at a pinned commit when missing."""
    if not COMMIT.match(str(revision)):
        raise UtmosUnavailable(f"quality.utmos.revision {revision!r} is not a pinned 40-hex commit of {hub_repo}; "
                               f"set it to the commit whose {filename} you mean to score with")
    path = checkpoint_path(weights_dir, hub_repo, revision, filename)
    if path.exists():
        verify(path, sha256)
        return path
    if offline():
        raise UtmosUnavailable(
            f"UTMOS checkpoint {hub_repo}@{revision}:{filename} is not at {path} and downloads are off "
            f"(HF_HUB_OFFLINE=1). Run `snakemake fetch_utmos_weights` where there is internet, or set "
            f"quality.utmos.enabled: false (or weights: random for a test run; its scores are not MOS).")
    from huggingface_hub import hf_hub_download

    try:
        fetched = Path(hf_hub_download(hub_repo, filename, revision=revision, local_dir=path.parent))
    except Exception as err:
        raise UtmosUnavailable(f"could not download UTMOS checkpoint {hub_repo}@{revision}:{filename}: "
                               f"{type(err).__name__}: {err}") from err
    if fetched != path:
        fetched.replace(path)
    try:
        verify(path, sha256)
    except UserError:
        path.unlink()  # a wrong file must not pass as the cached checkpoint next time
        raise
    return path
