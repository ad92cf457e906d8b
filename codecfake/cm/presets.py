"""CM presets (codecfake/resources/cm/models.yaml) + config overrides -> a resolved spec; no torch, so the Snakefile can
resolve every CM's spec at parse time cheaply.

A spec is {"model": preset name, "arch": {...}, "train": {...}} (the workflow adds name, seed, train_set).
"""
from __future__ import annotations

import copy
from functools import lru_cache

import yaml

from codecfake import RESOURCES

PRESETS = RESOURCES / "cm" / "models.yaml"


@lru_cache(maxsize=None)
def _presets() -> dict:
    return yaml.safe_load(PRESETS.read_text())


def model_names() -> list[str]:
    return list(_presets()["models"])


def deep_merge(base: dict, override: dict) -> dict:
    """Nested dicts merge key by key; anything else in `override` (lists included) replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve(model: str, arch: dict | None = None, train: dict | None = None) -> dict:
    """Full spec of `model`: common training defaults < the model's preset < the given overrides."""
    presets = _presets()
    if model not in presets["models"]:
        raise KeyError(f"unknown CM model {model!r}; known: {', '.join(presets['models'])}")
    preset = presets["models"][model]
    return {"model": model, "arch": deep_merge(preset["arch"], arch or {}),
            "train": deep_merge(deep_merge(presets["defaults"]["train"], preset["train"]), train or {})}
