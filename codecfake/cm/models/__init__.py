"""The CM model registry: a resolved spec (codecfake.cm.presets) -> an nn.Module.

The network is built from the spec's `arch` alone, so a checkpoint that stores its offline spec rebuilds its
network without the config or the hub.
"""
from __future__ import annotations

import copy

from torch import nn

from codecfake.cm.models.aasist import AASIST, SincFrontend
from codecfake.cm.models.lcnn import LCNN, MelFrontend
from codecfake.cm.models.ssl_frontend import SSLFrontend


def _frontend(arch: dict, cache_dir: str | None) -> nn.Module:
    kind = arch["frontend"]
    if kind == "sinc":
        return SincFrontend(**arch["sinc"])
    if kind == "mel":
        return MelFrontend(**arch["mel"])
    if kind == "ssl":
        return SSLFrontend(**arch["ssl"], cache_dir=cache_dir)
    raise ValueError(f"unknown CM front-end {kind!r} (sinc, mel, ssl)")


def build_model(spec: dict, cache_dir: str | None = None) -> nn.Module:
    arch = spec["arch"]
    frontend = _frontend(arch, cache_dir)
    if arch["backend"] == "aasist":
        return AASIST(frontend, encoder=arch["encoder"], time_pool=arch["time_pool"], gat_dims=arch["gat_dims"],
                      pool_ratios=arch["pool_ratios"], temperatures=arch["temperatures"],
                      projection=arch.get("projection"))
    if arch["backend"] == "lcnn":
        return LCNN(frontend, width=arch["width"], dropout=arch["dropout"], projection=arch.get("projection"))
    raise ValueError(f"unknown CM back-end {arch['backend']!r} (aasist, lcnn)")


def offline_spec(model: nn.Module, spec: dict) -> dict:
    """The spec with any pretrained front-end replaced by its full architecture (no hub needed to rebuild)."""
    offline = copy.deepcopy(spec)
    if isinstance(model.frontend, SSLFrontend):
        offline["arch"]["ssl"] = model.frontend.architecture()
    return offline
