"""The one training loop of CMs and tracers: Adam (or CSAM), AMP and loader workers on CUDA, a progress bar, a dev
pass, a resumable checkpoint and the training log every epoch, model selection on the dev set.

Every epoch ends with a dev-set pass, a checkpoint holding everything needed to continue (model, loss module,
optimiser, scheduler, loss scaler, RNG states, history) and the training log. Checkpoints hold tensors and plain
Python data only (RNG states as tensors and tuples, the history as floats), so they are read back with
weights_only=True (codecfake.checkpoint.torch_load): a pickle left in checkpoints/ is refused, naming the file, and
never runs. Rerunning after a crash continues
after the last complete epoch and ends with the same model as an uninterrupted run. Checkpoints carry a
fingerprint of the spec (epochs excepted, so training can be extended) and of the data; stale ones are ignored.
`Trainer` is the loop; `CMTrainer` (here) and codecfake.trace.train's `TracerTrainer` fill in the model, data,
loss and dev metrics. A CM's best epoch by dev EER (ties: dev loss), or by dev loss (train.select), becomes
model.pt. Evaluation sets never enter.
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

from codecfake.checkpoint import torch_load
from codecfake.cm.csam import SAM, DomainBatchSampler, frozen_bn_stats
from codecfake.cm.data import CropDataset
from codecfake.cm.metrics import BONAFIDE_LABEL, SPOOF_LABEL, eer_of_labels
from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.rawboost import RawBoostParams
from codecfake.cm.scoring import (
    amp_dtype,
    autocast,
    cm_scores,
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
    epochs_run: int
    best: dict  # the best epoch's dev metrics (the dev_* columns of its training-log row)

    @property
    def best_dev_eer(self) -> float:
        return self.best["dev_eer"]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class ShuffledBatchSampler(Sampler[list[int]]):
    """Seeded shuffled batches per epoch. The trailing partial batch is dropped, as the references' loaders do
    (drop_last=True in clovaai/aasist, SSL_Anti-spoofing and CodecFake-Source-Tracing), unless the set is smaller
    than one batch: then the whole set is the one batch."""

    def __init__(self, size: int, batch_size: int, seed: int = 0):
        self.size, self.batch_size, self.seed, self.epoch = size, batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[np.ndarray]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        batches = [order[i:i + self.batch_size] for i in range(0, self.size - self.batch_size + 1, self.batch_size)]
        return batches or [order]

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


def _plain(value):
    """A numpy scalar as Python's own number (checkpoints hold plain data only)."""
    return value.item() if isinstance(value, np.generic) else value


