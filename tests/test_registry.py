"""The registry is data: each entry must be runnable, and the paper's 31 named configurations (the schema's default
codec list) must carry Table III's taxonomy. A configuration outside the 31 needs no edit here nor in
codecfake/resources/taxonomy.tsv: its entry alone carries its labels, checked against the protocol's classes."""
from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

import pytest
import yaml

from codecfake import RESOURCES, generator_registry, registry
from tests.conftest import REPO

SHARED_TAXONOMY = REPO.parent / "shared" / "taxonomy.tsv"
#: A checkpoint source's fields (codecfake/resources/codecs/README.md): where it comes from, how it is verified.
SOURCE_FIELDS = {"hub", "revision", "file", "url", "sha256", "lock"}


def read_taxonomy(path: Path) -> dict[str, dict]:
    with open(path) as handle:
        rows = [line for line in handle if not line.startswith("#")]
    return {row["protocol_name"]: row for row in csv.DictReader(rows, delimiter="\t")}


def test_reference_copy_matches_shared_table():
    if not SHARED_TAXONOMY.exists():
        pytest.skip(f"{SHARED_TAXONOMY} is absent (only the repo's copy can be checked)")
    assert read_taxonomy(RESOURCES / "taxonomy.tsv") == read_taxonomy(SHARED_TAXONOMY)


def test_the_papers_31_carry_table_iii_row_for_row():
    table = read_taxonomy(RESOURCES / "taxonomy.tsv")
    entries = registry.codecs()
    assert set(table) <= set(entries), f"Table III configurations not registered: {sorted(set(table) - set(entries))}"
    for name, row in table.items():
        entry = entries[name]
        got = {k: str(getattr(entry, k)) for k in ("id", "family", "config", "arch", "QUA", "AUX", "DEC")}
        assert got == {k: row[k] for k in got}, name


@pytest.mark.parametrize("entry", list(registry.codecs().values()), ids=lambda e: e.protocol_name)
def test_entry_is_complete(entry):
    assert (REPO / entry.env).is_file(), f"{entry.protocol_name}: env file {entry.env} missing"
    assert (REPO / "codec_wrappers" / f"{entry.wrapper}.py").is_file()
    # One family name for its three files, so what covers it (tests/parity/test_<family>.py, run in that env by
    # tests/harness) is found by name, not listed anywhere.
    assert entry.env == f"envs/{entry.wrapper}.yaml", f"{entry.protocol_name}: env and wrapper name one family"
    assert isinstance(entry.architecture, dict), f"{entry.protocol_name}: `architecture` is written in the entry"
    assert entry.sample_rate in (16000, 22050, 24000, 32000, 44100, 48000)
    assert entry.weights, f"{entry.protocol_name}: no weights source"
    for spec in entry.weights.values():
        assert ("url" in spec) != ("hub" in spec), spec
        if "hub" in spec:
            assert {"revision", "file"} <= set(spec), spec
        assert set(spec) <= SOURCE_FIELDS, spec
        assert spec.get("lock", True) is True, f"{entry.protocol_name}: `lock` is either absent or true: {spec}"
        if "sha256" in spec:
            assert re.fullmatch(r"[0-9a-f]{64}", str(spec["sha256"])), spec  # a prefix never verifies
    labels = registry.protocol_labels()
    assert entry.QUA in labels["QUA"] and entry.AUX in labels["AUX"] and entry.DEC in labels["DEC"]


def test_unknown_codec_is_named():
    with pytest.raises(KeyError, match="unknown codec 'NoSuchCodec'"):
        registry.get("NoSuchCodec")


def test_default_codecs_are_the_papers_31_and_the_five_are_a_preset():
    table = read_taxonomy(RESOURCES / "taxonomy.tsv")
    schema = yaml.safe_load((REPO / "config.schema.yaml").read_text())["properties"]["codecs"]["default"]
    assert len(schema) == 31 and sorted(schema) == sorted(table)
    assert yaml.safe_load((REPO / "config.yaml").read_text())["codecs"] == schema
    preset = yaml.safe_load((REPO / "configs" / "five_codecs.yaml").read_text())["codecs"]
    assert preset == ["Encodec_6b24k", "Encodec_24b24k", "vocos_encodec_6", "vocos_encodec_12", "DAC24"]


