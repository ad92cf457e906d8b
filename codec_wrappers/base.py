"""The interface every codec family implements.

A wrapper turns a batch of waveforms at the codec's native rate into their encode/decode resynthesis. The job
around it (codecfake.resynth) does everything else: reading, resampling, batching, trimming, writing.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Protocol

import torch

from codec_wrappers._checkpoints import build_or_load


class CodecSpec(Protocol):
    """What a wrapper reads from its registry entry (codecfake.registry.CodecEntry); this package imports nothing
    from codecfake: the pipeline depends on the wrappers, not the reverse."""

    protocol_name: str
    sample_rate: int
    settings: dict

    def architecture_params(self) -> dict: ...


class CodecWrapper(ABC):
    #: Top-level modules the family needs; `codecfake codecs` reports whether they import here.
    requires: tuple[str, ...] = ()
    #: True when right-padding a batch leaves each item's output prefix unchanged (causal encoder and decoder),
    #: so utterances of different lengths can share a batch without changing any output sample.
    causal: bool = False
    #: False where putting several utterances in one batch measured no gain on CPU (benchmarks/resynth_throughput.py
    #: --batch-items 1 vs 16): on CPU the job then gives the codec one utterance at a time; on an accelerator
    #: every codec batches.
    batching: bool = True
    #: Samples (at the native rate) by which the decoded audio lags its input; the job removes them.
    delay_samples: int = 0

    def __init__(self, entry: CodecSpec):
        self.entry = entry
        self.name = entry.protocol_name
        self.sample_rate = entry.sample_rate
        self.settings = dict(entry.settings)
        self.model: torch.nn.Module | None = None
        self.device = torch.device("cpu")
        self.weights_mode: str | None = None
        #: Wall seconds spent inside encode/decode so far (jobs report their overhead against it).
        self.codec_seconds = 0.0

    @property
    @abstractmethod
    def hop_length(self) -> int:
        """Samples per code frame at the native rate; shorter input cannot be encoded."""

    @abstractmethod
    def build(self, arch: dict) -> torch.nn.Module:
        """The model's architecture from its hyper-parameters (the entry's `architecture`), with untrained weights."""

    @abstractmethod
    def load_pretrained(self, arch: dict, files: dict[str, Path]) -> torch.nn.Module:
        """The released model from verified local checkpoint files, through the upstream package's loader."""

    def randomize(self, model: torch.nn.Module, seed: int) -> None:
        """Make random weights meaningful: families whose quantizers start empty fill them here."""

    @abstractmethod
    def codec(self, wav: torch.Tensor) -> torch.Tensor:
        """Encode then decode a [B, T] batch at the native rate; returns [B, T'] (T' may differ from T)."""

    def load(self, device: str = "cpu", files: dict[str, Path] | None = None, seed: int = 0):
        """The released model from `files` (checkpoints verified by codecfake.weights.ensure_all), or, with no
        files, the architecture with seeded random weights. Checkpoints are read through checkpoint_loads()."""
        model = build_or_load(self, self.entry.architecture_params(), files, seed)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.weights_mode = "random" if files is None else "pretrained"
        return self

    def resynthesize(self, wav: torch.Tensor) -> torch.Tensor:
        """Encode/decode a [B, T] float batch; returns [B, T'] float32 on the CPU."""
        if self.model is None:
            raise RuntimeError(f"{self.name}: call load() before resynthesize()")
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.codec(wav.to(self.device, torch.float32)).float().cpu()
        self.codec_seconds += time.perf_counter() - start
        return out