def _save_atomic(obj, path: Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def _latest_checkpoint(folder: Path, expected: str) -> dict | None:
    """The newest checkpoint if it belongs to this spec and data; stale ones (and their best.pt) are removed."""
    paths = sorted(folder.glob("epoch_*.pt"))
    if not paths:
        return None
    try:
        checkpoint = torch_load(paths[-1], "training checkpoint")
    except UserError as err:  # planted, or written by a codecfake that still pickled numpy RNG states
        raise UserError(f"{err}; nothing in it was run. If it is your own older checkpoint, delete {folder} to "
                        f"train from the start") from err
    if isinstance(checkpoint, dict) and checkpoint.get("fingerprint") == expected:
        return checkpoint
    print(f"removing {len(paths)} checkpoint(s) in {folder}: they belong to another spec or data", file=sys.stderr)
    for path in [*paths, folder / "best.pt"]:
        path.unlink(missing_ok=True)
    return None


def _rng_state() -> dict:
    """Every RNG's state as tensors and tuples of numbers (what weights_only=True reads back)."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(gauss))}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def train_augmentation(cfg: dict, seed: int) -> dict:
    """CropDataset arguments of the training set: RawBoost (`train.rawboost_exact_delay` removes the reference
    filters' one-sample lead), then the `train.crop` crop."""
    return {"train": True, "rawboost": cfg["rawboost"], "seed": seed, "crop": cfg["crop"],
            "rawboost_params": RawBoostParams(exact_delay=cfg["rawboost_exact_delay"])}


def dev_augmentation(cfg: dict, seed: int) -> dict:
    """CropDataset arguments of the dev set. With `train.dev_rawboost` the dev set gets the training set's RawBoost
    (fresh each epoch) and its first crop, as SSL_Anti-spoofing and CodecFake-Source-Tracing build their dev sets
    with the training dataset class; off, the dev set is the first crop unaugmented (the fix: a stable dev set)."""
    if cfg["dev_rawboost"] and cfg["rawboost"]:
        return {**train_augmentation(cfg, seed + 1), "crop": "first"}
    return {"train": False}


class Trainer:
    """The loop; subclasses build the model, datasets and loss module and evaluate the dev set (hooks below)."""

    #: column order of train_log.tsv (None: the rows' own order)
    log_columns: list[str] | None = None

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
        self.model = self.build_model(cache_dir).to(self.device)
        self.spec_offline = offline_spec(self.model, spec)
        self.fingerprint = fingerprint(spec, train_table, dev_table)
        self.train_set, self.dev_set = self.build_datasets(train_table, dev_table)
        self.criterion = self.build_criterion().to(self.device)
        self.sampler = self._sampler(train_table)
        self.workers = loader_workers(self.cfg["workers"], self.device)
        params = [p for p in [*self.model.parameters(), *self.criterion.parameters()] if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=self.cfg["lr"], betas=tuple(self.cfg["betas"]),
                                          weight_decay=self.cfg["weight_decay"])
        self.sam = SAM(params, self.optimizer, self.cfg["csam"]["rho"]) if self.cfg["csam"]["enabled"] else None
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_factor(self.cfg["scheduler"], len(self.sampler), self.cfg["epochs"], self.cfg["lr"]))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.dtype == torch.float16)
        self.history: list[dict] = []
        self.best: tuple[float, ...] = ()  # selection key of the best epoch so far
        self.start_epoch = 0
        self._resume()

    # -- hooks -------------------------------------------------------------------------------------------------
    def build_model(self, cache_dir: str | None) -> torch.nn.Module:
        raise NotImplementedError

    def build_datasets(self, train_table: pd.DataFrame, dev_table: pd.DataFrame):
        """(train set, dev set) yielding (waveform, target)."""
        raise NotImplementedError

    def build_criterion(self) -> torch.nn.Module:
        """The loss module (its parameters, if any, train with the model)."""
        raise NotImplementedError

    def loss(self, outputs, target: torch.Tensor) -> torch.Tensor:
        return self.criterion(outputs, target)

    def evaluate(self) -> tuple[dict, tuple[float, ...]]:
        """Dev metrics for the log (dev_loss among them) and the selection key (lower is better)."""
        raise NotImplementedError

    def best_payload(self, epoch: int) -> dict:
        """What model.pt holds (besides `fingerprint`, added here)."""
        raise NotImplementedError

    def describe(self, row: dict) -> str:
        return f"dev loss {row['dev_loss']:.4f}"

    # -- set-up --------------------------------------------------------------------------------------------
    def _sampler(self, train_table: pd.DataFrame) -> Sampler:
        batch, csam = self.cfg["batch_size"], self.cfg["csam"]
        if not csam["enabled"]:
            return ShuffledBatchSampler(len(train_table), batch, self.seed)
        column = csam["domain_column"]
        if column not in train_table.columns:
            raise UserError(f"train.csam.domain_column: no trial column {column!r}")
        try:
            sampler = DomainBatchSampler(train_table[column].to_numpy(), batch, self.seed)
        except ValueError as err:
            raise UserError(f"train.csam: {err}; add an external set (train_set.external) or pick a "
                            f"domain_column with several values") from err
        print(f"csam: rounds of {sampler.composition} by {column} cut into batches of {batch}, "
              f"{len(sampler)} steps per epoch", file=sys.stderr)
        return sampler

    # -- state -------------------------------------------------------------------------------------------------
    def _resume(self) -> None:
        checkpoint = _latest_checkpoint(self.checkpoints, self.fingerprint)
        if checkpoint is None:
            return
        self.model.load_state_dict(checkpoint["model"])
        self.criterion.load_state_dict(checkpoint["criterion"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.scaler.load_state_dict(checkpoint["scaler"])
        self.history, self.best = checkpoint["history"], tuple(checkpoint["best"])
        self.start_epoch = checkpoint["epoch"] + 1
        _set_rng_state(checkpoint["rng"])
        print(f"resuming after epoch {self.start_epoch} of {self.cfg['epochs']}", file=sys.stderr)

    def _checkpoint(self, epoch: int, improved: bool) -> None:
        state = {"epoch": epoch, "fingerprint": self.fingerprint, "model": self.model.state_dict(),
                 "criterion": self.criterion.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                 "history": self.history, "best": list(self.best), "rng": _rng_state()}
        if improved:
            _save_atomic({**self.best_payload(epoch + 1), "fingerprint": self.fingerprint},
                         self.checkpoints / "best.pt")
        _save_atomic(state, self.checkpoints / CHECKPOINT.format(epoch + 1))
        for old in sorted(self.checkpoints.glob("epoch_*.pt"))[:-max(1, self.cfg["keep_checkpoints"])]:
            old.unlink()

    def _write_log(self) -> None:
        write_tsv_atomic(pd.DataFrame(self.history, columns=self.log_columns), self.out / "train_log.tsv")

    # -- steps ---------------------------------------------------------------------------------------------
    def _loss(self, wave: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with autocast(self.device, self.dtype):
            outputs = self.model(wave)
        return self.loss(outputs, target)

    def _step(self, wave: torch.Tensor, target: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(wave, target)
        self.scaler.scale(loss).backward()
        if self.sam is not None:
            self.sam.ascend(grad_scale=self.scaler.get_scale() if self.scaler.is_enabled() else 1.0)
            self.optimizer.zero_grad(set_to_none=True)
            with frozen_bn_stats(self.model):
                self.scaler.scale(self._loss(wave, target)).backward()
            self.sam.descend_back()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return float(loss.detach())

    def _train_epoch(self, epoch: int) -> tuple[float, int]:
        self.model.train()
        self.criterion.train()
        self.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        loader = DataLoader(self.train_set, batch_sampler=self.sampler, num_workers=self.workers,
                            pin_memory=self.device.type == "cuda")
        total, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{self.cfg['epochs']}", file=sys.stderr,
                   disable=not self.progress, mininterval=10)
        for wave, target in bar:
            wave, target = wave.to(self.device, non_blocking=True), target.to(self.device, non_blocking=True)
            loss = self._step(wave, target)
            total += loss * target.size(0)
            seen += target.size(0)
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        return total / max(seen, 1), seen

    def run(self) -> TrainResult:
        epochs = self.cfg["epochs"]
        for epoch in range(self.start_epoch, epochs):
            started = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            train_loss, seen = self._train_epoch(epoch)
            self.dev_set.set_epoch(epoch)
            self.model.eval()
            self.criterion.eval()
            metrics, key = self.evaluate()
            key = tuple(float(k) if np.isfinite(k) else math.inf for k in key)
            improved = not self.best or key < self.best
            if improved:
                self.best = key
            seconds = time.perf_counter() - started
            row = {"epoch": epoch + 1, "lr": lr, "train_loss": round(train_loss, 6),
                   **{name: round(float(value), 6) if isinstance(value, float) else _plain(value)
                      for name, value in metrics.items()},
                   "best": improved, "seconds": round(seconds, 2), "samples_per_second": round(seen / seconds, 2)}
            self.history.append(row)
            print(f"epoch {epoch + 1}/{epochs}: train loss {train_loss:.4f}, {self.describe(row)}"
                  f"{' (best)' if improved else ''}", file=sys.stderr)
            self._checkpoint(epoch, improved)
            self._write_log()
        self._write_log()
        return self._finish()

    def _finish(self) -> TrainResult:
        best_path = self.checkpoints / "best.pt"
        if not best_path.is_file():
            raise UserError(f"{self.out}: no epoch was trained (train.epochs = {self.cfg['epochs']})")
        best = torch_load(best_path, "best-model checkpoint")
        if not isinstance(best, dict) or best.get("fingerprint") != self.fingerprint:
            raise UserError(f"{best_path} belongs to another spec or data; delete {self.checkpoints} and rerun")
        _save_atomic(best, self.out / "model.pt")
        row = self.history[best["epoch"] - 1]
        return TrainResult(best["epoch"], len(self.history), {k: v for k, v in row.items() if k.startswith("dev_")})


class CMTrainer(Trainer):
    """A binary CM: weighted cross-entropy; selection on the dev EER of its score, then dev loss (train.select eer,
    the default), or on dev loss, then EER (loss: Codecfake's main_train.py keeps the lowest dev loss)."""

    log_columns = LOG_COLUMNS

    def build_model(self, cache_dir):
        return build_model(self.spec, cache_dir)

    def build_datasets(self, train_table, dev_table):
        for name, table in (("train", train_table), ("dev", dev_table)):
            present = set(table["label"])
            if present != {"bonafide", "spoof"}:
                raise UserError(f"{name} set needs bona fide and spoof trials, has only {sorted(present)}")
        crop = self.cfg["crop_samples"]
        self.dev_labels = label_codes(dev_table)
        return (CropDataset(train_table, crop, **train_augmentation(self.cfg, self.seed)),
                CropDataset(dev_table, crop, **dev_augmentation(self.cfg, self.seed)))

    def build_criterion(self):
        weights = torch.zeros(2)
        weights[SPOOF_LABEL] = self.cfg["class_weights"]["spoof"]
        weights[BONAFIDE_LABEL] = self.cfg["class_weights"]["bonafide"]
        return torch.nn.CrossEntropyLoss(weight=weights)

    def loss(self, outputs, target):
        return self.criterion(outputs.float(), target)

    def evaluate(self):
        logits = predict_logits(self.model, self.dev_set, self.cfg["batch_size"], self.device, self.dtype,
                                self.workers, self.progress, desc="dev")
        labels = torch.as_tensor(self.dev_labels, device=self.device)
        with torch.no_grad():
            loss = float(self.criterion(torch.as_tensor(logits, device=self.device), labels))
        eer = eer_of_labels(self.dev_labels, cm_scores(logits, self.cfg.get("score", "logit")))
        return {"dev_loss": loss, "dev_eer": eer}, (loss, eer) if self.cfg.get("select") == "loss" else (eer, loss)

    def best_payload(self, epoch):
        return {"spec": self.spec_offline, "model": self.model.state_dict(), "epoch": epoch,
                "dev_eer": self.history[-1]["dev_eer"]}

    def describe(self, row):
        return f"dev loss {row['dev_loss']:.4f}, dev EER {row['dev_eer']:.4f}"


def train(spec: dict, train_table: pd.DataFrame, dev_table: pd.DataFrame, out_dir: str | Path, device: str = "auto",
          cache_dir: str | None = None, progress: bool = True) -> TrainResult:
    return CMTrainer(spec, train_table, dev_table, out_dir, device, cache_dir, progress).run()
