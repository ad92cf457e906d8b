"""Figures of the quality report: Fig. 5-style per-codec bars, and example residual spectrograms (Fig. 8).

Bars are sorted best first, coloured by the codec's taxonomy class (QUA/AUX/DEC), with 95% CI whiskers; the
no-reference metrics draw the bona fide mean of the same split as a dashed line, the level a codec is compared to.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from codecfake.errors import UserError
from codecfake.registry import BONAFIDE
from codecfake.tables import atomic_output

RATE = 16000

#: Axis labels of the metric columns.
LABELS = {"pesq_wb": "PESQ (wideband)", "stoi": "STOI", "mel_distance": "log-mel distance (lower is better)",
          "si_sdr": "SI-SDR (dB)",
          "dnsmos_ovrl": "DNSMOS P.835 OVRL", "dnsmos_sig": "DNSMOS P.835 SIG", "dnsmos_bak": "DNSMOS P.835 BAK",
          "dnsmos_p808": "DNSMOS P.808", "utmos": "UTMOS (UTMOS22 strong)"}
LOWER_IS_BETTER = {"mel_distance"}
#: Metrics without a reference signal: bona fide has a score of its own to draw as the reference line.
NO_REFERENCE = {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808", "utmos"}


def _save(fig, out) -> None:
    try:
        with atomic_output(out) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)


def taxonomy_class(row) -> str:
    return f"{row['QUA']}/{row['AUX']}/{row['DEC']}"


def metric_bars(table: pd.DataFrame, metric: str, out) -> None:
    """One panel per split: codecs sorted best first, taxonomy colours, CI whiskers, bona fide line."""
    splits = list(dict.fromkeys(table["split"]))
    codecs = table[table["subset"] != BONAFIDE]
    classes = sorted({taxonomy_class(r) for _, r in codecs.iterrows()})
    colours = dict(zip(classes, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(1, len(splits), figsize=(max(5.0, 1.0 + 0.55 * codecs["subset"].nunique())
                                                       * len(splits), 4.2), squeeze=False)
    random_utmos = metric == "utmos" and table.get("utmos_weights", pd.Series(dtype=str)).astype(str) \
        .str.startswith("random").any()
    for ax, split in zip(axes[0], splits):
        rows = codecs[codecs["split"] == split].dropna(subset=[f"{metric}_mean"])
        rows = rows.sort_values(f"{metric}_mean", ascending=metric in LOWER_IS_BETTER)
        means = rows[f"{metric}_mean"].to_numpy(float)
        errors = np.vstack([means - rows[f"{metric}_ci95_low"].to_numpy(float),
                            rows[f"{metric}_ci95_high"].to_numpy(float) - means])
        ax.bar(range(len(rows)), means, yerr=np.nan_to_num(errors), capsize=3,
               color=[colours[taxonomy_class(r)] for _, r in rows.iterrows()], edgecolor="black", linewidth=0.5)
        ax.set_xticks(range(len(rows)), rows["subset"], rotation=60, ha="right", fontsize=8)
        bonafide = table[(table["split"] == split) & (table["subset"] == BONAFIDE)]
        if metric in NO_REFERENCE and len(bonafide) and np.isfinite(bonafide[f"{metric}_mean"].iloc[0]):
            ax.axhline(float(bonafide[f"{metric}_mean"].iloc[0]), color="black", linestyle="--", linewidth=1.2,
                       label="bona fide")
        ax.set_title(split)
        ax.set_ylabel(LABELS.get(metric, metric))
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in classes]
    labels = [f"{c} (QUA/AUX/DEC)" for c in classes]
    line = axes[0][0].get_legend_handles_labels()
    fig.legend(handles + line[0], labels + line[1], loc="upper center", ncol=min(4, len(labels) + 1),
               bbox_to_anchor=(0.5, 1.08), fontsize=8, frameon=False)
    title = f"{LABELS.get(metric, metric)} per codec (mean, 95% CI)"
    if random_utmos:
        title += "\nRANDOM UTMOS WEIGHTS: pipeline check only, NOT a quality score"
    fig.suptitle(title, y=1.16 if random_utmos else 1.12, color="red" if random_utmos else "black")
    _save(fig, out)


def residual_examples(residuals: dict[str, np.ndarray], utterance: str | None, clip_db: float, hop: int,
                      out) -> None:
    """Residual spectrograms of one utterance through each codec, on one colour scale (+-clip_db)."""
    count = max(1, len(residuals))
    columns = min(3, count)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False, sharex=True,
                             sharey=True, layout="constrained")
    image = None
    for ax, (codec, residual) in zip(axes.ravel(), residuals.items()):
        extent = (0, residual.shape[1] * hop / RATE, 0, RATE / 2000)
        image = ax.imshow(residual, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-clip_db, vmax=clip_db,
                          extent=extent)
        ax.set_title(codec, fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel("frequency (kHz)")
    for ax in axes.ravel()[len(residuals):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, label="resynthesis - bona fide (dB)", shrink=0.8)
    fig.suptitle(f"Residual spectrograms of {utterance or 'no utterance'}")
    _save(fig, out)


def write_metric_figures(metrics_table, metrics: list[str], out_dir) -> None:
    table = pd.read_csv(metrics_table, sep="\t", keep_default_na=False, na_values=[""])  # AUX class "None"
    for metric in metrics:
        if f"{metric}_mean" not in table:
            raise UserError(f"{metrics_table} has no {metric}_mean column; scored metrics: "
                             f"{[c[:-5] for c in table.columns if c.endswith('_mean')]}")
        metric_bars(table, metric, Path(out_dir) / f"{metric}.png")
