"""Test doubles for tests/test_cosg_workflow.py, on PYTHONPATH of its Snakemake runs only (never imported
otherwise): the workflow's CoSG plumbing runs with them in place of a real generator.

- `codecfake.generator_registry`, where this checkout has none (the generator side of issue 19 brings it): one
  MaskGCT entry with what the workflow reads (name, system, env, sample rate); its env is the core one, all the
  double needs.
- `codecfake.generation.load_generator`, always: a deterministic generator (24 kHz, 0.01 s of tone per character
  of the target text at the prompt's level). It stands for no real generator; the real MaskGCT has its own tests.
- `cosg_wrappers.base.Prompt`, where that module is absent: the interface's dataclass.
"""
import importlib.util
import sys
import types
from dataclasses import dataclass

import numpy as np


def _module(name: str, **attributes) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


class _EchoGenerator:
    sample_rate = 24000

    def generate(self, prompts):
        return [(np.abs(p.audio).max() * np.sin(np.arange(int(240 * len(p.target_text))) / 9.0)).astype(np.float32)
                for p in prompts]


if importlib.util.find_spec("codecfake.generator_registry") is None:
    _entry = types.SimpleNamespace(name="MaskGCT", cosg_system="MASKGCT", env="envs/core.yaml", sample_rate=24000)
    _module("codecfake.generator_registry", generators=lambda: {"MaskGCT": _entry})
_module("codecfake.generation", load_generator=lambda name, weights="pretrained", seed=0, device="cpu",
        weights_dir=None: _EchoGenerator())
if importlib.util.find_spec("cosg_wrappers") is None:
    @dataclass(frozen=True)
    class Prompt:
        audio: np.ndarray
        prompt_text: str
        target_text: str
        language: str = "en"

    _module("cosg_wrappers")
    _module("cosg_wrappers.base", Prompt=Prompt)
