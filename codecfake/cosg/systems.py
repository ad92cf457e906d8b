"""The CoSG systems of the paper's Table IV (codecfake/resources/cosg_systems.tsv) and their taxonomy.

Its own module, free of the CM code's imports, since the generation env (a generator's own) writes protocols and
cards with it, and the CM readers (codecfake.cm.evalsets) read the published CoSG set with it.
"""
from __future__ import annotations

from functools import cache

import pandas as pd

from codecfake import RESOURCES, registry


@cache
def cosg_systems() -> pd.DataFrame:
    """codecfake/resources/cosg_systems.tsv with its taxonomy in protocol spellings (MVQ, Trad, TIME...)."""
    table = pd.read_csv(RESOURCES / "cosg_systems.tsv", sep="\t", comment="#", dtype=str, keep_default_na=False)
    labels = registry.protocol_labels()
    for attribute in registry.TAXONOMY_FIELDS:
        table[attribute] = table[attribute].map(labels[attribute])
    return table.set_index("system")
