"""Trial tables: one row per audio file, the format every loader writes and every CM step reads (no torch).

Columns: utt_id, path (absolute), label (bonafide|spoof), speaker, source_utt, system (the attack system; for
bona fide the system whose page it comes from, or `bonafide` when it is shared by every system), QUA/AUX/DEC
(protocol spellings, REAL for bona fide, `-` when unknown) and domain (the data set it comes from, what CSAM
balances). CoRS manifests, CoSG, ASVspoof and labelled folders all become this.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from codecfake.cm.metrics import BONAFIDE_LABEL, SPOOF_LABEL
from codecfake.errors import UserError

TRIAL_COLUMNS = ["utt_id", "path", "label", "speaker", "source_utt", "system", "QUA", "AUX", "DEC", "domain"]
SHARED_BONAFIDE = "bonafide"


def check_trials(table: pd.DataFrame, what: str) -> pd.DataFrame:
    missing = [c for c in TRIAL_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{what}: missing column(s) {', '.join(missing)}")
    labels = set(table["label"])
    if not labels <= {"bonafide", "spoof"}:
        raise UserError(f"{what}: labels must be bonafide or spoof, found {sorted(labels - {'bonafide', 'spoof'})}")
    if table["utt_id"].duplicated().any():
        raise UserError(f"{what}: duplicate utt_id {table['utt_id'][table['utt_id'].duplicated()].iloc[0]!r}")
    return table[TRIAL_COLUMNS].reset_index(drop=True)


def label_codes(table: pd.DataFrame) -> np.ndarray:
    return np.where(table["label"].to_numpy() == "bonafide", BONAFIDE_LABEL, SPOOF_LABEL)
