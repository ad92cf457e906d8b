"""Training a tracer: codecfake.cm.train's loop (checkpoints, resume, AMP, workers, progress, CSAM) with the
multi-task loss and the tracing paper's model selection.

Model selection is on the dev set only (never an evaluation set), by `trace.select`: `loss` (the default; the first
best epoch the CodecFake-Source-Tracing code reports), `eer` (dev EER of the bona fide score, ties: loss) or
`macro_f1` (mean macro F1 over the heads, ties: loss). The training log holds the losses, every head's dev macro F1
and current loss weight, and the dev EER. Class weights of every head, binary included, come from
`trace.class_weights` (codecfake.trace.loss); the CM preset's `train.class_weights` is not used by tracers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from codecfake.cm.train import Trainer, TrainResult, dev_augmentation, train_augmentation
from codecfake.errors import UserError
from codecfake.trace.data import TraceDataset
from codecfake.trace.loss import MultiTaskLoss, class_weight_table
from codecfake.trace.metrics import metrics_rows
from codecfake.trace.model import Tracer, checkpoint_payload
from codecfake.trace.predict import bonafide_score, head_probabilities

SELECTIONS = ("loss", "eer", "macro_f1")


def trace_settings(spec: dict) -> dict:
    """The spec's `trace` section with its defaults: the tracing paper's (all four heads, head weights 1/K, its
    fixed class weights, selection on dev loss)."""
    settings = {"tasks": ["binary", "VQ", "AUX", "DEC"], "head_weights": {}, "learn_head_weights": False,
                "class_weights": "reference", "select": "loss", **(spec.get("trace") or {})}
    if settings["select"] not in SELECTIONS:
        raise UserError(f"trace.select must be one of {SELECTIONS}, got {settings['select']!r}")
    return settings


class TracerTrainer(Trainer):
    def build_model(self, cache_dir):
        self.settings = trace_settings(self.spec)
        return Tracer(self.spec, self.settings["tasks"], cache_dir)

    def build_datasets(self, train_table, dev_table):
        crop = self.cfg["crop_samples"]
        train_set = TraceDataset(train_table, self.model.tasks, "train set", crop_samples=crop,
                                 **train_augmentation(self.cfg, self.seed))
        dev_set = TraceDataset(dev_table, self.model.tasks, "dev set", crop_samples=crop,
                               **dev_augmentation(self.cfg, self.seed))
        if len(dev_set) == 0:
            raise UserError("tracer dev set is empty")
        return train_set, dev_set

    def build_criterion(self):
        tasks = self.model.tasks
        return MultiTaskLoss(tasks, self.settings["head_weights"], self.settings["learn_head_weights"],
                             class_weight_table(tasks, self.settings["class_weights"], self.train_set.codes))

    def loss(self, outputs, target):
        return self.criterion(outputs, target)[0]

    def evaluate(self):
        tasks = self.model.tasks
        probabilities = head_probabilities(self.model, self.dev_set, self.cfg["batch_size"], self.device, self.dtype,
                                           self.workers, self.progress, desc="dev")
        with torch.no_grad():
            log_p = {t: torch.as_tensor(np.log(np.clip(p, 1e-12, None)), device=self.device)
                     for t, p in probabilities.items()}
            loss = float(self.criterion(log_p, torch.as_tensor(self.dev_set.codes, device=self.device))[0])
        rows = metrics_rows(tasks, self.dev_set.codes, probabilities, bonafide_score(probabilities))
        f1 = float(np.nanmean([r["macro_f1"] for r in rows]))
        eer = float(rows[0]["eer"])
        metrics = {"dev_loss": loss, "dev_eer": eer, "dev_mean_macro_f1": f1,
                   **{f"dev_macro_f1_{r['head']}": float(r["macro_f1"]) for r in rows},
                   **{f"weight_{t}": w for t, w in self.criterion.effective_weights().items()}}
        key = {"loss": (loss,), "eer": (eer, loss), "macro_f1": (-f1, loss)}[self.settings["select"]]
        return metrics, key

    def best_payload(self, epoch):
        return checkpoint_payload(self.model, self.spec, epoch=epoch, dev_loss=self.history[-1]["dev_loss"],
                                  loss=self.criterion.state_dict())

    def describe(self, row):
        return (f"dev loss {row['dev_loss']:.4f}, dev EER {row['dev_eer']:.4f}, "
                f"dev mean macro F1 {row['dev_mean_macro_f1']:.3f}")


def train_tracer(spec: dict, train_table: pd.DataFrame, dev_table: pd.DataFrame, out_dir: str | Path,
                 device: str = "auto", cache_dir: str | None = None, progress: bool = True) -> TrainResult:
    return TracerTrainer(spec, train_table, dev_table, out_dir, device, cache_dir, progress).run()
