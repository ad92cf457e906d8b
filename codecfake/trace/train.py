"""Training a tracer: codecfake.cm's optimiser, schedule, sampler, crops and seeding, with the multi-task loss.

Model selection is on the dev set only (never an evaluation set): the epoch with the highest mean macro F1 over
the heads wins (ties: lower dev loss), since macro F1 is what the tracer is judged on. The training log holds the
losses, every head's dev macro F1 and current loss weight, and the dev EER of the bona fide score.
Class weights of every head, binary included, come from the spec's `trace.class_weights` (codecfake.trace.loss);
the CM preset's `train.class_weights` (a binary CM's fixed 0.9/0.1) is not used by tracers.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from codecfake.cm.scoring import amp_dtype, autocast, loader_workers
from codecfake.cm.train import ShuffledBatchSampler, _save_atomic, lr_factor, seed_everything
from codecfake.device import pick_device
from codecfake.errors import UserError
from codecfake.tables import write_tsv_atomic
from codecfake.trace.data import TraceDataset
from codecfake.trace.loss import MultiTaskLoss, class_weight_table
from codecfake.trace.metrics import metrics_rows
from codecfake.trace.model import Tracer, checkpoint_payload
from codecfake.trace.predict import bonafide_score, head_probabilities


@dataclass(frozen=True)
class TraceResult:
    best_epoch: int
    best_dev_macro_f1: float
    epochs_run: int


def trace_settings(spec: dict) -> dict:
    """The spec's `trace` section with its defaults (all four heads, fixed unit weights, balanced classes)."""
    return {"tasks": ["binary", "VQ", "AUX", "DEC"], "head_weights": {}, "learn_head_weights": False,
            "class_weights": "balanced", **(spec.get("trace") or {})}


def train_tracer(spec: dict, train_table: pd.DataFrame, dev_table: pd.DataFrame, out_dir: str | Path,
                 device: str = "auto", cache_dir: str | None = None, progress: bool = True) -> TraceResult:
    cfg, settings = spec["train"], trace_settings(spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed = int(spec.get("seed", 0))
    seed_everything(seed)
    torch_device = pick_device(device)
    dtype = amp_dtype(cfg["amp"], torch_device)
    model = Tracer(spec, settings["tasks"], cache_dir).to(torch_device)
    tasks = model.tasks
    crop = {"crop_samples": cfg["crop_samples"]}
    train_set = TraceDataset(train_table, tasks, "train set", train=True, rawboost=cfg["rawboost"], seed=seed,
                             crop=cfg["crop"], **crop)
    dev_set = TraceDataset(dev_table, tasks, "dev set", **crop)
    if len(dev_set) == 0:
        raise UserError("tracer dev set is empty")
    criterion = MultiTaskLoss(tasks, settings["head_weights"], settings["learn_head_weights"],
                              class_weight_table(tasks, settings["class_weights"], train_set.codes)).to(torch_device)
    sampler = ShuffledBatchSampler(len(train_set), cfg["batch_size"], seed)
    params = [p for p in model.parameters() if p.requires_grad] + list(criterion.parameters())
    optimizer = torch.optim.Adam(params, lr=cfg["lr"], betas=tuple(cfg["betas"]), weight_decay=cfg["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg["scheduler"], len(sampler),
                                                                      cfg["epochs"], cfg["lr"]))
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    workers = loader_workers(cfg["workers"], torch_device)
    history, best, best_state = [], (-math.inf, math.inf), None
    for epoch in range(cfg["epochs"]):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        model.train()
        train_set.set_epoch(epoch)
        sampler.set_epoch(epoch)
        loader = DataLoader(train_set, batch_sampler=sampler, num_workers=workers,
                            pin_memory=torch_device.type == "cuda")
        total, seen = 0.0, 0
        for wave, target in tqdm(loader, desc=f"epoch {epoch + 1}/{cfg['epochs']}", file=sys.stderr,
                                 disable=not progress, mininterval=10):
            wave, target = wave.to(torch_device), target.to(torch_device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(torch_device, dtype):
                logits = model(wave)
            loss, _ = criterion(logits, target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            total += float(loss.detach()) * target.size(0)
            seen += target.size(0)
        probabilities = head_probabilities(model, dev_set, cfg["batch_size"], torch_device, dtype, workers)
        with torch.no_grad():
            log_p = {t: torch.as_tensor(np.log(np.clip(p, 1e-12, None)), device=torch_device)
                     for t, p in probabilities.items()}
            dev_loss = float(criterion(log_p, torch.as_tensor(dev_set.codes, device=torch_device))[0])
        rows = metrics_rows(tasks, dev_set.codes, probabilities, bonafide_score(probabilities))
        dev_f1 = float(np.nanmean([r["macro_f1"] for r in rows]))
        key = (dev_f1 if np.isfinite(dev_f1) else -math.inf, dev_loss)
        improved = key[0] > best[0] or (key[0] == best[0] and key[1] < best[1])
        if improved:
            best = key
            best_state = checkpoint_payload(model, spec, epoch=epoch + 1, dev_macro_f1=dev_f1,
                                            loss=copy.deepcopy(criterion.state_dict()))
            best_state["model"] = copy.deepcopy(best_state["model"])
        seconds = time.perf_counter() - started
        weights = criterion.effective_weights()
        history.append({"epoch": epoch + 1, "lr": lr, "train_loss": round(total / max(seen, 1), 6),
                        "dev_loss": round(dev_loss, 6), "dev_eer": round(rows[0]["eer"], 6),
                        "dev_mean_macro_f1": round(dev_f1, 6),
                        **{f"dev_macro_f1_{r['head']}": round(r["macro_f1"], 6) for r in rows},
                        **{f"weight_{t}": round(w, 6) for t, w in weights.items()},
                        "best": improved, "seconds": round(seconds, 2),
                        "samples_per_second": round(seen / seconds, 2)})
        write_tsv_atomic(pd.DataFrame(history), out / "train_log.tsv")
        print(f"epoch {epoch + 1}/{cfg['epochs']}: train loss {total / max(seen, 1):.4f}, dev loss {dev_loss:.4f}, "
              f"dev mean macro F1 {dev_f1:.3f}{' (best)' if improved else ''}", file=sys.stderr)
    if best_state is None:
        raise UserError(f"{out}: no epoch was trained (train.epochs = {cfg['epochs']})")
    _save_atomic(best_state, out / "model.pt")
    return TraceResult(best_state["epoch"], best[0], len(history))
