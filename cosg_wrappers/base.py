"""The interface every CoSG generator implements: prompts in, speech out at the generator's native rate.

A generator is a codec-based TTS (MaskGCT first): given an audio prompt, its transcript and a text to speak, it
speaks the text in the prompt's voice. The job around it (the workflow's generation step) reads prompts, resamples
the output to 16 kHz and writes it; the wrapper only runs the model. Checkpoints are read as codecs read theirs
(codec_wrappers._checkpoints: weights only, verified files only).
"""
from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from codec_wrappers._checkpoints import build_or_load

#: The rate of every prompt's audio (the corpus step's rate).
PROMPT_RATE = 16000
WEIGHTS_MODES = ("pretrained", "random")


@dataclass(frozen=True)
class Prompt:
    """One utterance to generate: `audio` (float32 mono at 16 kHz) is the voice and its `prompt_text` transcript;
    `target_text` is what the generated speech says."""

    audio: np.ndarray
    prompt_text: str
    target_text: str
    language: str = "en"


class GeneratorSpec(Protocol):
    """What a wrapper reads from its registry entry (codecfake.generator_registry.GeneratorEntry)."""

    name: str
    sample_rate: int
    settings: dict

    def architecture_params(self, weights: str) -> dict: ...


class GeneratorWrapper(ABC):
    #: Top-level modules the generator needs; absent ones mean its env is not this one.
    requires: tuple[str, ...] = ()

    @classmethod
    def unavailable(cls) -> str | None:
        """Why the generator cannot run in this env (a sentence), or None."""
        missing = [name for name in cls.requires if importlib.util.find_spec(name) is None]
        return f"{', '.join(missing)} not importable here" if missing else None

    def __init__(self, entry: GeneratorSpec):
        self.entry = entry
        self.name = entry.name
        self.sample_rate = entry.sample_rate
        self.settings = dict(entry.settings)
        self.model: torch.nn.Module | None = None
        self.device = torch.device("cpu")
        self.weights_mode: str | None = None
        self.seed = 0

    @abstractmethod
    def build(self, arch: dict) -> torch.nn.Module:
        """The model from hyper-parameters (the entry's `random_architecture`), with untrained weights."""

    @abstractmethod
    def load_pretrained(self, arch: dict, files: dict[str, Path]) -> torch.nn.Module:
        """The released model from verified local checkpoint files (the entry's `architecture`)."""

    def randomize(self, model: torch.nn.Module, seed: int) -> None:
        """Make random weights meaningful (output that follows the prompt and the text)."""

    @abstractmethod
    def generate_one(self, prompt: Prompt) -> np.ndarray:
        """Speech for one prompt: float32 mono at `sample_rate`."""

    def load(self, weights: str = "pretrained", seed: int = 0, device: str = "cpu",
             files: dict[str, Path] | None = None):
        """`pretrained`: the released model from `files` (verified by codecfake.weights.ensure_all); `random`: the
        entry's tiny architecture with weights seeded by `seed`. `seed` also seeds sampling (generate)."""
        if weights not in WEIGHTS_MODES:
            raise ValueError(f"weights must be one of {WEIGHTS_MODES}, got {weights!r}")
        if (weights == "pretrained") != (files is not None):
            raise ValueError(f"{self.name}: pretrained weights need their verified files; random weights take none")
        self.device = torch.device(device)
        model = build_or_load(self, self.entry.architecture_params(weights), files, seed)
        self.model = model.to(self.device).eval()
        self.weights_mode, self.seed = weights, seed
        return self

    def generate(self, prompts: list[Prompt]) -> list[np.ndarray]:
        """Speech for each prompt (float32 mono at `sample_rate`). Sampling is seeded with the load seed before
        each prompt, so an utterance's output does not depend on which others share its list or shard."""
        if self.model is None:
            raise RuntimeError(f"{self.name}: call load() before generate()")
        out = []
        with torch.inference_mode():
            for prompt in prompts:
                torch.manual_seed(self.seed)
                out.append(np.asarray(self.generate_one(prompt), dtype=np.float32))
        return out
