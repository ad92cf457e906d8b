"""Codec wrappers: one module per codec family behind one small interface (codec_wrappers.base.CodecWrapper).

The registry is data (resources/codecs/<family>.yaml): an entry names its wrapper module, and each module
exposes its class as ``WRAPPER``. `load` is the one way the pipeline gets a ready codec.
"""
from __future__ import annotations

from codecfake import registry


def create(name: str):
    """An unloaded wrapper for the configuration registered under protocol name `name`."""
    entry = registry.get(name)
    return entry.wrapper_class()(entry)


def load(name: str, device: str = "cpu", weights: str = "pretrained", weights_dir=None, seed: int = 0):
    return create(name).load(device=device, weights=weights, weights_dir=weights_dir, seed=seed)
