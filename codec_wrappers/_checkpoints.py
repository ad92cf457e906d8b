"""Every codec checkpoint is read without running code: `torch.load` with weights_only=True and an allowlist.

Unpickling a file runs whatever its pickle names, and no hash, lock record or file name can make that safe: a
file's bytes are the attacker's once the folder beside them is. So there is no full pickle, for any file. Within
`checkpoint_loads()` (`CodecWrapper.load` runs `build` and `load_pretrained` inside it, so wrappers and the
upstream loaders they call go through it):
  * `torch.load` is forced to weights_only=True, whatever the caller asks (TORCH_FORCE_WEIGHTS_ONLY_LOAD covers
    upstream code that bound `torch.load` before the patch), and maps to the CPU by default;
  * the weights-only unpickler accepts, besides tensors and plain containers, only `allowlist()`: inert data
    classes whose constructors only store their arguments (argparse.Namespace, pathlib paths, numpy scalars and
    arrays, typing.Any and the builtin types as values), and stand-ins for the containers of training checkpoints
    (OmegaConf configs, Lightning's AttributeDict and callback classes, collections.defaultdict), which run
    nothing and come back as plain dicts and lists;
  * anything else a file names (os.system, a module's class, ...) fails the load: `UnsafeCheckpoint`, naming the
    file and the object.
Released formats this is meant to cover, as the upstream savers and loaders show them (the released files are not
here to load; a Lightning 2.6 checkpoint with OmegaConf and Namespace hyper-parameters was loaded): state dicts
(EnCodec, DAC, Vocos, SNAC, SpeechTokenizer, FACodec, FunCodec, HiFi-Codec, TiCodec), dicts of them beside
optimiser states and plain metadata (BigCodec, AudioDec, HILCodec, LLM-Codec and SQ-Codec with argparse
Namespaces), Lightning checkpoints (WavTokenizer, Language-Codec, SemantiCodec: hyper-parameters, callbacks,
OmegaConf configs) and fairseq checkpoints (SoCodec's HuBERT: Namespace or plain cfg, task state with fairseq
Dictionaries: UPSTREAM_DATA).

`mark_verified` records the files codecfake.weights checked (sha256 or lock record); `CodecWrapper.load` refuses any
other file. That check only detects change: it never unlocks more than the allowlist. Torch is imported lazily: the
torch-free fetch step records verified files too.
"""
from __future__ import annotations

import os
import pickle
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

