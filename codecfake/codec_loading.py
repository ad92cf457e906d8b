"""The one way the pipeline gets a ready codec: registry entry -> wrapper -> verified checkpoints -> model.

codecfake depends on codec_wrappers, never the reverse: the wrappers know a registry entry only through the few
attributes they read (codec_wrappers.base.CodecSpec) and receive checkpoint files already verified here.
"""
from __future__ import annotations

from codecfake import registry
from codecfake.weights import ensure_all

WEIGHTS_MODES = ("pretrained", "random")


def create(name: str):
    """An unloaded wrapper for the configuration registered under protocol name `name`."""
    entry = registry.get(name)
    return entry.wrapper_class()(entry)


def load(name: str, device: str = "cpu", weights: str = "pretrained", weights_dir=None, seed: int = 0):
    """`pretrained`: the released checkpoints, each verified (sha256 or lock) in `weights_dir`, never downloaded
    here (`snakemake fetch_weights` does); `random`: the architecture with seeded random weights."""
    if weights not in WEIGHTS_MODES:
        raise ValueError(f"weights must be one of {WEIGHTS_MODES}, got {weights!r}")
    wrapper = create(name)
    files = ensure_all(wrapper.entry, weights_dir) if weights == "pretrained" else None
    return wrapper.load(device=device, files=files, seed=seed)
