"""Training-set selection: which CoRS trials (and external sets) a CM trains and is selected on.

Every strategy returns a trial table and is written out as a protocol in the published line format, so the
chosen set can be inspected and reused. Strategies (seeded, deterministic):
  single    all bona fide + the spoofs of exactly one codec (codec-level CMs: one CM per codec)
  union     all bona fide + the spoofs of the listed codecs (default: every codec present)
  balanced  over one taxonomy attribute (QUA, AUX or DEC): each bona fide utterance is paired with `scale`
            spoofs of the same source utterance, the class of each draw being the least used so far and the codec
            the least used in that class, so every class ends with exactly the same number of spoofs (a few
            surplus draws are dropped at the end to make the counts equal)
  + external  any strategy can add whole external sets (their own domain), e.g. ASVspoof 2019 LA train.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from codecfake.cm.trials import check_trials
from codecfake.errors import UserError
from codecfake.protocols import protocol_lines
from codecfake.registry import TAXONOMY_FIELDS

STRATEGIES = ("single", "union", "balanced")


class SelectionError(UserError):
    pass


def _candidates(trials: pd.DataFrame, codecs: list[str] | None, what: str) -> pd.DataFrame:
    spoof = trials[trials["label"] == "spoof"]
    if codecs:
        unknown = [c for c in codecs if c not in set(spoof["system"])]
        if unknown:
            raise SelectionError(f"{what}: codec(s) {', '.join(unknown)} have no spoofs in this split "
                                 f"(present: {', '.join(sorted(set(spoof['system'])))})")
        spoof = spoof[spoof["system"].isin(codecs)]
    if spoof.empty:
        raise SelectionError(f"{what}: no spoof trials to select from")
    return spoof


def _balanced(trials: pd.DataFrame, candidates: pd.DataFrame, attribute: str, scale: int,
              rng: np.random.Generator, what: str) -> pd.DataFrame:
    classes = sorted(set(candidates[attribute]))
    if len(classes) < 2:
        raise SelectionError(f"{what}: balancing {attribute} needs at least two classes among the candidate codecs, "
                             f"found {classes}")
    pool: dict[str, list[tuple[str, str, str]]] = {}
    for utt, system, cls, source in zip(candidates["utt_id"], candidates["system"], candidates[attribute],
                                        candidates["source_utt"]):
        pool.setdefault(source, []).append((utt, system, cls))
    bonafide = trials[(trials["label"] == "bonafide") & trials["source_utt"].isin(pool)].sort_values("utt_id")
    order = rng.permutation(len(bonafide))
    per_class, per_codec = Counter({c: 0 for c in classes}), Counter()
    chosen: list[tuple[str, str, str]] = []  # (bona fide utt_id, spoof utt_id, class)
    for index in order:
        bonafide_utt, source = bonafide["utt_id"].iat[index], bonafide["source_utt"].iat[index]
        available = sorted(pool[source])
        for _ in range(scale):
            options = sorted({cls for _, _, cls in available})
            if not options:
                break
            tie_break = dict(zip(classes, rng.permutation(len(classes))))
            cls = min(options, key=lambda c: (per_class[c], tie_break[c]))
            in_class = [available[i] for i in rng.permutation(len(available)) if available[i][2] == cls]
            spoof = min(in_class, key=lambda item: per_codec[item[1]])
            available.remove(spoof)
            per_class[cls] += 1
            per_codec[spoof[1]] += 1
            chosen.append((bonafide_utt, spoof[0], cls))
    target = min(per_class.values())
    if target == 0:
        raise SelectionError(f"{what}: a class of {attribute} gets no spoof of any selected utterance")
    keep = []
    for cls in classes:
        members = [pair for pair in chosen if pair[2] == cls]
        drop = set(rng.choice(len(members), size=len(members) - target, replace=False).tolist())
        keep += [pair for i, pair in enumerate(members) if i not in drop]
    wanted = {pair[0] for pair in keep} | {pair[1] for pair in keep}
    return trials[trials["utt_id"].isin(wanted)]


def select(trials: pd.DataFrame, strategy: dict, seed: int, externals: list[pd.DataFrame] = (),
           what: str = "train_set") -> pd.DataFrame:
    """Trials of `strategy` ({strategy, codecs, attribute, scale}) from a CoRS split, plus external sets."""
    name = strategy.get("strategy", "union")
    codecs = strategy.get("codecs") or None
    rng = np.random.default_rng(seed)
    if name not in STRATEGIES:
        raise SelectionError(f"{what}: unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    if name == "single" and (not codecs or len(codecs) != 1):
        raise SelectionError(f"{what}: strategy single takes exactly one codec, got {codecs}")
    candidates = _candidates(trials, codecs, what)
    if name == "balanced":
        attribute = strategy.get("attribute")
        if attribute not in TAXONOMY_FIELDS:
            raise SelectionError(f"{what}: balanced needs attribute one of {', '.join(TAXONOMY_FIELDS)}, "
                                 f"got {attribute!r}")
        scale = int(strategy.get("scale") or 1)
        if scale < 1:
            raise SelectionError(f"{what}: scale must be >= 1, got {scale}")
        selected = _balanced(trials, candidates, attribute, scale, rng, what)
    else:
        selected = pd.concat([trials[trials["label"] == "bonafide"], candidates])
    selected = selected.sort_values(["speaker", "source_utt", "utt_id"], kind="stable")
    return check_trials(pd.concat([selected, *externals], ignore_index=True), what)


def protocol_text(trials: pd.DataFrame) -> str:
    """The selection in the published protocol format `SPK UTT - AUX DEC VQ label`."""
    return "".join(line + "\n" for line in protocol_lines(trials.rename(columns={"QUA": "VQ"})))