def test_codec_wrappers_import_nothing_from_codecfake():
    """One-way dependency: codecfake -> codec_wrappers (README, architecture)."""
    for path in sorted((REPO / "codec_wrappers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] == "codecfake" for name in names), f"{path.name} imports {names}"


def toy_entry(**fields) -> dict:
    """A registry entry of a made-up codec, with the fields a test adds or overrides."""
    return {"id": "Z", "family": "Z", "config": "z", "arch": "C/C", "QUA": "Mvq", "AUX": "None", "DEC": "Time",
            "wrapper": "z", "env": "envs/z.yaml", "sample_rate": 16000, **fields}


def test_architecture_is_written_in_the_entry(tmp_path):
    """One place for a configuration's hyper-parameters: an entry naming a file instead is refused, by name."""
    entry = toy_entry(architecture="resources/arch/z.yaml")
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": entry}))
    with pytest.raises(ValueError, match="z_16k's `architecture` is the model's hyper-parameters"):
        registry.codecs(tmp_path)


@pytest.mark.parametrize("value", ["", "  ", True, ["a list"]])
def test_a_substitute_says_what_it_stands_in_for(tmp_path, value):
    """`substitute_for` (a checkpoint standing in for one the paper used that is not public) is a sentence of
    evidence; an empty or non-text value is refused, by name."""
    entry = toy_entry(substitute_for=value)
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": entry}))
    with pytest.raises(ValueError, match="z_16k's `substitute_for` says, in a sentence"):
        registry.codecs(tmp_path)


def test_a_substitute_is_read_with_its_evidence(tmp_path):
    entry = toy_entry(substitute_for="The paper's Z, not public; the closest public one.")
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": entry}))
    assert registry.codecs(tmp_path)["z_16k"].substitute_for == "The paper's Z, not public; the closest public one."


#: Codecfake's codec of each test condition (arXiv 2405.04880v1: section III-E, "C1-C7 for codec methods F01-F07";
#: Table I: F01 SoundStream, F02 SpeechTokenizer, F03 FunCodec, F04 EnCodec, F05 AudioDec, F06 AcademiCodec (whose
#: codec is HiFi-Codec), F07 DAC; Table II: C3-1..C3-4 FunCodec, C4-1..C4-3 EnCodec), by the registry's family names.
CODECFAKE_FAMILIES = {"C1": "SoundStream", "C2": "SpeechTokenizer", "C3": "FunCodec", "C4": "EnCodec",
                      "C5": "AudioDec", "C6": "HiFi-Codec", "C7": "DAC",
                      **{f"C3-{k}": "FunCodec" for k in range(1, 5)}, **{f"C4-{k}": "EnCodec" for k in range(1, 4)}}


def test_a_codecfake_condition_is_run_by_its_family_and_its_checkpoint_is_named_a_substitute():
    """Codecfake's authors trained every codec themselves and released none (section III-C): an entry that runs a
    Codecfake condition's configuration says what its checkpoint stands in for."""
    entries = [entry for entry in registry.codecs().values() if entry.codecfake_condition]
    assert entries, "no entry runs a Codecfake condition"
    for entry in entries:
        assert entry.family == CODECFAKE_FAMILIES[entry.codecfake_condition], entry.protocol_name
        assert entry.substitute_for, f"{entry.protocol_name}: Codecfake's checkpoint is not public"


@pytest.mark.parametrize("value", ["C8", "C3-5", "c1", 1, "C1 "])
def test_a_condition_outside_codecfakes_is_refused(tmp_path, value):
    entry = toy_entry(codecfake_condition=value)
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": entry}))
    with pytest.raises(ValueError, match="is not one of Codecfake's codec test conditions"):
        registry.codecs(tmp_path)


def test_two_entries_cannot_claim_one_condition(tmp_path):
    entry = toy_entry(codecfake_condition="C4-2")
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": entry, "z_24k": entry}))
    with pytest.raises(ValueError, match="z_24k and z_16k both claim Codecfake condition C4-2"):
        registry.codecs(tmp_path)


COMMIT = "13af0ebad99f01ebbe25ce449b7e33eebc56672e"


def test_an_upstream_is_read_as_written(tmp_path):
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": toy_entry(upstream=f"y-ren16/TiCodec@{COMMIT}")}))
    assert registry.codecs(tmp_path)["z_16k"].upstream == f"y-ren16/TiCodec@{COMMIT}"


@pytest.mark.parametrize("value, problem", [
    ("y-ren16/TiCodec@13af0eb", "names '13af0eb', not a full 40-hex commit id"),
    ("y-ren16/TiCodec@main", "names 'main', not a full 40-hex commit id"),
    (f"y-ren16/TiCodec@{COMMIT.upper()}", "not a full 40-hex commit id"),
    ("y-ren16/TiCodec", "is OWNER/REPO@<40-hex commit>"),
    (f"TiCodec@{COMMIT}", "is OWNER/REPO@<40-hex commit>"),
    (f"https://github.com/y-ren16/TiCodec@{COMMIT}", "is OWNER/REPO@<40-hex commit>"),
    (42, "is OWNER/REPO@<40-hex commit>"),
])
def test_a_malformed_upstream_is_refused_when_the_registry_is_read(tmp_path, value, problem):
    """`upstream:` is what a GitHub-only family's env unpacks: a full commit of one repository, nothing that could
    name other code tomorrow (a branch, a short id)."""
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": toy_entry(upstream=value)}))
    with pytest.raises(ValueError, match=rf"z_16k: `upstream` .*{re.escape(problem)}"):
        registry.codecs(tmp_path)


@pytest.mark.parametrize("value", ["funcodec", "funcodec>=0.2", "funcodec==0.2.0 --pre", ["funcodec==0.2.0"]])
def test_a_no_deps_package_is_one_exact_pin(tmp_path, value):
    (tmp_path / "z.yaml").write_text(yaml.safe_dump({"z_16k": toy_entry(pip_no_deps=value)}))
    with pytest.raises(ValueError, match="z_16k: `pip_no_deps` is one exact pin"):
        registry.codecs(tmp_path)


@pytest.mark.parametrize("other", [{"upstream": f"y-ren16/TiCodec@{'0' * 40}"}, {}])
def test_entries_of_one_env_must_name_one_upstream(tmp_path, other):
    """Their env has one post-deploy script: two configurations of it cannot unpack two sources (nor one none)."""
    entries = {"z_16k": toy_entry(upstream=f"y-ren16/TiCodec@{COMMIT}"), "z_24k": toy_entry(**other)}
    (tmp_path / "z.yaml").write_text(yaml.safe_dump(entries))
    with pytest.raises(ValueError, match=r"z_24k and z_16k share envs/z\.yaml but name different `upstream`"):
        registry.codecs(tmp_path)


def test_each_parity_test_is_named_after_a_registered_family():
    """tests/harness finds a family's parity test by name (tests/parity/test_<family>.py, run in envs/<family>.yaml):
    a parity file named after no family would never run."""
    families = {entry.wrapper for entry in registry.codecs().values()}
    generator_envs = {Path(entry.env).stem for entry in generator_registry.generators().values()}  # test_<env stem>
    parity = {path.stem.removeprefix("test_") for path in (REPO / "tests" / "parity").glob("test_*.py")}
    assert parity <= families | generator_envs, \
        f"parity tests named after no registered family: {sorted(parity - families - generator_envs)}"


def test_the_papers_set_is_the_schema_default_and_codecs_lists_it_unless_all(capsys):
    from codecfake.cli import main

    schema = yaml.safe_load((REPO / "config.schema.yaml").read_text())["properties"]["codecs"]["default"]
    assert registry.codecfake_plus_set() == list(read_taxonomy(RESOURCES / "taxonomy.tsv"))
    assert sorted(registry.codecfake_plus_set()) == sorted(schema)
    main(["codecs", "--format", "tsv"])
    listed = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert sorted(listed) == sorted(schema)
    main(["codecs", "--all", "--format", "tsv"])
    listed = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed == list(registry.codecs()) and set(schema) <= set(listed)
