"""The CM model registry: a resolved spec (codecfake.cm.presets) -> an nn.Module.

The network is built from the spec's `arch` alone (LCNN's flattened size also from `train.crop_samples`), so a
checkpoint that stores its offline spec rebuilds its network without the config or the hub.
"""
from __future__ import annotations

import copy

from torch import nn

from codecfake.cm.data import CROP_SAMPLES
from codecfake.cm.models.aasist import AASIST, FeatureInput, SincFrontend
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
    if kind == "features":
        return FeatureInput(**arch["features"])
    raise ValueError(f"unknown CM front-end {kind!r} (sinc, mel, ssl, features)")


def build_model(spec: dict, cache_dir: str | None = None) -> nn.Module:
    arch = spec["arch"]
    frontend = _frontend(arch, cache_dir)
    if arch["backend"] == "aasist":
        return AASIST(frontend, encoder=arch["encoder"], pooling=arch["pooling"], gat_dims=arch["gat_dims"],
                      pool_ratios=arch["pool_ratios"], temperatures=arch["temperatures"],
                      projection=arch.get("projection"), time_pool=arch["time_pool"],
                      pre_activation=arch.get("pre_activation", False))
    if arch["backend"] == "lcnn":
        samples = spec.get("train", {}).get("crop_samples", CROP_SAMPLES)
        return LCNN(frontend, frontend.frames(samples), dropout=arch["dropout"],
                    time_major=arch.get("time_major", False))
    raise ValueError(f"unknown CM back-end {arch['backend']!r} (aasist, lcnn)")


def offline_spec(model: nn.Module, spec: dict) -> dict:
    """The spec with any pretrained front-end replaced by its full architecture (no hub needed to rebuild)."""
    offline = copy.deepcopy(spec)
    if isinstance(model.frontend, SSLFrontend):
        offline["arch"]["ssl"] = model.frontend.architecture()
    return offline
