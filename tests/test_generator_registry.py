"""The CoSG generator registry (codecfake/resources/generators/): entries that the workflow and its envs can use,
checkpoints pinned and verified as codecs' are, and refused where they are not. Runs in the main venv (no Amphion):
the generator's own tests run in its env (tests/test_cosg_generator.py, `make test-codecs`).

Expected values are written here from the paper and the issue (MaskGCT: Table IV's taxonomy, 24 kHz output,
CC-BY-NC-4.0 weights on the hub at amphion/MaskGCT and facebook/w2v-bert-2.0), not read from the registry.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch
import yaml

from codecfake import RESOURCES, generator_registry, registry, weights
from codecfake.download import ChecksumMismatch
from codecfake.generation import load_generator
from tests.test_weights import Marker

REPO = Path(__file__).resolve().parents[1]
MASKGCT = generator_registry.get("MaskGCT")


def cosg_row(system: str) -> dict:
    lines = [line for line in (RESOURCES / "cosg_systems.tsv").read_text().splitlines()
             if line and not line.startswith("#")]
    return next(row for row in csv.DictReader(lines, delimiter="\t") if row["system"] == system)


def test_maskgct_entry_is_the_papers_system():
    row = cosg_row("MASKGCT")
    assert row["paper_name"] == "MaskGCT-E2" and MASKGCT.cosg_system == "MASKGCT"
    assert (MASKGCT.QUA, MASKGCT.AUX, MASKGCT.DEC) == (row["QUA"], row["AUX"], row["DEC"]) == ("Mvq", "None", "Freq")
    assert registry.protocol_taxonomy(MASKGCT) == {"AUX": "Trad", "DEC": "FREQ", "VQ": "MVQ"}
    assert MASKGCT.sample_rate == 24000 and MASKGCT.licence == "CC-BY-NC-4.0"
    hubs = {spec["hub"] for spec in MASKGCT.weights.values()}
    assert hubs == {"amphion/MaskGCT", "facebook/w2v-bert-2.0"}
    files = {spec["file"] for spec in MASKGCT.weights.values() if spec["hub"] == "amphion/MaskGCT"}
    assert files == {"semantic_codec/model.safetensors", "acoustic_codec/model.safetensors",  # maskgct_inference's
                     "acoustic_codec/model_1.safetensors", "t2s_model/model.safetensors",
                     "s2a_model/s2a_model_1layer/model.safetensors", "s2a_model/s2a_model_full/model.safetensors"}


@pytest.mark.parametrize("entry", generator_registry.generators().values(), ids=lambda e: e.name)
def test_each_generator_carries_its_table_iv_taxonomy(entry):
    row = cosg_row(entry.cosg_system)
    assert (entry.QUA, entry.AUX, entry.DEC) == (row["QUA"], row["AUX"], row["DEC"])


@pytest.mark.parametrize("entry", generator_registry.generators().values(), ids=lambda e: e.name)
def test_each_generator_has_its_wrapper_env_and_architectures(entry):
    assert (REPO / "cosg_wrappers" / f"{entry.wrapper}.py").is_file()
    assert (REPO / entry.env).is_file() and entry.env == f"envs/{entry.wrapper}.yaml"
    assert set(entry.random_architecture) and set(entry.architecture)


def test_maskgct_env_pins_amphion_as_facodec_does_and_a_transformers_4():
    """MaskGCT's Llama layers break on transformers 5.x (the main venv's), hence its own env; its Amphion is the
    commit FACodec's entry unpacks, so both run one Amphion."""
    assert MASKGCT.upstream.startswith("open-mmlab/Amphion@")
    assert MASKGCT.upstream == registry.get("FACodec_encodec-decoder-v2_16k").upstream
    env = yaml.safe_load((REPO / "envs/maskgct.yaml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert "transformers==4.41.2" in pip and "torch==2.13.0" in pip


@pytest.mark.parametrize("bad, problem", [
    ({"revision": "main"}, "not a pinned 40-hex commit"),
    ({"sha256": "543156ed"}, "not a full 64-hex digest"),
    ({"sha256": None, "lock": None}, "neither `sha256` nor `lock: true`"),
])
def test_an_unpinned_checkpoint_is_refused_when_the_registry_is_read(tmp_path, bad, problem):
    text = yaml.safe_load((RESOURCES / "generators" / "maskgct.yaml").read_text())
    spec = text["MaskGCT"]["weights"]["t2s_model"]
    spec.update(bad)
    text["MaskGCT"]["weights"]["t2s_model"] = {key: value for key, value in spec.items() if value is not None}
    (tmp_path / "maskgct.yaml").write_text(yaml.safe_dump(text))
    with pytest.raises(ValueError, match=re.escape(problem)):
        generator_registry.generators(tmp_path)


@pytest.mark.parametrize("value", ["open-mmlab/Amphion@d3de90f", "open-mmlab/Amphion", "Amphion@main"])
def test_an_upstream_that_is_not_a_full_commit_is_refused(tmp_path, value):
    text = yaml.safe_load((RESOURCES / "generators" / "maskgct.yaml").read_text())
    text["MaskGCT"]["upstream"] = value
    (tmp_path / "maskgct.yaml").write_text(yaml.safe_dump(text))
    with pytest.raises(ValueError, match=r"MaskGCT: `upstream` "):
        generator_registry.generators(tmp_path)


def test_generators_of_one_env_must_name_one_upstream(tmp_path):
    text = yaml.safe_load((RESOURCES / "generators" / "maskgct.yaml").read_text())
    text["MaskGCT2"] = {**text["MaskGCT"], "upstream": f"open-mmlab/Amphion@{'0' * 40}"}
    (tmp_path / "maskgct.yaml").write_text(yaml.safe_dump(text))
    with pytest.raises(ValueError, match=r"share envs/maskgct\.yaml but name different `upstream`"):
        generator_registry.generators(tmp_path)


def test_a_taxonomy_class_outside_the_codec_registrys_is_refused(tmp_path):
    text = yaml.safe_load((RESOURCES / "generators" / "maskgct.yaml").read_text())
    text["MaskGCT"]["DEC"] = "FREQ"  # the protocol spelling, not the class
    (tmp_path / "maskgct.yaml").write_text(yaml.safe_dump(text))
    with pytest.raises(ValueError, match="DEC 'FREQ' is not one of"):
        generator_registry.generators(tmp_path)


def test_pretrained_weights_are_never_fetched_by_loading(tmp_path):
    with pytest.raises(weights.WeightsUnavailable, match="is not at"):
        load_generator("MaskGCT", weights="pretrained", weights_dir=tmp_path)


def test_fetch_takes_a_generator_entry_and_downloads_nothing_offline(tmp_path, monkeypatch):
    """`snakemake fetch_weights`' code serves generators as codecs: pinned sources, `<weights_dir>/MaskGCT/...`."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(weights.WeightsUnavailable, match="downloads are off"):
        weights.fetch(MASKGCT, tmp_path)
    path = weights.local_path(MASKGCT, MASKGCT.weights["t2s_model"], tmp_path)
    assert path == tmp_path / "MaskGCT" / "amphion--MaskGCT" / MASKGCT.weights["t2s_model"]["revision"] / \
        "t2s_model" / "model.safetensors"


def test_a_planted_file_at_a_sha256_pinned_path_is_deleted_and_refused(tmp_path):
    """A pickle where the T2S checkpoint belongs (full sha256 pin) never reaches a loader."""
    path = weights.local_path(MASKGCT, MASKGCT.weights["t2s_model"], tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"w": Marker(tmp_path / "ran")}, path)
    with pytest.raises(ChecksumMismatch):
        weights.check_local(MASKGCT, "t2s_model", MASKGCT.weights["t2s_model"], path, tmp_path)
    assert not path.exists() and not (tmp_path / "ran").exists()


def test_a_locked_file_without_its_fetch_record_is_refused(tmp_path):
    spec = MASKGCT.weights["semantic_codec"]
    assert spec.get("lock") is True
    path = weights.local_path(MASKGCT, spec, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not what fetch downloaded")
    with pytest.raises(weights.WeightsUnavailable, match="was not downloaded by fetch"):
        weights.check_local(MASKGCT, "semantic_codec", spec, path, tmp_path)


def test_generator_tests_skip_saying_which_env_runs_them():
    reason = MASKGCT.unavailable()
    try:
        import models.tts.maskgct  # noqa: F401
    except ImportError:
        assert reason and "envs/maskgct.yaml" in reason and "make test-codecs" in reason
