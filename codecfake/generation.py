"""The one way the pipeline gets a ready CoSG generator: registry entry -> wrapper -> verified checkpoints -> model.

As codecfake.codec_loading for codecs: codecfake depends on cosg_wrappers, never the reverse; checkpoints are
verified here (codecfake.weights) and never downloaded (`codecfake.weights.fetch(entry)` does, where there is
internet).
"""
from __future__ import annotations

from codecfake import generator_registry
from codecfake.weights import ensure_all


def load_generator(name: str, weights: str = "pretrained", seed: int = 0, device: str = "cpu", weights_dir=None):
    """`pretrained`: the released checkpoints, each verified (sha256 or lock) in `weights_dir`; `random`: the
    entry's tiny architecture with seeded random weights (deterministic: same seed, same model and output)."""
    entry = generator_registry.get(name)
    wrapper = entry.wrapper_class()(entry)
    files = ensure_all(entry, weights_dir) if weights == "pretrained" else None
    return wrapper.load(weights=weights, seed=seed, device=device, files=files)
