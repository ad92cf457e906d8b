"""Training one CM: weighted cross-entropy, Adam (or CSAM), model selection on the dev set, resumable.

Every epoch ends with a dev-set pass (EER, loss), a checkpoint holding everything needed to continue (model,
optimiser, scheduler, loss scaler, RNG states, history) and the training log. Rerunning after a crash continues
after the last complete epoch and ends with the same model as an uninterrupted run. Checkpoints carry a
fingerprint of the spec (epochs excepted, so training can be extended) and of the data; stale ones are ignored.
The best epoch by dev EER (ties: dev loss) becomes model.pt. Evaluation sets never enter here.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from codecfake.cm.csam import SAM, DomainBatchSampler, frozen_bn_stats
from codecfake.cm.data import CropDataset
from codecfake.cm.metrics import BONAFIDE_LABEL, SPOOF_LABEL, eer_of_labels
from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.scoring import (
    amp_dtype,
    autocast,
    bonafide_score,
    loader_workers,
    predict_logits,
)
from codecfake.cm.trials import label_codes
from codecfake.device import pick_device
from codecfake.errors import UserError
from codecfake.tables import atomic_output, write_tsv_atomic

LOG_COLUMNS = ["epoch", "lr", "train_loss", "dev_loss", "dev_eer", "best", "seconds", "samples_per_second"]
CHECKPOINT = "epoch_{:04d}.pt"


@dataclass(frozen=True)
class TrainResult:
    best_epoch: int
    best_dev_eer: float
    epochs_run: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class ShuffledBatchSampler(Sampler[list[int]]):
    """Seeded shuffled batches per epoch; a trailing batch of one is dropped (BatchNorm cannot train on it)."""

    def __init__(self, size: int, batch_size: int, seed: int = 0):
        self.size, self.batch_size, self.seed, self.epoch = size, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[np.ndarray]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        batches = [order[i:i + self.batch_size] for i in range(0, self.size, self.batch_size)]
        return [b for b in batches if b.size > 1 or self.size == 1]

    def __len__(self) -> int:
        return len(self._batches())

    def __iter__(self):
        return (batch.tolist() for batch in self._batches())


def lr_factor(schedule: dict, steps_per_epoch: int, epochs: int, base_lr: float):
    """Multiplier of the base learning rate at optimiser step `step` (for LambdaLR)."""
    name = schedule.get("name", "constant")
    if name == "constant":
        return lambda step: 1.0
    if name == "cosine":
        floor = schedule.get("min_lr", 0.0) / base_lr
        total = max(1, steps_per_epoch * epochs)
        return lambda step: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    if name == "step":
        every = max(1, int(schedule.get("every_epochs", 1)) * steps_per_epoch)
        return lambda step: schedule.get("gamma", 0.5) ** (step // every)
    raise UserError(f"train.scheduler: unknown name {name!r} (constant, cosine, step)")


def fingerprint(spec: dict, train_table: pd.DataFrame, dev_table: pd.DataFrame) -> str:
    """What a checkpoint must match to be resumed: the spec without `epochs`, and both trial lists."""
    comparable = json.loads(json.dumps(spec))
    comparable["train"].pop("epochs", None)
    digest = hashlib.sha256(json.dumps(comparable, sort_keys=True).encode())
    for table in (train_table, dev_table):
        digest.update("\n".join(table["utt_id"] + "\t" + table["label"]).encode())
    return digest.hexdigest()


def _save_atomic(obj, path: Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def _latest_checkpoint(folder: Path, expected: str) -> dict | None:
    """The newest checkpoint if it belongs to this spec and data; stale ones (and their best.pt) are removed."""
    paths = sorted(folder.glob("epoch_*.pt"))
    if not paths:
        return None
    checkpoint = torch.load(paths[-1], map_location="cpu", weights_only=False)
    if checkpoint.get("fingerprint") == expected:
        return checkpoint
    print(f"removing {len(paths)} checkpoint(s) in {folder}: they belong to another spec or data", file=sys.stderr)
    for path in [*paths, folder / "best.pt"]:
        path.unlink(missing_ok=True)
    return None


def _rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """One CM's training state; `run` trains the remaining epochs."""

    def __init__(self, spec: dict, train_table: pd.DataFrame, dev_table: pd.DataFrame, out_dir: str | Path,
                 device: str = "auto", cache_dir: str | None = None, progress: bool = True):
        self.spec, self.cfg = spec, spec["train"]
        self.out = Path(out_dir)
        self.checkpoints = self.out / "checkpoints"
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.progress = progress
        self.seed = int(spec.get("seed", 0))
        seed_everything(self.seed)
        self.device = pick_device(device)
        self.dtype = amp_dtype(self.cfg["amp"], self.device)
        if self.cfg["amp"] and self.dtype is None:
            print("amp: off (mixed precision needs CUDA; training in float32)", file=sys.stderr)
        self.model = build_model(spec, cache_dir).to(self.device)
        self.spec_offline = offline_spec(self.model, spec)
        for name, table in (("train", train_table), ("dev", dev_table)):
            present = set(table["label"])
            if present != {"bonafide", "spoof"}:
                raise UserError(f"{name} set needs bona fide and spoof trials, has only {sorted(present)}")
        self.fingerprint = fingerprint(spec, train_table, dev_table)
        crop = self.cfg["crop_samples"]
        self.train_set = CropDataset(train_table, crop, train=True, rawboost=self.cfg["rawboost"], seed=self.seed,
                                     crop=self.cfg["crop"])
        self.dev_set = CropDataset(dev_table, crop, train=False)
        self.dev_labels = label_codes(dev_table)
        batch = self.cfg["batch_size"]
        csam = self.cfg["csam"]
        if csam["enabled"]:
            column = csam["domain_column"]
            if column not in train_table.columns:
                raise UserError(f"train.csam.domain_column: no trial column {column!r}")
            try:
                self.sampler = DomainBatchSampler(train_table[column].to_numpy(), batch, self.seed)
            except ValueError as err:
                raise UserError(f"train.csam: {err}; add an external set (train_set.external) or pick a "
                                f"domain_column with several values") from err
            print(f"csam: rounds of {self.sampler.composition} by {column} cut into batches of {batch}, "
                  f"{len(self.sampler)} steps per epoch", file=sys.stderr)
        else:
            self.sampler = ShuffledBatchSampler(len(train_table), batch, self.seed)
        self.workers = loader_workers(self.cfg["workers"], self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=self.cfg["lr"], betas=tuple(self.cfg["betas"]),
                                          weight_decay=self.cfg["weight_decay"])
        self.sam = SAM(params, self.optimizer, csam["rho"]) if csam["enabled"] else None
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_factor(self.cfg["scheduler"], len(self.sampler), self.cfg["epochs"], self.cfg["lr"]))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        weights = torch.zeros(2)
        weights[SPOOF_LABEL] = self.cfg["class_weights"]["spoof"]
        weights[BONAFIDE_LABEL] = self.cfg["class_weights"]["bonafide"]
        self.criterion = torch.nn.CrossEntropyLoss(weight=weights.to(self.device))
        self.history: list[dict] = []
        self.best: tuple[float, float] = (math.inf, math.inf)
        self.start_epoch = 0
        self._resume()

    # -- state -------------------------------------------------------------------------------------------------
    def _resume(self) -> None:
        checkpoint = _latest_checkpoint(self.checkpoints, self.fingerprint)
        if checkpoint is None:
            return
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.scaler.load_state_dict(checkpoint["scaler"])
        self.history, self.best = checkpoint["history"], tuple(checkpoint["best"])
        self.start_epoch = checkpoint["epoch"] + 1
        _set_rng_state(checkpoint["rng"])
        print(f"resuming after epoch {self.start_epoch} of {self.cfg['epochs']}", file=sys.stderr)

    def _checkpoint(self, epoch: int, improved: bool) -> None:
        state = {"epoch": epoch, "fingerprint": self.fingerprint, "model": self.model.state_dict(),
                 "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "scaler": self.scaler.state_dict(), "history": self.history, "best": list(self.best),
                 "rng": _rng_state()}
        if improved:
            _save_atomic({"spec": self.spec_offline, "model": self.model.state_dict(), "epoch": epoch + 1,
                          "dev_eer": self.best[0], "fingerprint": self.fingerprint}, self.checkpoints / "best.pt")
        _save_atomic(state, self.checkpoints / CHECKPOINT.format(epoch + 1))
        for old in sorted(self.checkpoints.glob("epoch_*.pt"))[:-max(1, self.cfg["keep_checkpoints"])]:
            old.unlink()

    def _write_log(self) -> None:
        write_tsv_atomic(pd.DataFrame(self.history, columns=LOG_COLUMNS), self.out / "train_log.tsv")

    # -- steps ---------------------------------------------------------------------------------------------
    def _loss(self, wave: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        with autocast(self.device, self.dtype):
            logits = self.model(wave)
        return self.criterion(logits.float(), label)

    def _step(self, wave: torch.Tensor, label: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(wave, label)
        self.scaler.scale(loss).backward()
        if self.sam is not None:
            self.sam.ascend(grad_scale=self.scaler.get_scale() if self.scaler.is_enabled() else 1.0)
            self.optimizer.zero_grad(set_to_none=True)
            with frozen_bn_stats(self.model):
                self.scaler.scale(self._loss(wave, label)).backward()
            self.sam.descend_back()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())

    def _train_epoch(self, epoch: int) -> tuple[float, int]:
        self.model.train()
        self.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        loader = DataLoader(self.train_set, batch_sampler=self.sampler, num_workers=self.workers,
                            pin_memory=self.device.type == "cuda")
        total, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{self.cfg['epochs']}", file=sys.stderr,
                   disable=not self.progress, mininterval=10)
        for wave, label in bar:
            wave, label = wave.to(self.device, non_blocking=True), label.to(self.device, non_blocking=True)
            loss = self._step(wave, label)
            total += loss * label.numel()
            seen += label.numel()
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        return total / max(seen, 1), seen

    def _dev(self) -> tuple[float, float]:
        logits = predict_logits(self.model, self.dev_set, self.cfg["batch_size"], self.device, self.dtype,
                                self.workers, self.progress, desc="dev")
        labels = torch.as_tensor(self.dev_labels, device=self.device)
        loss = float(self.criterion(torch.as_tensor(logits, device=self.device), labels))
        return loss, eer_of_labels(self.dev_labels, bonafide_score(logits))

    def run(self) -> TrainResult:
        epochs = self.cfg["epochs"]
        for epoch in range(self.start_epoch, epochs):
            started = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            train_loss, seen = self._train_epoch(epoch)
            dev_loss, dev_eer = self._dev()
            key = (dev_eer if np.isfinite(dev_eer) else math.inf, dev_loss)
            improved = key < self.best
            if improved:
                self.best = key
            seconds = time.perf_counter() - started
            self.history.append({"epoch": epoch + 1, "lr": lr, "train_loss": round(train_loss, 6),
                                 "dev_loss": round(dev_loss, 6), "dev_eer": round(dev_eer, 6), "best": improved,
                                 "seconds": round(seconds, 2), "samples_per_second": round(seen / seconds, 2)})
            print(f"epoch {epoch + 1}/{epochs}: train loss {train_loss:.4f}, dev loss {dev_loss:.4f}, "
                  f"dev EER {dev_eer:.4f}{' (best)' if improved else ''}", file=sys.stderr)
            self._checkpoint(epoch, improved)
            self._write_log()
        self._write_log()
        return self._finish()

    def _finish(self) -> TrainResult:
        best_path = self.checkpoints / "best.pt"
        if not best_path.is_file():
            raise UserError(f"{self.out}: no epoch was trained (train.epochs = {self.cfg['epochs']})")
        best = torch.load(best_path, map_location="cpu", weights_only=False)
        if best["fingerprint"] != self.fingerprint:
            raise UserError(f"{best_path} belongs to another spec or data; delete {self.checkpoints} and rerun")
        _save_atomic(best, self.out / "model.pt")
        return TrainResult(best["epoch"], best["dev_eer"], len(self.history))


def train(spec: dict, train_table: pd.DataFrame, dev_table: pd.DataFrame, out_dir: str | Path, device: str = "auto",
          cache_dir: str | None = None, progress: bool = True) -> TrainResult:
    return Trainer(spec, train_table, dev_table, out_dir, device, cache_dir, progress).run()
