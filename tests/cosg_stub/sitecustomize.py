"""Test double for tests/test_cosg_workflow.py, on PYTHONPATH of its Snakemake runs only (never imported otherwise):
the workflow's CoSG plumbing runs with it in place of a real generator, in the main venv (which cannot import
MaskGCT: its env is envs/maskgct.yaml, exercised by `make test-codecs` and `make demo`).

`codecfake.generation.load_generator` is replaced by a deterministic generator (24 kHz, 0.01 s of tone per character
of the target text at the prompt's level). It stands for no real generator; the real MaskGCT has its own tests.
"""
import sys
import types

import numpy as np


class _EchoGenerator:
    sample_rate = 24000

    def generate(self, prompts):
        return [(np.abs(p.audio).max() * np.sin(np.arange(int(240 * len(p.target_text))) / 9.0)).astype(np.float32)
                for p in prompts]


_generation = types.ModuleType("codecfake.generation")
_generation.load_generator = lambda name, weights="pretrained", seed=0, device="cpu", weights_dir=None: _EchoGenerator()
sys.modules["codecfake.generation"] = _generation
