"""The two ways to split a corpus into train/dev/eval, chosen per corpus in the config.

By speaker (CoRS's): dev and eval speakers are listed, train is every other speaker, so no speaker is in two
splits. By utterance (Codecfake's): every speaker's utterances are divided about 80/10/10, so every speaker is in
every split, as in Codecfake's released sets (all 218 AISHELL-3 and 109 VCTK speakers appear in its test set).
An utterance's place depends only on the seed and its speaker's utterance ids, never on the manifest's row order
or on other speakers, so a rerun or a grown corpus keeps the assignment stable.
"""
from __future__ import annotations

import hashlib

import pandas as pd

from codecfake.errors import UserError

SPLITS = ("train", "dev", "eval")
BY = ("speaker", "utterance")


class SplitError(UserError):
    pass


def assign_splits(manifest: pd.DataFrame, dev: list[str], eval: list[str]) -> dict[str, pd.DataFrame]:
    """Speaker-disjoint parts: dev and eval speakers as listed, train the rest."""
    return _parts(manifest, speaker_labels(manifest, dev, eval))


def speaker_labels(manifest: pd.DataFrame, dev: list[str], eval: list[str], field: str = "split") -> pd.Series:
    """Each row's split under the split by speaker; `field` names the config key in errors."""
    overlap = set(dev) & set(eval)
    if overlap:
        raise SplitError(f"{field}: speaker(s) {', '.join(sorted(overlap))} are in both {field}.dev and "
                         f"{field}.eval")
    speakers = set(manifest["speaker"])
    for name, listed in (("dev", dev), ("eval", eval)):
        missing = [s for s in listed if s not in speakers]
        if missing:
            raise SplitError(f"{field}.{name}: speaker(s) {', '.join(missing)} not in the corpus "
                             f"({len(speakers)} speakers, e.g. {', '.join(sorted(speakers)[:5])})")
    labels = pd.Series("train", index=manifest.index)
    labels[manifest["speaker"].isin(dev)] = "dev"
    labels[manifest["speaker"].isin(eval)] = "eval"
    if not (labels == "train").any():
        raise SplitError(f"{field}: no speaker is left for train")
    return labels


def _rank(seed: int, utt_id: str) -> str:
    return hashlib.sha256(f"{seed}\0{utt_id}".encode()).hexdigest()


def utterance_labels(manifest: pd.DataFrame, dev_fraction: float, eval_fraction: float, seed: int,
                     field: str = "split") -> pd.Series:
    """Each row's split under the split by utterance: per speaker, utterances ordered by a seeded hash of their
    utt_id; the first round(n * dev_fraction) (at least one) go to dev, the next round(n * eval_fraction) (at
    least one) to eval, the rest (at least one) to train. A speaker with fewer than three utterances cannot be
    in every split: an error naming it."""
    if dev_fraction + eval_fraction >= 1:
        raise SplitError(f"{field}: dev_fraction + eval_fraction must be below 1, got {dev_fraction + eval_fraction}")
    labels = pd.Series("train", index=manifest.index)
    for speaker, rows in manifest.groupby("speaker", sort=True):
        count = len(rows)
        if count < 3:
            raise SplitError(f"{field}: speaker {speaker!r} has {count} utterance(s); the split by utterance puts "
                             f"every speaker in train, dev and eval, so each needs at least 3")
        ordered = sorted(rows.index, key=lambda index: _rank(seed, manifest.at[index, "utt_id"]))
        n_dev = max(1, round(count * dev_fraction))
        n_eval = max(1, min(round(count * eval_fraction), count - n_dev - 1))
        labels[ordered[:n_dev]] = "dev"
        labels[ordered[n_dev:n_dev + n_eval]] = "eval"
    return labels


def corpus_labels(manifest: pd.DataFrame, rule: dict, field: str) -> pd.Series:
    """Each row's split under one corpus' rule (a `corpora[].split` entry of the config)."""
    if rule["by"] == "speaker":
        return speaker_labels(manifest, rule["dev"], rule["eval"], field)
    return utterance_labels(manifest, rule["dev_fraction"], rule["eval_fraction"], rule["seed"], field)


def split_corpora(manifest: pd.DataFrame, rules: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """The parts of a manifest over several corpora (column `corpus`), each corpus split by its own rule; rows
    keep the manifest's order."""
    labels = pd.Series("", index=manifest.index)
    for name, rule in rules.items():
        rows = manifest[manifest["corpus"] == name]
        if rows.empty:
            raise SplitError(f"corpora: {name} has no utterance in the manifest")
        labels[rows.index] = corpus_labels(rows, rule, f"corpora[{name}].split")
    unlisted = sorted(set(manifest.loc[labels == "", "corpus"]))
    if unlisted:
        raise SplitError(f"split: the manifest holds corpus {unlisted[0]!r}, which has no split rule")
    return _parts(manifest, labels)


def _parts(manifest: pd.DataFrame, labels: pd.Series) -> dict[str, pd.DataFrame]:
    return {name: manifest[labels == name].reset_index(drop=True) for name in SPLITS}
