"""The one device choice of every step that runs a model (codecs, CMs, tracers, UTMOS).

`auto` takes CUDA when a CUDA device is visible, else the CPU; asking for CUDA where none is visible is an error
naming the setting, never a silent CPU run.
"""
from __future__ import annotations

import torch

from codecfake.errors import UserError


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device: {name} was asked for but no CUDA device is visible here")
    return torch.device(name)
