"""`torch.load` as the upstream codec loaders need it on torch >= 2.6 and on CPU-only nodes.

Several upstream loaders call `torch.load(path)` with neither `map_location` nor `weights_only`: a checkpoint saved
on a GPU then fails on a CPU-only node, and a training checkpoint that carries Python objects (argparse Namespaces,
Lightning hyper-parameters) fails torch >= 2.6's `weights_only=True` default. The wrappers run those loaders
unchanged inside `upstream_loads()`, only on the authors' released files the registry pins (revision, sha256
where known): the same trust as the upstream code itself.
"""
from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

import torch


@contextmanager
def upstream_loads():
    """Within the block, `torch.load` defaults to map_location='cpu' and weights_only=False; explicit arguments of
    the caller still win."""
    original = torch.load

    def load(f, *args, **kwargs):
        if not args:
            kwargs.setdefault("map_location", "cpu")
        kwargs.setdefault("weights_only", False)
        return original(f, *args, **kwargs)

    with mock.patch("torch.load", load):
        yield
