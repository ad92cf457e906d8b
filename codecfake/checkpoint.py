"""The one reader of countermeasure and tracer checkpoints (`detect`, `trace`, `cm-score`, `trace-evaluate`,
training's resume and best model): no file is ever fully unpickled.

Unpickling runs whatever code the file names, so every file is read with `torch.load(weights_only=True)`, which
builds only tensors and plain containers; anything else fails with a UserError naming the file. Our own files
(codecfake.cm.train, codecfake.trace.train) are saved in that form. A checkpoint is one of
  * ours: a dict with `spec` and `model` (a tracer's also has `tasks`);
  * a reference state dict (clovaai's AASIST.pth): tensors under the reference's names, which are ours (the only
    key map: the `module.` prefix of a model saved from nn.DataParallel is dropped), bare or saved by a training
    script under `state_dict`, `model_state_dict` or `model`;
  * a whole pickled reference module (Codecfake's anti-spoofing_feat_model.pt, one of them wrapped in
    nn.DataParallel), read only when its sha256 is one of codecfake/resources/cm/released.yaml's, then still with the
    weights-only unpickler, in which each class the file may name (PICKLED_CLASSES) stands for an inert record of
    its attributes: the state dict is collected from those records; no reference class is imported or run.
"""
from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from codec_wrappers._checkpoints import refusal_reason
from codecfake.cm.released import entry_for_digest
from codecfake.download import sha256_of
from codecfake.errors import UserError

#: Every class a released pickled module may name; anything else fails the load.
PICKLED_CLASSES = [
    "model.LCNN", "model.MaxFeatureMap2D", "model.W2VAASIST", "model.Residual_block", "model.GraphAttentionLayer",
    "model.HtrgGraphAttentionLayer", "model.GraphPool", "torch.nn.parallel.data_parallel.DataParallel",
    *(f"torch.nn.modules.{name}" for name in (
        "activation.SELU", "activation.Sigmoid", "batchnorm.BatchNorm1d", "batchnorm.BatchNorm2d",
        "container.Sequential", "conv.Conv2d", "dropout.Dropout", "linear.Linear", "pooling.MaxPool2d"))]


def torch_load(path: str | Path, what: str = "checkpoint", safe_globals: list | None = None):
    """`torch.load(path, weights_only=True)` on the CPU; a file that needs more (a pickle naming other classes or
    functions: a planted file, or one saved by older code) or is no torch file at all is a UserError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist")
    try:
        with torch.serialization.safe_globals(safe_globals or []):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UserError(f"{path}: not a {what} that loads without running code (it names Python objects outside "
                        f"the weights-only allowlist), so it is not unpickled: {refusal_reason(err)}") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise UserError(f"{path}: not a torch {what} ({type(err).__name__}: {str(err).splitlines()[0]})") from err


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
    """State dict of a whole pickled reference module whose sha256 is one of released.yaml's (module. prefix of an
    nn.DataParallel wrapper dropped)."""
    if sha256_of(path) != sha256 or entry_for_digest(sha256) is None:
        raise UserError(f"{path}: not a released reference module of codecfake/resources/cm/released.yaml; "
                        f"not unpickled")
    record = torch_load(path, "released reference module",
                        [(_PickledRecord, name) for name in PICKLED_CLASSES] + [set])
    return unwrap_data_parallel(_state_of(record))


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
    if state and all(key.startswith("module.") for key in state):
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
    sha256: str = ""


def read_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    digest = sha256_of(path)
    known = entry_for_digest(digest)
    if known is not None and known[1]["format"] == "pickled_module":
        return Checkpoint(pickled_module_state(path, digest), released_name=known[0], released_entry=known[1],
                          sha256=digest)
    try:
        obj = torch_load(path, "CM checkpoint")
    except UserError as err:
        raise UserError(f"{str(err).rstrip('.')}; a released reference module is read only when its sha256 is "
                        f"listed in codecfake/resources/cm/released.yaml") from err
    if isinstance(obj, dict) and "spec" in obj and "model" in obj:
        return Checkpoint(obj["model"], spec=obj["spec"], tasks=obj.get("tasks"), sha256=digest)
    state = _state_dict_in(obj)
    if state is not None:
        name, entry = known if known else (None, {})
        return Checkpoint(unwrap_data_parallel(state), released_name=name, released_entry=entry, sha256=digest)
    raise UserError(f"{path}: not a CM checkpoint (expected a state dict or a dict with spec and model)")
