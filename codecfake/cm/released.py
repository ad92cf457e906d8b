"""Released reference countermeasures (resources/cm/released.yaml): fetching them, and reading any CM checkpoint.

A checkpoint is one of
  * ours: a dict with `spec` and `model` (codecfake.cm.train; a tracer's also has `tasks`);
  * a reference state dict (clovaai's AASIST.pth): tensors under the reference's names, which are ours (the only
    key map: the `module.` prefix of a model saved from nn.DataParallel is dropped), bare or saved by a training
    script under `state_dict`, `model_state_dict` or `model`;
  * a whole pickled reference module (Codecfake's anti-spoofing_feat_model.pt). Unpickling runs code, so such a
    file is read only when its sha256 is one of released.yaml's, and then with torch's weights-only unpickler in
    which every class the file names (model.LCNN, torch.nn.Conv2d, ...) stands for an inert record of its
    attributes; the state dict is collected from those records, no reference class is imported or run.
The first two are read with torch.load(weights_only=True), which runs no code whatever the file.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import torch
import yaml

from codecfake import RESOURCES
from codecfake.download import download, offline, sha256_of
from codecfake.errors import UserError

RELEASED = RESOURCES / "cm" / "released.yaml"

#: Every class a released pickled module may name; anything else fails the load.
PICKLED_CLASSES = [
    "model.LCNN", "model.MaxFeatureMap2D", "model.W2VAASIST", "model.Residual_block", "model.GraphAttentionLayer",
    "model.HtrgGraphAttentionLayer", "model.GraphPool",
    *(f"torch.nn.modules.{name}" for name in (
        "activation.SELU", "activation.Sigmoid", "batchnorm.BatchNorm1d", "batchnorm.BatchNorm2d",
        "container.Sequential", "conv.Conv2d", "dropout.Dropout", "linear.Linear", "pooling.MaxPool2d"))]


@cache
def released() -> dict[str, dict]:
    return yaml.safe_load(RELEASED.read_text())["released"]


def canonical(name: str) -> str:
    """Model names are spelt with underscores; the command line also takes hyphens (aasist-l = aasist_l)."""
    return name.replace("-", "_")


def entry_for_digest(digest: str) -> tuple[str, dict] | None:
    return next(((name, e) for name, e in released().items() if e["sha256"] == digest), None)


def fetch(name: str, weights_dir: str | Path) -> Path:
    """The released file of `name` under weights_dir/cm (downloaded once, sha256-verified; HF_HUB_OFFLINE=1 or no
    network fails at once, saying where to put the file)."""
    entry = released()[name]
    path = Path(weights_dir) / "cm" / f"{name}{Path(entry['url']).suffix}"
    if path.is_file():
        return download(entry["url"], path, sha256=entry["sha256"])  # present: only verified
    if offline():
        raise UserError(f"{name} is not at {path} and downloads are off (HF_HUB_OFFLINE=1): put {entry['url']} "
                        f"there or give --checkpoint")
    try:
        return download(entry["url"], path, sha256=entry["sha256"])
    except OSError as err:
        raise UserError(f"could not download {name} from {entry['url']} ({err}); put the file at {path} or give "
                        f"--checkpoint") from err


class _PickledRecord:
    """Stands in for any class a released pickled module names: keeps the attribute dict, runs nothing."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


def _state_of(record: _PickledRecord, prefix: str = "") -> dict[str, torch.Tensor]:
    """The state dict nn.Module.state_dict() would give: parameters, persistent buffers, then submodules."""
    state = {}
    for name, value in record.__dict__.get("_parameters", {}).items():
        if value is not None:
            state[prefix + name] = value.detach()
    skipped = record.__dict__.get("_non_persistent_buffers_set", set())
    for name, value in record.__dict__.get("_buffers", {}).items():
        if value is not None and name not in skipped:
            state[prefix + name] = value
    for name, module in record.__dict__.get("_modules", {}).items():
        if module is not None:
            state.update(_state_of(module, f"{prefix}{name}."))
    return state


def pickled_module_state(path: str | Path, sha256: str) -> dict[str, torch.Tensor]:
    """State dict of a whole pickled reference module whose sha256 the caller has already verified."""
    if sha256_of(path) != sha256 or entry_for_digest(sha256) is None:
        raise UserError(f"{path}: not a released reference module of resources/cm/released.yaml; not unpickled")
    with torch.serialization.safe_globals([(_PickledRecord, name) for name in PICKLED_CLASSES] + [set]):
        record = torch.load(path, map_location="cpu", weights_only=True)
    return _state_of(record)


def _is_state_dict(obj) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _state_dict_in(obj) -> dict | None:
    """A bare state dict, or one a training script saved under a conventional key beside its optimizer state."""
    if _is_state_dict(obj):
        return obj
    if isinstance(obj, dict):
        return next((obj[key] for key in ("state_dict", "model_state_dict", "model") if _is_state_dict(obj.get(key))),
                    None)
    return None


def unwrap_data_parallel(state: dict) -> dict:
    """The one key map: a state dict saved from nn.DataParallel has every key under `module.`; drop it."""
    if all(key.startswith("module.") for key in state):
        return {key[len("module."):]: value for key, value in state.items()}
    return dict(state)


@dataclass
class Checkpoint:
    """What a checkpoint file holds: a state dict, and our spec (+ tracer tasks) or the released entry it is."""
    state: dict
    spec: dict | None = None
    tasks: list[str] | None = None
    released_name: str | None = None
    released_entry: dict = field(default_factory=dict)


def read_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    digest = sha256_of(path)
    known = entry_for_digest(digest)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if known is None or known[1]["format"] != "pickled_module":
            raise UserError(f"{path} is neither a state dict nor a codecfake checkpoint, nor a released reference "
                            f"module listed (by sha256) in resources/cm/released.yaml; it is not unpickled "
                            f"({str(err).splitlines()[0]})") from err
        return Checkpoint(pickled_module_state(path, digest), released_name=known[0], released_entry=known[1])
    if isinstance(obj, dict) and "spec" in obj and "model" in obj:
        return Checkpoint(obj["model"], spec=obj["spec"], tasks=obj.get("tasks"))
    state = _state_dict_in(obj)
    if state is not None:
        name, entry = known if known else (None, {})
        return Checkpoint(unwrap_data_parallel(state), released_name=name, released_entry=entry)
    raise UserError(f"{path}: not a CM checkpoint (expected a state dict or a dict with spec and model)")
