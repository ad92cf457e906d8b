"""The one place a checkpoint is unpickled: `torch.load` safe by default, a full pickle only for verified bytes.

Several upstream loaders call `torch.load(path)` with neither `map_location` nor `weights_only`, and some
checkpoints (Lightning or training checkpoints holding argparse Namespaces, hyper-parameter objects) cannot be
read with `weights_only=True`. Unpickling runs arbitrary code, so a full pickle is allowed only for a file whose
sha256 the caller checked first and recorded here with `mark_verified` (codecfake.weights does, for each
checkpoint it hands a wrapper). `CodecWrapper.load` runs `build` and `load_pretrained` inside `checkpoint_loads()`,
so wrappers and the upstream code they call cannot bypass this: any other file is read with `weights_only=True`
whatever the caller asks. Torch is imported lazily: the torch-free fetch step records verified files too.
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


@contextmanager
def checkpoint_loads():
    """Within the block, `torch.load` maps to the CPU by default and reads every file with `weights_only=True`;
    only a verified file whose format needs it is fully unpickled."""
    import torch

    original = torch.load

    def load(f, *args, **kwargs):
        if not args:
            kwargs.setdefault("map_location", "cpu")
        kwargs["weights_only"] = True
        try:
            return original(f, *args, **kwargs)
        except pickle.UnpicklingError:
            if not is_verified(f):
                raise
            if hasattr(f, "seek"):
                f.seek(0)
            # Full pickle: allowed because this file's sha256 was verified first (mark_verified) and it is
            # unchanged since; its format holds Python objects that weights_only=True cannot read.
            kwargs["weights_only"] = False
            return original(f, *args, **kwargs)

    with mock.patch("torch.load", load):
        yield