#: Resolved path -> (sha256, size, mtime_ns) when it was verified; a file changed since then is not trusted.
_verified: dict[str, tuple[str, int, int]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def mark_verified(path: str | os.PathLike, sha256: str) -> Path:
    """Record that `path`'s bytes were just checked against `sha256`; returns the path."""
    path = Path(path)
    _verified[str(path.resolve())] = (sha256, *_stamp(path))
    return path


def mark_extracted(archive: str | os.PathLike, member: str | os.PathLike) -> Path:
    """Trust a file unpacked from a verified archive (its bytes are part of the verified archive's)."""
    if not is_verified(archive):
        raise PermissionError(f"{archive}: not verified, so {member} unpacked from it is not trusted")
    return mark_verified(member, f"{_verified[str(Path(archive).resolve())][0]}:{Path(member).name}")


def is_verified(path) -> bool:
    """Whether `path` (a path, or an open file with a name) was verified and is unchanged since."""
    name = path if isinstance(path, (str, os.PathLike)) else getattr(path, "name", None)
    if not isinstance(name, (str, os.PathLike)) or not Path(name).is_file():
        return False
    record = _verified.get(str(Path(name).resolve()))
    return record is not None and record[1:] == _stamp(Path(name))


def build_or_load(wrapper, arch: dict, files: dict[str, Path] | None, seed: int):
    """A wrapper's model (codec or generator): with no `files`, `arch` built with weights seeded by `seed` and
    made meaningful by the wrapper's `randomize`; else the released model from `files`, each one verified first.
    Either way under checkpoint_loads(), so no load can run code."""
    import torch

    with checkpoint_loads():
        if files is None:
            torch.manual_seed(seed)
            model = wrapper.build(arch)
            wrapper.randomize(model, seed)
            return model
        unverified = [str(path) for path in files.values() if not is_verified(path)]
        if unverified:
            raise PermissionError(f"{wrapper.name}: checkpoints not verified: {', '.join(unverified)}")
        return wrapper.load_pretrained(arch, files)


class UnsafeCheckpoint(pickle.UnpicklingError):
    """A file that names objects outside the allowlist: not loaded (nothing in it ran)."""


class Record:
    """Inert stand-in for an allowlisted container class: keeps constructor arguments and pickled state, runs
    nothing. `plain()` turns it into the dict or list it held."""

    stands_for = ""

    def __init__(self, *args, **kwargs):
        self.args, self.state = args, None

    def __setstate__(self, state) -> None:
        self.state = state


class _PlainDict:
    """Stand-in for a dict subclass (Lightning's AttributeDict, collections.defaultdict): a plain dict, filled by
    the pickle's SETITEMS like any other."""

    def __new__(cls, *args):
        return {}


def _record(name: str) -> type[Record]:
    return type(name.rsplit(".", 1)[-1], (Record,), {"stands_for": name})


#: OmegaConf's container and node classes (Lightning hyper-parameters of Hydra-configured models).
OMEGACONF = ["omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig", "omegaconf.base.ContainerMetadata",
             "omegaconf.base.Metadata", "omegaconf.base.Node", "omegaconf.nodes.AnyNode", "omegaconf.nodes.StringNode",
             "omegaconf.nodes.IntegerNode", "omegaconf.nodes.FloatNode", "omegaconf.nodes.BooleanNode",
             "omegaconf.nodes.BytesNode", "omegaconf.nodes.PathNode", "omegaconf.nodes.EnumNode",
             "omegaconf.nodes.ValueNode"]
#: Lightning callback classes (older Lightning keys callback states by class) and its hyper-parameter dict.
LIGHTNING = [f"{package}.callbacks.{module}.{name}" for package in ("pytorch_lightning", "lightning.pytorch")
             for module, name in (("model_checkpoint", "ModelCheckpoint"), ("early_stopping", "EarlyStopping"),
                                  ("lr_monitor", "LearningRateMonitor"), ("progress.tqdm_progress", "TQDMProgressBar"),
                                  ("model_summary", "ModelSummary"))]
DICTS = ["collections.defaultdict", "pytorch_lightning.utilities.parsing.AttributeDict",
         "lightning_fabric.utilities.data.AttributeDict", "lightning.fabric.utilities.data.AttributeDict"]


#: Data classes of a family's upstream package (module -> class): allowed as themselves once the upstream code has
#: imported that module (never imported here). fairseq's Dictionary (HuBERT's task state, SoCodec) is rebuilt by
#: the weights-only unpickler as __new__ plus its attribute dict: none of its code runs.
UPSTREAM_DATA = {"fairseq.data.dictionary": "Dictionary"}


def _data_classes() -> list[tuple[object, str]]:
    """Classes whose constructors and setstate only store data: allowed as themselves."""
    import argparse
    import pathlib
    import sys
    import typing

    import numpy as np

    found = [(argparse.Namespace, "argparse.Namespace"), (typing.Any, "typing.Any")]
    found += [(t, f"builtins.{t.__name__}") for t in (dict, list, tuple, int, float, str, bool)]
    for name in ("Path", "PosixPath", "PurePosixPath", "WindowsPath", "PureWindowsPath"):
        found += [(getattr(pathlib, name), f"{module}.{name}") for module in ("pathlib", "pathlib._local")]
    found += [(np.dtype, "numpy.dtype"), (np.ndarray, "numpy.ndarray")]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles dtypes by their class
    found += [(getattr(dtypes, name), f"numpy.dtypes.{name}") for name in dir(dtypes) if name.endswith("DType")]
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray  # numpy 2 / numpy 1
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # files written by either
        found += [(multiarray.scalar, f"{module}.scalar"), (multiarray._reconstruct, f"{module}._reconstruct")]
    found += [(getattr(sys.modules[module], name), f"{module}.{name}") for module, name in UPSTREAM_DATA.items()
              if module in sys.modules]
    return found


def allowlist() -> list[tuple[object, str]]:
    """What torch.serialization.safe_globals gets inside checkpoint_loads()."""
    return [*_data_classes(), *((_record(name), name) for name in OMEGACONF + LIGHTNING),
            *((_PlainDict, name) for name in DICTS)]


def plain(obj, _seen: set | None = None):
    """`obj` with every Record replaced by the data it held (OmegaConf configs as dicts and lists, in place where
    they sit in dicts and lists); other values unchanged."""
    seen = set() if _seen is None else _seen
    if isinstance(obj, Record):
        state = obj.state if isinstance(obj.state, dict) else {}
        if "_content" in state:  # DictConfig / ListConfig
            return plain(state["_content"], seen)
        if "_val" in state:  # a value node
            return plain(state["_val"], seen)
        return None if obj.stands_for.startswith("omegaconf.base.") else obj
    if not isinstance(obj, (dict, list, tuple)) or id(obj) in seen:  # a pickle may share or nest containers
        return obj
    seen.add(id(obj))
    if isinstance(obj, dict):
        obj.update({key: plain(value, seen) for key, value in obj.items()})
    elif isinstance(obj, list):
        obj[:] = [plain(value, seen) for value in obj]
    else:
        obj = tuple(plain(value, seen) for value in obj)
    return obj


def refusal_reason(err: Exception) -> str:
    """What the weights-only unpickler refused (which global or opcode), without torch's advice to unpickle the
    file fully."""
    for line in str(err).splitlines():
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(" Please use")[0].strip()
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _name(f) -> str:
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", None)
    return str(name) if name is not None else repr(f)


@contextmanager
def checkpoint_loads():
    """Within the block, every `torch.load` reads weights only, with the allowlist (module docstring), maps to the
    CPU by default, and gives allowlisted containers back as plain data."""
    import torch

    original = torch.load

    def load(f, *args, **kwargs):
        if not args:
            kwargs.setdefault("map_location", "cpu")
        kwargs["weights_only"] = True
        try:
            with torch.serialization.safe_globals(allowlist()):  # UPSTREAM_DATA imported since the block began
                return plain(original(f, *args, **kwargs))
        except pickle.UnpicklingError as err:
            raise UnsafeCheckpoint(f"{_name(f)}: names Python objects outside the checkpoint allowlist "
                                   f"(codec_wrappers._checkpoints), so it was not unpickled and nothing in it ran: "
                                   f"{refusal_reason(err)}") from err

    with mock.patch.dict(os.environ, {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"}), \
            torch.serialization.safe_globals(allowlist()), mock.patch("torch.load", load):
        yield
