"""The tracing tasks (heads), their classes and the label codes of a trial table.

Classes are the protocol spellings of codecfake/resources/protocol_labels.yaml (the registry's taxonomy as written in
the manifests' VQ/AUX/DEC columns), with the bona fide class REAL first; labels are read from those columns of a
trial table (codecfake.cm.trials, where VQ is called QUA), never from file names. Variants of the model are subsets
of TASK_NAMES: one task, binary + one attribute, all four, or the three attributes alone (taxonomy-only).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from codecfake import registry
from codecfake.errors import UserError

TASK_NAMES = ("binary", "VQ", "AUX", "DEC")
#: Trial-table column of each task.
COLUMNS = {"binary": "label", "VQ": "QUA", "AUX": "AUX", "DEC": "DEC"}
#: Value of a taxonomy column when a set does not know it (e.g. ASVspoof attacks): that head skips the trial.
UNKNOWN = "-"
IGNORE = -100


@lru_cache(maxsize=None)
def classes(task: str) -> tuple[str, ...]:
    """Class names of a head in logit order; binary keeps codecfake.cm's order (index 1 = bona fide)."""
    if task == "binary":
        return ("spoof", "bonafide")
    labels = registry.protocol_labels()
    attribute = {"VQ": "QUA", "AUX": "AUX", "DEC": "DEC"}.get(task)
    if attribute is None:
        raise UserError(f"unknown tracing task {task!r}; known: {', '.join(TASK_NAMES)}")
    return (labels["bonafide"], *labels[attribute].values())


def check_tasks(tasks) -> list[str]:
    tasks = list(tasks)
    if not tasks:
        raise UserError("a tracer needs at least one task")
    unknown = [t for t in tasks if t not in TASK_NAMES]
    if unknown or len(set(tasks)) != len(tasks):
        raise UserError(f"tasks must be distinct names of {', '.join(TASK_NAMES)}; got {tasks}")
    return [t for t in TASK_NAMES if t in tasks]


def encode(table: pd.DataFrame, tasks: list[str], what: str = "trials") -> np.ndarray:
    """(N, len(tasks)) int64 class indices; IGNORE where a taxonomy column is UNKNOWN.

    Bona fide rows must be REAL in every taxonomy column and spoof rows must not be: a manifest that says
    otherwise is wrong, and training on it would teach the heads to contradict each other.
    """
    codes = np.empty((len(table), len(tasks)), dtype=np.int64)
    is_bonafide = table["label"].to_numpy() == "bonafide"
    for j, task in enumerate(tasks):
        names = classes(task)
        index = {name: i for i, name in enumerate(names)}
        values = table[COLUMNS[task]].astype(str).to_numpy()
        bad = sorted({v for v in values if v not in index and v != UNKNOWN})
        if bad:
            raise UserError(f"{what}: column {COLUMNS[task]} has value(s) {bad} outside the {task} classes "
                            f"{list(names)}")
        codes[:, j] = [index.get(v, IGNORE) for v in values]
        if task != "binary":
            real = values == names[0]
            known = values != UNKNOWN
            wrong = (known & (real != is_bonafide)).nonzero()[0]
            if wrong.size:
                row = table.iloc[int(wrong[0])]
                raise UserError(f"{what}: {row['utt_id']} is {row['label']} but its {COLUMNS[task]} is "
                                f"{values[wrong[0]]!r} (REAL is for bona fide only)")
    return codes
