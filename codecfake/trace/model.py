"""The multi-task tracer, structured as CodecFake-Source-Tracing's W2V2_AASIST_Model: one shared AASIST trunk
(front-end, `LL`, `first_bn`, `encoder`, `first_bn1`, `attention`) and, per task, its own full AASIST graph branch
(codecfake.cm.models.aasist.AASISTGraph: GATs, pools, heterogeneous branches, readout, `out_layer`) named as the
reference names them: binary_branch, multiclass_branch_qs (VQ), multiclass_branch_as (AUX),
multiclass_branch_ds (DEC). Apart from the front-end (`frontend` here, the reference's `ssl_model`), parameter names
and shapes are the reference's.

Only AASIST back-ends (sinc AASIST and the SSL-AASISTs) are accepted. A tracer checkpoint stores the offline spec
and the task list (plain data and tensors: it loads with weights_only=True), so it rebuilds without config or hub.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.models.aasist import AASIST, AASISTGraph
from codecfake.errors import UserError
from codecfake.trace.tasks import check_tasks, classes

#: The reference's attribute name of each task's graph branch.
BRANCHES = {"binary": "binary_branch", "VQ": "multiclass_branch_qs", "AUX": "multiclass_branch_as",
            "DEC": "multiclass_branch_ds"}
#: The AASIST trunk modules the tracer shares across its branches (those the trunk has).
TRUNK = ("frontend", "LL", "first_bn", "encoder", "first_bn1", "attention")


class Tracer(nn.Module):
    def __init__(self, spec: dict, tasks: list[str], cache_dir: str | None = None):
        super().__init__()
        if spec["arch"]["backend"] != "aasist":
            raise UserError(f"tracer trunk must be an AASIST back-end (aasist, w2v2_aasist, wavlm_aasist); "
                            f"{spec['model']} has {spec['arch']['backend']}")
        self.tasks = check_tasks(tasks)
        trunk = build_model(spec, cache_dir)  # its own graph is dropped: each task gets one below
        self.pooling = trunk.pooling
        for name in TRUNK:
            if hasattr(trunk, name):
                setattr(self, name, getattr(trunk, name))
        arch = spec["arch"]
        spectral_nodes, channels = trunk.pos_S.shape[1:]
        for task in self.tasks:
            setattr(self, BRANCHES[task], AASISTGraph(channels, spectral_nodes, arch["gat_dims"], arch["pool_ratios"],
                                                      arch["temperatures"], len(classes(task))))

    def forward(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        spectral, temporal = AASIST.nodes(self, wave)  # the trunk's computation on the modules held here
        return {task: getattr(self, BRANCHES[task])(spectral, temporal)[1] for task in self.tasks}


def checkpoint_payload(model: Tracer, spec: dict, **extra) -> dict:
    return {"spec": offline_spec(model, spec), "tasks": model.tasks, "model": model.state_dict(), **extra}


def tracer_from(checkpoint) -> Tracer:
    """The tracer a codecfake.checkpoint.Checkpoint holds (its stored spec and tasks, its weights)."""
    model = Tracer(checkpoint.spec, checkpoint.tasks)
    model.load_state_dict(checkpoint.state)
    return model


def load_tracer(path: str | Path, device: torch.device) -> tuple[Tracer, dict]:
    """A trained tracer (model.pt of codecfake.trace.train) in eval mode, and its stored spec; read with
    codecfake.checkpoint (weights only: a pickle that would run code is refused, naming the file)."""
    from codecfake.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(path)
    if not checkpoint.tasks:
        raise UserError(f"{path} is not a tracer checkpoint (no task heads); a binary CM is scored by "
                        f"`codecfake detect` or cm-score")
    return tracer_from(checkpoint).to(device).eval(), checkpoint.spec
