"""Deterministic shards of a split manifest and length-bucketed batches inside a shard.

The number of shards is fixed by config, so the DAG (codec x split x shard) is known at parse time. Shard i of
n is the i-th contiguous slice of the manifest sorted by utt_id: each utterance falls in exactly one shard.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pandas as pd

SHARD_NAME = re.compile(r"^(?P<index>\d+)of(?P<count>\d+)$")


def shard_name(index: int, count: int) -> str:
    return f"{index:03d}of{count:03d}"


def parse_shard(name: str) -> tuple[int, int]:
    match = SHARD_NAME.match(name)
    if match is None:
        raise ValueError(f"bad shard name {name!r}; expected like 007of064")
    index, count = int(match["index"]), int(match["count"])
    if not 0 <= index < count:
        raise ValueError(f"bad shard name {name!r}: index out of range")
    return index, count


def shard_slice(frame: pd.DataFrame, index: int, count: int) -> pd.DataFrame:
    ordered = frame.sort_values("utt_id", kind="stable").reset_index(drop=True)
    start, stop = len(ordered) * index // count, len(ordered) * (index + 1) // count
    return ordered.iloc[start:stop].reset_index(drop=True)


def length_batches(lengths: Sequence[int], max_samples: int, max_items: int, exact: bool = False
                   ) -> Iterator[list[int]]:
    """Indices grouped by similar length: each batch's padded size (items x longest) stays under max_samples.

    With exact=True only equal lengths share a batch (for codecs whose output changes with right padding).
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batch: list[int] = []
    for index in order:
        longest = lengths[index]
        full = len(batch) >= max_items or (len(batch) + 1) * longest > max_samples
        if batch and (full or (exact and lengths[batch[-1]] != longest)):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch
