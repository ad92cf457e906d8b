"""Residual-spectrogram artifact analysis (paper Table VIII / Fig. 8).

residual = 20 log10|STFT(resynthesis)| - 20 log10|STFT(bona fide)| on the sample-aligned pair: what a codec adds
or removes, per time-frequency bin. Two codecs with similar artifacts leave similar residuals on the same
utterance, measured by SSIM (structure) and Pearson correlation (linear agreement) of the two residuals.

Pairs are grouped by the registry's taxonomy (never by names), each pair in exactly one group:
  intra_family                  same family, same QUA/AUX/DEC (e.g. two EnCodec bitrates)
  inter_family_same_taxonomy    different families, same QUA/AUX/DEC
  quantization / auxiliary / decoder
                                the two codecs differ in exactly that one taxonomy axis
Pairs that differ in two or more axes say nothing about one axis and are left out.
"""
from __future__ import annotations

import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from codecfake import registry
from codecfake.audio import read_mono
from codecfake.registry import BONAFIDE, TAXONOMY_FIELDS
from codecfake.tables import read_tsv, write_tsv_atomic

GROUPS = {
    "intra_family": "same family and taxonomy: consistency of a family's configurations",
    "inter_family_same_taxonomy": "different families, same QUA/AUX/DEC",
    "quantization": "differ only in the quantizer (QUA)",
    "auxiliary": "differ only in the auxiliary objective (AUX)",
    "decoder": "differ only in the decoder domain (DEC)",
}
_AXIS_GROUP = {"QUA": "quantization", "AUX": "auxiliary", "DEC": "decoder"}
#: Magnitude floor of the spectra (-100 dB) so silent bins give a finite residual.
FLOOR = 1e-5


def pair_group(a: registry.CodecEntry, b: registry.CodecEntry) -> str | None:
    differs = [axis for axis in TAXONOMY_FIELDS if getattr(a, axis) != getattr(b, axis)]
    if not differs:
        return "intra_family" if a.family == b.family else "inter_family_same_taxonomy"
    if len(differs) == 1:
        return _AXIS_GROUP[differs[0]]
    return None


