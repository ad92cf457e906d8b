"""Per-head classification metrics and confusion matrices (scikit-learn), and the binary EER (codecfake.cm).

Macro F1 is the figure to read under class imbalance (bona fide is a minority, and most codecs are MVQ/Trad):
accuracy and weighted F1 reward always answering the majority class. Each row therefore carries the macro F1 of
that constant answer (`majority_macro_f1`, majority taken on the evaluated trials, its best case) as the chance
level a head must beat. F1 is averaged over the classes present in the truth or the predictions, as sklearn does,
so predicting a class that never occurs costs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from codecfake.cm.metrics import eer_of_labels
from codecfake.tables import atomic_output, write_tsv_atomic
from codecfake.trace.tasks import IGNORE, classes


def head_metrics(true: np.ndarray, predicted: np.ndarray) -> dict:
    keep = true != IGNORE
    true, predicted = true[keep], predicted[keep]
    if true.size == 0:
        return {"n": 0, "accuracy": np.nan, "weighted_f1": np.nan, "macro_f1": np.nan, "majority_macro_f1": np.nan}
    majority = np.full_like(true, np.bincount(true).argmax())
    return {"n": int(true.size), "accuracy": float(accuracy_score(true, predicted)),
            "weighted_f1": float(f1_score(true, predicted, average="weighted", zero_division=0)),
            "macro_f1": float(f1_score(true, predicted, average="macro", zero_division=0)),
            "majority_macro_f1": float(f1_score(true, majority, average="macro", zero_division=0))}


def metrics_rows(tasks: list[str], codes: np.ndarray, probabilities: dict[str, np.ndarray],
                 score: np.ndarray) -> list[dict]:
    """One row per head on these trials; the binary EER (from `score`) on every row, as it is one per trial set."""
    is_bonafide = (codes[:, tasks.index("binary")] if "binary" in tasks else
                   (codes[:, 0] == 0).astype(int))
    eer = eer_of_labels(is_bonafide, score)
    return [{"head": task, "classes": len(classes(task)), **head_metrics(codes[:, j],
                                                                         probabilities[task].argmax(axis=1)),
             "eer": eer} for j, task in enumerate(tasks)]


def confusion_table(task: str, true: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Counts with rows = true class, columns = predicted class, over all of the head's classes."""
    names = list(classes(task))
    keep = true != IGNORE
    counts = confusion_matrix(true[keep], predicted[keep], labels=list(range(len(names))))
    frame = pd.DataFrame(counts, columns=names)
    frame.insert(0, "true", names)
    return frame


def plot_confusion(table: pd.DataFrame, title: str, path: str | Path) -> None:
    """Row-normalised heat map with the counts written in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = table.drop(columns="true").to_numpy()
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    names = list(table["true"])
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 1.1 * len(names) + 1.2))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=100, format=Path(path).suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)


def write_confusions(tasks: list[str], codes: np.ndarray, probabilities: dict[str, np.ndarray], title: str,
                     out_dir: str | Path) -> list[Path]:
    written = []
    for j, task in enumerate(tasks):
        table = confusion_table(task, codes[:, j], probabilities[task].argmax(axis=1))
        tsv, png = Path(out_dir) / f"confusion_{task}.tsv", Path(out_dir) / f"confusion_{task}.png"
        write_tsv_atomic(table, tsv)
        plot_confusion(table, f"{title}: {task}", png)
        written += [tsv, png]
    return written
