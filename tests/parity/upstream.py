"""A GitHub-only family's own inference script, at the commit its env pins, as the reference of a parity test.

The family's env unpacks the pinned source (envs/post_deploy.py) and puts it on the import path; the tests run its
scripts unchanged, in a subprocess of the env's interpreter, on checkpoints written from the wrapper's seeded random
weights in the layout the script reads. Those scripts assume a GPU (`.cuda()`): the subprocess makes
`torch.Tensor.cuda` and `torch.nn.Module.cuda` return their object, so they run on the CPU.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

CPU_SHIM = """
import runpy, sys, torch
torch.Tensor.cuda = lambda self, *args, **kwargs: self
torch.nn.Module.cuda = lambda self, *args, **kwargs: self
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, str(__import__("pathlib").Path(script).parent))
runpy.run_path(script, run_name="__main__")
"""


def source_root(module: str) -> Path:
    """The unpacked source folder (<env>/src/<repo>-<commit>) whose top-level `module` this env imports."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise LookupError(f"{module} is not importable here")
    origin = Path(spec.origin if spec.origin else next(iter(spec.submodule_search_locations)))
    for parent in origin.parents:
        if parent.parent.name == "src":
            return parent
    raise LookupError(f"{module} ({origin}) is not an unpacked upstream source")


def source_or_skip(module: str, repo: str) -> Path:
    """source_root(module), skipping the test outside the env that unpacked `repo` (e.g. in the development venv)."""
    try:
        root = source_root(module)
    except (ImportError, LookupError, AttributeError, TypeError):
        pytest.skip(f"{repo}'s source is not on this env's path (make test-codecs runs this test in its env)",
                    allow_module_level=True)
    if not root.name.startswith(f"{repo}-"):
        pytest.skip(f"{module} comes from {root.name}, not {repo}", allow_module_level=True)
    return root


def run_script(script: Path, *args: str, cwd: Path) -> str:
    """Run an upstream script as `python script args...` (on the CPU) in cwd; its stdout, or an error with its log."""
    done = subprocess.run([sys.executable, "-c", CPU_SHIM, str(script), *args], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if done.returncode:
        raise AssertionError(f"{script.name} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def write_wav(path: Path, audio: np.ndarray, rate: int) -> Path:
    """Float samples, so the script reads exactly the wrapper's input."""
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio.astype(np.float32), rate, subtype="FLOAT")
    return path


def read_wav(path: Path, rate: int) -> np.ndarray:
    audio, file_rate = soundfile.read(path, dtype="float32")
    assert file_rate == rate, f"{path.name}: {file_rate} Hz, expected {rate}"
    return audio


def assert_close_to_pcm16(ours: np.ndarray, reference: np.ndarray) -> None:
    """The scripts save 16-bit PCM: equal within its rounding (and clipping), and the reference is not silence."""
    assert len(ours) == len(reference), f"{len(ours)} samples vs the reference's {len(reference)}"
    assert np.sqrt(np.mean(reference ** 2)) > 1e-3, "the reference output is (nearly) silent: nothing is compared"
    error = np.abs(np.clip(ours, -1, 1) - reference).max()
    assert error <= 1e-4, f"max |wrapper - upstream script| = {error:.3g}"


def with_weight_norm(plain: dict, fresh: dict) -> dict:
    """Weights of a module whose weight norm was removed, in the layout of a freshly built (weight-normed) upstream
    module, as training saved them: weight_v = weight, weight_g = its norm over all but the first dimension."""
    out = {}
    for key in fresh:
        if key.endswith(".weight_g"):
            out[key] = torch.norm_except_dim(plain[key[: -len("_g")]], 2, 0)
        elif key.endswith(".weight_v"):
            out[key] = plain[key[: -len("_v")]].clone()
        else:
            out[key] = plain[key]
    return out
