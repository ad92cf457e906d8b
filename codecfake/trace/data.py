"""Crops with one label per tracing task: codecfake.cm's CropDataset (same crops, RawBoost, seeding) with the
label vector of codecfake.trace.tasks.encode in place of the binary label."""
from __future__ import annotations

import pandas as pd
import torch

from codecfake.cm.data import CropDataset
from codecfake.trace.tasks import encode


class TraceDataset(CropDataset):
    def __init__(self, table: pd.DataFrame, tasks: list[str], what: str = "trials", **crop):
        super().__init__(table, **crop)
        self.codes = encode(table, tasks, what)

    def __getitem__(self, index: int):
        wave, _ = super().__getitem__(index)
        return wave, torch.from_numpy(self.codes[index])
