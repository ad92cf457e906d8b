"""Training-set selection: which CoRS trials (and external sets) a CM trains and is selected on.

Every strategy returns a trial table and is written out as a protocol in the published line format, so the
chosen set can be inspected and reused. Strategies (seeded, deterministic):
  single    all bona fide + the spoofs of exactly one codec (codec-level CMs: one CM per codec)
  union     all bona fide + the spoofs of the listed codecs (default: every codec present)
  balanced  over one taxonomy attribute (QUA, AUX or DEC), the published CodecFake+ semantics: every bona fide
            utterance with a resynthesis is kept and paired with `scale` spoofs of the same source utterance
            (drawn without replacement); bona fide utterances are visited in a seeded random order, each draw
            takes its class uniformly at random among the least used classes so far (so class counts never
            differ by more than one: the published lists have 42,965 bona fide with AUX 14,322/14,321/14,322,
            QUA 14,322/14,322/14,321 and DEC 21,483/21,482 spoofs) and its codec uniformly at random among that
            class's codecs for the utterance. Nothing is dropped to equalise counts. Each attribute's draw has its own
            random stream, seeded from the seed and the attribute's name: with one stream, the AUX and QUA
            selections of a split were the same draw relabelled (every Disent spoof an MVQ one, and so on), where the
            published lists pair the classes in all nine combinations.
  external  the external sets only, no CoRS trial: the paper's baselines BL1 (ASVspoof 2019 LA) and BL2
            (MaskGCT-VCTK, a generated CoSG set: `external: [MaskGCT-VCTK_train]`, `external_dev: [MaskGCT-VCTK_dev]`),
            Codecfake's vocoder-trained setting, or a published copy of a data set (Codecfake's train/dev)
  + external  any strategy can add whole external sets (their own domain), e.g. ASVspoof 2019 LA train.
"""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pandas as pd

from codecfake.cm.trials import check_trials
from codecfake.errors import UserError
from codecfake.protocols import protocol_lines
from codecfake.registry import TAXONOMY_FIELDS

STRATEGIES = ("single", "union", "balanced", "external")


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
    pool: dict[str, list[tuple[str, str]]] = {}  # source utterance -> (spoof utt_id, class), sorted
    for utt, cls, source in sorted(zip(candidates["utt_id"], candidates[attribute], candidates["source_utt"])):
        pool.setdefault(source, []).append((utt, cls))
    bonafide = trials[(trials["label"] == "bonafide") & trials["source_utt"].isin(pool)].sort_values("utt_id")
    per_class = Counter({c: 0 for c in classes})
    chosen: list[str] = []
    for index in rng.permutation(len(bonafide)):
        available = list(pool[bonafide["source_utt"].iat[index]])
        for _ in range(min(scale, len(available))):
            options = sorted({cls for _, cls in available})
            least = min(per_class[c] for c in options)
            tied = [c for c in options if per_class[c] == least]
            cls = tied[rng.integers(len(tied))]
            in_class = [item for item in available if item[1] == cls]
            spoof = in_class[rng.integers(len(in_class))]
            available.remove(spoof)
            per_class[cls] += 1
            chosen.append(spoof[0])
    if min(per_class.values()) == 0:
        raise SelectionError(f"{what}: a class of {attribute} gets no spoof of any selected utterance")
    wanted = set(bonafide["utt_id"]) | set(chosen)
    return trials[trials["utt_id"].isin(wanted)]


def attribute_seed(seed: int, attribute: str) -> list[int]:
    """The seed of one attribute's balanced draw: the run's seed and a stable number from the attribute's name
    (sha256; Python's hash() of a str changes between processes)."""
    return [seed, int.from_bytes(hashlib.sha256(attribute.encode()).digest()[:8], "little")]


def select(trials: pd.DataFrame, strategy: dict, seed: int, externals: list[pd.DataFrame] = (),
           what: str = "train_set") -> pd.DataFrame:
    """Trials of `strategy` ({strategy, codecs, attribute, scale}) from a CoRS split, plus external sets."""
    name = strategy.get("strategy", "union")
    codecs = strategy.get("codecs") or None
    if name not in STRATEGIES:
        raise SelectionError(f"{what}: unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    if name == "external":
        if not externals:
            raise SelectionError(f"{what}: strategy external trains on external sets only, and none is given "
                                 f"(train_set.external for training, train_set.external_dev for dev)")
        return check_trials(pd.concat(externals, ignore_index=True), what)
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
        selected = _balanced(trials, candidates, attribute, scale,
                             np.random.default_rng(attribute_seed(seed, attribute)), what)
    else:
        selected = pd.concat([trials[trials["label"] == "bonafide"], candidates])
    selected = selected.sort_values(["speaker", "source_utt", "utt_id"], kind="stable")
    return check_trials(pd.concat([selected, *externals], ignore_index=True), what)


def protocol_text(trials: pd.DataFrame) -> str:
    """The selection in the published protocol format `SPK UTT - AUX DEC VQ label`."""
    return "".join(line + "\n" for line in protocol_lines(trials.rename(columns={"QUA": "VQ"})))
