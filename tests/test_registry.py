"""The registry is data: its taxonomy must equal the paper's Table III, and each entry must be runnable."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from codecfake import RESOURCES, registry
from tests.conftest import REPO

SHARED_TAXONOMY = REPO.parent / "shared" / "taxonomy.tsv"


def read_taxonomy(path: Path) -> dict[str, dict]:
    with open(path) as handle:
        rows = [line for line in handle if not line.startswith("#")]
    return {row["protocol_name"]: row for row in csv.DictReader(rows, delimiter="\t")}


def test_reference_copy_matches_shared_table():
    if not SHARED_TAXONOMY.exists():
        pytest.skip(f"{SHARED_TAXONOMY} is absent (only the repo's copy can be checked)")
    assert read_taxonomy(RESOURCES / "taxonomy.tsv") == read_taxonomy(SHARED_TAXONOMY)


def test_registry_taxonomy_equals_table_iii_row_for_row():
    table = read_taxonomy(RESOURCES / "taxonomy.tsv")
    entries = registry.codecs()
    assert sorted(entries) == sorted(table), "registry and Table III list different configurations"
    for name, row in table.items():
        entry = entries[name]
        got = {k: str(getattr(entry, k)) for k in ("id", "family", "config", "arch", "QUA", "AUX", "DEC")}
        assert got == {k: row[k] for k in got}, name


@pytest.mark.parametrize("entry", list(registry.codecs().values()), ids=lambda e: e.protocol_name)
def test_entry_is_complete(entry):
    assert (REPO / entry.env).is_file(), f"{entry.protocol_name}: env file {entry.env} missing"
    assert (REPO / "codec_wrappers" / f"{entry.wrapper}.py").is_file()
    if entry.architecture:
        assert (REPO / entry.architecture).is_file()
    assert entry.sample_rate in (16000, 22050, 24000, 32000, 44100, 48000)
    assert entry.weights, f"{entry.protocol_name}: no weights source"
    for spec in entry.weights.values():
        assert ("url" in spec) != ("hub" in spec), spec
        if "hub" in spec:
            assert {"revision", "file"} <= set(spec), spec
    labels = registry.protocol_labels()
    assert entry.QUA in labels["QUA"] and entry.AUX in labels["AUX"] and entry.DEC in labels["DEC"]


def test_unknown_codec_is_named():
    with pytest.raises(KeyError, match="unknown codec 'NoSuchCodec'"):
        registry.get("NoSuchCodec")
