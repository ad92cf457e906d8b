"""The registry entry's architecture checked against the configuration a checkpoint ships with.

A released checkpoint carries its own hyper-parameters. Loading it through the upstream loader uses those, so a
registry entry that describes another model would go unnoticed: random-weights tests would then exercise an
architecture the pipeline never runs. The wrappers compare the two before loading and stop on any difference.
"""
from __future__ import annotations


def differences(arch: dict, released: dict, prefix: str = "") -> dict[str, tuple]:
    """Every key of `arch` (nested dicts compared key by key) whose released value differs: {key: (arch, released)}.
    Lists and tuples compare equal when their items do."""
    found = {}
    for key, expected in arch.items():
        name = f"{prefix}{key}"
        actual = released.get(key) if isinstance(released, dict) else None
        if isinstance(expected, dict) and isinstance(actual, dict):
            found.update(differences(expected, actual, prefix=f"{name}."))
        elif _normal(expected) != _normal(actual):
            found[name] = (expected, actual)
    return found


def check(codec_name: str, arch: dict, released: dict, source) -> None:
    """Raise ValueError naming each hyper-parameter where `released` (read from `source`) differs from `arch`."""
    found = differences(arch, released)
    if found:
        listed = "; ".join(f"{key}: registry {want!r}, checkpoint {got!r}" for key, (want, got) in found.items())
        raise ValueError(f"{codec_name}: the checkpoint's configuration ({source}) differs from the registry's "
                         f"architecture: {listed}")


def _normal(value):
    if isinstance(value, (list, tuple)):
        return [_normal(item) for item in value]
    return value
