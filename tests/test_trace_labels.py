"""Tracing labels come from the manifests' taxonomy columns (written from the registry), not from file names."""
import pandas as pd
import pytest

from codecfake import registry
from codecfake.cm import evalsets
from codecfake.errors import UserError
from codecfake.trace.tasks import IGNORE, classes, encode
from tests.trace_fixtures import CODECS, make_results

TASKS = ["binary", "VQ", "AUX", "DEC"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("trace_labels"), {"eval": 2}, seconds=0.1)


def _decode(codes, row):
    return {task: classes(task)[codes[row, j]] for j, task in enumerate(TASKS)}


def test_labels_equal_the_registry_taxonomy(results):
    trials = evalsets.cors(results / "manifests" / "cors_eval.tsv", results)
    codes = encode(trials, TASKS)
    for row, system in enumerate(trials["system"]):
        entry = None if system == registry.BONAFIDE else registry.get(system)
        expected = registry.protocol_taxonomy(entry)
        assert _decode(codes, row) == {"binary": "spoof" if entry else "bonafide", **expected}
    for j, task in enumerate(TASKS):  # the fixture covers every class of every head
        assert set(codes[:, j]) == set(range(len(classes(task))))


def test_labels_follow_the_columns_not_the_file_names(results, tmp_path):
    manifest = pd.read_csv(results / "manifests" / "cors_eval.tsv", sep="\t")
    encodec = manifest["subset"] == CODECS[0]
    manifest.loc[encodec, ["VQ", "AUX", "DEC"]] = ["SQ", "SEM", "FREQ"]  # the table says so, whatever the name
    manifest["utt_id"] = [f"x{i:03d}_Encodec_MVQ_Trad_TIME" for i in range(len(manifest))]
    path = tmp_path / "cors_eval.tsv"
    manifest.to_csv(path, sep="\t", index=False)
    trials = evalsets.cors(path, results)
    codes = encode(trials, TASKS)
    for row in encodec.to_numpy().nonzero()[0]:
        assert _decode(codes, row) == {"binary": "spoof", "VQ": "SQ", "AUX": "SEM", "DEC": "FREQ"}


def test_inconsistent_or_unknown_labels_are_refused_or_ignored(results):
    trials = evalsets.cors(results / "manifests" / "cors_eval.tsv", results)
    bad = trials.copy()
    bad.loc[bad["label"] == "bonafide", "DEC"] = "TIME"
    with pytest.raises(UserError, match="REAL is for bona fide only"):
        encode(bad, TASKS)
    bad = trials.copy()
    bad.loc[bad["label"] == "spoof", "AUX"] = "Semantic"
    with pytest.raises(UserError, match="outside the AUX classes"):
        encode(bad, TASKS)
    external = trials.copy()
    external.loc[external["label"] == "spoof", ["QUA", "AUX", "DEC"]] = "-"  # e.g. ASVspoof attacks
    codes = encode(external, TASKS)
    spoof = (external["label"] == "spoof").to_numpy()
    assert (codes[spoof, 1:] == IGNORE).all() and (codes[~spoof, 1:] == 0).all()
