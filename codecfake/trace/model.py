"""The multi-task tracer: a CM trunk from codecfake.cm.models with its 2-way classifier replaced by one linear
head per task over the same readout, so every head shares the trunk's evidence and costs almost nothing extra.

Only AASIST back-ends (sinc AASIST and the SSL-AASISTs) are accepted: their readout is the embedding the heads
read. A tracer checkpoint stores the offline spec and the task list, so it rebuilds without config or hub.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.released import read_checkpoint
from codecfake.errors import UserError
from codecfake.trace.tasks import check_tasks, classes


class Tracer(nn.Module):
    def __init__(self, spec: dict, tasks: list[str], cache_dir: str | None = None):
        super().__init__()
        if spec["arch"]["backend"] != "aasist":
            raise UserError(f"tracer trunk must be an AASIST back-end (aasist, w2v2_aasist, wavlm_aasist); "
                            f"{spec['model']} has {spec['arch']['backend']}")
        self.tasks = check_tasks(tasks)
        self.trunk = build_model(spec, cache_dir)
        width = self.trunk.out_layer.in_features
        self.trunk.out_layer = nn.Identity()
        self.heads = nn.ModuleDict({task: nn.Linear(width, len(classes(task))) for task in self.tasks})

    @property
    def frontend(self) -> nn.Module:
        """The trunk's front-end (codecfake.cm.models.offline_spec looks for it)."""
        return self.trunk.frontend

    def forward(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        embedding = self.trunk(wave)
        return {task: head(embedding) for task, head in self.heads.items()}


def checkpoint_payload(model: Tracer, spec: dict, **extra) -> dict:
    return {"spec": offline_spec(model, spec), "tasks": model.tasks, "model": model.state_dict(), **extra}


def load_tracer(path: str | Path, device: torch.device) -> tuple[Tracer, dict]:
    """A trained tracer (model.pt of codecfake.trace.train) in eval mode, and its stored spec."""
    checkpoint = read_checkpoint(path)
    if not checkpoint.tasks:
        raise UserError(f"{path} is not a tracer checkpoint (no task heads); a binary CM is scored by cm-score")
    model = Tracer(checkpoint.spec, checkpoint.tasks)
    model.load_state_dict(checkpoint.state)
    return model.to(device).eval(), checkpoint.spec