def choose_pairs(codecs: list[str]) -> pd.DataFrame:
    """Every pair of the run's codecs that falls in a group, with the taxonomy that placed it there."""
    rows = []
    for name_a, name_b in combinations(codecs, 2):
        a, b = registry.get(name_a), registry.get(name_b)
        group = pair_group(a, b)
        if group is None:
            continue
        rows.append({"group": group, "codec_a": name_a, "codec_b": name_b, "family_a": a.family,
                     "family_b": b.family, "taxonomy_a": "/".join(getattr(a, f) for f in TAXONOMY_FIELDS),
                     "taxonomy_b": "/".join(getattr(b, f) for f in TAXONOMY_FIELDS)})
    frame = pd.DataFrame(rows, columns=["group", "codec_a", "codec_b", "family_a", "family_b", "taxonomy_a",
                                        "taxonomy_b"])
    order = {name: rank for rank, name in enumerate(GROUPS)}
    return frame.sort_values("group", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def residual_db(resynthesis: np.ndarray, bonafide: np.ndarray, n_fft: int, hop: int, clip_db: float) -> np.ndarray:
    """[freq, frames] residual in dB, clipped to +-clip_db so SSIM gets a fixed, explicit data range."""
    import librosa

    def level(x):
        spectrum = np.abs(librosa.stft(np.asarray(x, np.float32), n_fft=n_fft, hop_length=hop))
        return 20 * np.log10(np.maximum(spectrum, FLOOR))

    return np.clip(level(resynthesis) - level(bonafide), -clip_db, clip_db)


def similarity(a: np.ndarray, b: np.ndarray, clip_db: float) -> tuple[float, float]:
    """(SSIM, Pearson r) of two residuals; r is NaN where either residual is constant."""
    from skimage.metrics import structural_similarity

    ssim = structural_similarity(a, b, data_range=2 * clip_db, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False)
    x, y = a.ravel() - a.mean(), b.ravel() - b.mean()
    norm = np.sqrt(np.dot(x, x) * np.dot(y, y))
    return float(ssim), float(np.dot(x, y) / norm) if norm > 0 else float("nan")


def choose_utterances(manifest: pd.DataFrame, codecs: list[str], count: int, seed: int) -> list[str]:
    """Up to `count` source utterances that every codec resynthesized, drawn with a fixed seed."""
    have = manifest.groupby("source_utt")["subset"].agg(set)
    needed = {BONAFIDE, *codecs}
    complete = sorted(utt for utt, subsets in have.items() if needed <= subsets)
    if len(complete) > count:
        rng = np.random.default_rng(seed)
        complete = sorted(rng.choice(complete, size=count, replace=False).tolist())
    return complete


def analyse(manifest_path, results_dir, codecs: list[str], count: int = 100, n_fft: int = 512, hop: int = 128,
            clip_db: float = 40.0, seed: int = 0):
    """Returns (group table, pair table, {codec: residual} of the first utterance, that utterance)."""
    results_dir = Path(results_dir)
    manifest = read_tsv(manifest_path)
    pairs = choose_pairs(codecs)
    used = sorted(set(pairs["codec_a"]) | set(pairs["codec_b"]), key=codecs.index)
    utterances = choose_utterances(manifest, used or codecs, count, seed)
    paths = {(r.source_utt, r.subset): r.path for r in manifest.itertuples()}
    values = {(p.codec_a, p.codec_b): [] for p in pairs.itertuples()}
    examples: dict[str, np.ndarray] = {}
    for utt in tqdm(utterances, desc="residuals", unit="utt", file=sys.stderr, mininterval=10):
        bonafide = read_mono(results_dir / paths[utt, BONAFIDE])[0]
        residuals = {codec: residual_db(read_mono(results_dir / paths[utt, codec])[0], bonafide, n_fft, hop,
                                        clip_db) for codec in (used or codecs)}
        if not examples:
            examples = residuals
        for key in values:
            values[key].append(similarity(residuals[key[0]], residuals[key[1]], clip_db))
    pair_rows = []
    for pair in pairs.to_dict("records"):
        scores = np.array(values[pair["codec_a"], pair["codec_b"]], float).reshape(-1, 2)
        pair_rows.append({**pair, "utterances": len(scores), "ssim_mean": np.nanmean(scores[:, 0]),
                          "ssim_std_across_utts": np.nanstd(scores[:, 0]), "corr_mean": np.nanmean(scores[:, 1]),
                          "corr_std_across_utts": np.nanstd(scores[:, 1])})
    pair_table = pd.DataFrame(pair_rows, columns=[*pairs.columns, "utterances", "ssim_mean", "ssim_std_across_utts",
                                                  "corr_mean", "corr_std_across_utts"])
    group_rows = []
    for group, description in GROUPS.items():
        members = pair_table[pair_table["group"] == group]
        group_rows.append({
            "group": group, "description": description, "pairs": len(members), "utterances": len(utterances),
            "ssim_mean": members["ssim_mean"].mean(), "ssim_std_across_pairs": members["ssim_mean"].std(ddof=0),
            "corr_mean": members["corr_mean"].mean(), "corr_std_across_pairs": members["corr_mean"].std(ddof=0),
            "pairs_used": "; ".join(f"{a}~{b}" for a, b in zip(members["codec_a"], members["codec_b"]))
            or "none among this run's codecs"})
    return pd.DataFrame(group_rows), pair_table, examples, (utterances[0] if utterances else None)


def write_analysis(manifest_path, results_dir, codecs, groups_out, pairs_out, figure_out, count: int = 100,
                   n_fft: int = 512, hop: int = 128, clip_db: float = 40.0, seed: int = 0) -> pd.DataFrame:
    from codecfake.quality.figures import residual_examples

    groups, pairs, examples, utt = analyse(manifest_path, results_dir, codecs, count, n_fft, hop, clip_db, seed)
    write_tsv_atomic(groups, groups_out)
    write_tsv_atomic(pairs, pairs_out)
    residual_examples(examples, utt, clip_db, hop, figure_out)
    return groups
