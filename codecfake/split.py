"""Speaker-disjoint split: dev and eval speakers from config, train is every other speaker."""
from __future__ import annotations

import pandas as pd

from codecfake.errors import UserError

SPLITS = ("train", "dev", "eval")


class SplitError(UserError):
    pass


def assign_splits(manifest: pd.DataFrame, dev: list[str], eval: list[str]) -> dict[str, pd.DataFrame]:
    overlap = set(dev) & set(eval)
    if overlap:
        raise SplitError(f"split: speaker(s) {', '.join(sorted(overlap))} are in both split.dev and split.eval")
    speakers = set(manifest["speaker"])
    for field, listed in (("split.dev", dev), ("split.eval", eval)):
        missing = [s for s in listed if s not in speakers]
        if missing:
            raise SplitError(f"{field}: speaker(s) {', '.join(missing)} not in the corpus "
                             f"({len(speakers)} speakers, e.g. {', '.join(sorted(speakers)[:5])})")
    held_out = set(dev) | set(eval)
    parts = {
        "train": manifest[~manifest["speaker"].isin(held_out)],
        "dev": manifest[manifest["speaker"].isin(dev)],
        "eval": manifest[manifest["speaker"].isin(eval)],
    }
    if parts["train"].empty:
        raise SplitError("split: no speaker is left for train")
    return {name: part.reset_index(drop=True) for name, part in parts.items()}
