"""Deterministic shards of a split manifest, and length-bucketed batches.

The number of shards is fixed by config, so the DAG (codec x split x shard) is known at parse time. A bona fide
shard i of n is the i-th contiguous slice of the manifest sorted by utt_id. A codec shard is a contiguous run of
the split's batch plan instead (`shard_batches`): the batches are formed over the whole split, so which utterances
share a batch (which changes a codec's numerics in the last bit) never depends on the shard count.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pandas as pd

SHARD_NAME = re.compile(r"(?P<index>\d+)of(?P<count>\d+)")


def shard_name(index: int, count: int) -> str:
    return f"{index:03d}of{count:03d}"


def parse_shard(name: str) -> tuple[int, int]:
    match = SHARD_NAME.fullmatch(name)
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


def length_batches(lengths: Sequence[int], max_samples: int, max_items: int, exact: bool = False,
                   max_padding: float = 1.0) -> Iterator[list[int]]:
    """Indices grouped by similar length, shortest first: each batch's padded size (items x longest) stays under
    max_samples, and its padding (the share of padded samples that are zeros) at most max_padding.

    With exact=True only equal lengths share a batch (for codecs whose output changes with right padding).
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batch: list[int] = []
    filled = 0
    for index in order:
        longest, items = lengths[index], len(batch) + 1
        full = items > max_items or items * longest > max_samples
        wasteful = filled + longest < (1.0 - max_padding) * items * longest
        if batch and (full or wasteful or (exact and lengths[batch[-1]] != longest)):
            yield batch
            batch, filled = [], 0
        batch.append(index)
        filled += longest
    if batch:
        yield batch


def padded_size(batch: Sequence[int], lengths: Sequence[int]) -> int:
    """Samples the codec sees for a batch: items x longest."""
    return len(batch) * max(lengths[i] for i in batch)


def shard_batches(batches: Sequence[list[int]], lengths: Sequence[int], index: int, count: int) -> list[list[int]]:
    """The index-th of count contiguous runs of a split's batch plan, balanced by padded size: a batch belongs to
    the shard whose share of the total the batch's midpoint falls in. Every batch is in exactly one shard."""
    costs = [padded_size(batch, lengths) for batch in batches]
    total, before, mine = sum(costs), 0, []
    for batch, cost in zip(batches, costs):
        if (2 * before + cost) * count // (2 * total) == index:
            mine.append(batch)
        before += cost
    return mine
