"""Evaluating a tracer on one labelled set: predictions, per-head metrics by subset, confusion matrices.

Subsets (the `subset` column of metrics.tsv): `pooled` (every trial); with held-out codecs, `held_in` (bona fide
+ spoofs of codecs seen in training) and `held_out` (bona fide + spoofs of the held-out codecs: how well the
taxonomy generalises to unseen codecs); and `system=<name>` per attack system (its spoofs + the bona fide trials
shared by all systems or belonging to it, so CoSG systems keep their own prompts).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from codecfake.cm.data import CROP_SAMPLES
from codecfake.cm.scoring import amp_dtype, loader_workers
from codecfake.cm.trials import SHARED_BONAFIDE
from codecfake.device import pick_device
from codecfake.errors import UserError
from codecfake.tables import write_tsv_atomic
from codecfake.trace.data import TraceDataset
from codecfake.trace.metrics import metrics_rows, write_confusions
from codecfake.trace.model import load_tracer
from codecfake.trace.predict import bonafide_score, head_probabilities
from codecfake.trace.tasks import classes

HELD_IN, HELD_OUT, POOLED = "held_in", "held_out", "pooled"


def subsets(trials: pd.DataFrame, held_out: list[str]) -> dict[str, np.ndarray]:
    """Boolean masks of the evaluated subsets, in the order of the metrics table."""
    bonafide = (trials["label"] == "bonafide").to_numpy()
    system = trials["system"].to_numpy()
    masks = {POOLED: np.ones(len(trials), dtype=bool)}
    if held_out:
        unseen = np.isin(system, held_out) & ~bonafide
        masks[HELD_IN] = ~unseen
        masks[HELD_OUT] = unseen | bonafide
    for name in sorted(set(system[~bonafide])):
        masks[f"system={name}"] = (system == name) | (bonafide & (system == SHARED_BONAFIDE))
    return masks


def predictions_table(trials: pd.DataFrame, tasks: list[str], probabilities: dict[str, np.ndarray],
                      score: np.ndarray) -> pd.DataFrame:
    """The trials with the bona fide score, each head's predicted class and every class probability."""
    columns = {"score": score}
    for task in tasks:
        names = classes(task)
        columns[f"pred_{task}"] = [names[i] for i in probabilities[task].argmax(axis=1)]
        columns.update({f"p_{task}_{name}": probabilities[task][:, i] for i, name in enumerate(names)})
    return pd.concat([trials.reset_index(drop=True), pd.DataFrame(columns)], axis=1)


def evaluate(model_path: str | Path, trials: pd.DataFrame, tracer: str, eval_set: str, out_dir: str | Path,
             held_out: list[str] = (), device: str = "auto", batch_size: int | None = None,
             progress: bool = True) -> pd.DataFrame:
    """Write predictions.tsv, metrics.tsv and confusion_<head>.tsv/.png (pooled, and held_out/ when codecs
    are held out) under out_dir; return the metrics table."""
    held_out = list(held_out)
    missing = [c for c in held_out if c not in set(trials["system"])]
    if missing:
        raise UserError(f"{eval_set}: held-out codec(s) {', '.join(missing)} have no trials in this set")
    torch_device = pick_device(device)
    model, spec = load_tracer(model_path, torch_device)
    train = spec["train"]
    dataset = TraceDataset(trials, model.tasks, eval_set, crop_samples=train.get("crop_samples", CROP_SAMPLES))
    probabilities = head_probabilities(model, dataset, batch_size or train["batch_size"], torch_device,
                                       amp_dtype(train.get("amp", False), torch_device),
                                       loader_workers(train.get("workers", 0), torch_device), progress)
    score = bonafide_score(probabilities)
    out = Path(out_dir)
    write_tsv_atomic(predictions_table(trials, model.tasks, probabilities, score), out / "predictions.tsv")
    rows = []
    for subset, mask in subsets(trials, held_out).items():
        part = {t: p[mask] for t, p in probabilities.items()}
        rows += [{"tracer": tracer, "eval_set": eval_set, "subset": subset, **row}
                 for row in metrics_rows(model.tasks, dataset.codes[mask], part, score[mask])]
        if subset in (POOLED, HELD_OUT):
            folder = out if subset == POOLED else out / HELD_OUT
            write_confusions(model.tasks, dataset.codes[mask], part, f"{tracer} on {eval_set} ({subset})", folder)
    metrics = pd.DataFrame(rows)
    write_tsv_atomic(metrics, out / "metrics.tsv")
    return metrics
