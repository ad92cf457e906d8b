"""Incremental regeneration of a finished run: only what a change touches is scheduled again.

Adding a codec schedules that codec's shard jobs, its subset tables and the per-split aggregates (protocol +
manifest); changing one codec's settings or checkpoint revision in the registry reruns that codec only, through the
`fingerprint` param of the resynthesis rule (Snakemake's params rerun trigger). The registry edits go to a private
copy of the workflow, never to the repository.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.tinyrun import CODECS, SPLITS, copy_workflow, dry_run_jobs, plain_run, targets, tiny_config

pytestmark = pytest.mark.slow
ADDED = "Encodec_24b24k"  # same family as Encodec_6b24k, same env


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(workflow copy, work dir, config) of the session's finished tiny run; the copy's registry may be edited.
    Dry runs only: the run itself is never changed."""
    workflow = copy_workflow(tmp_path_factory.mktemp("incremental") / "workflow")
    workdir = plain_run(tmp_path_factory)
    return workflow, workdir, workdir / "tiny.yaml"


def _scheduled(finished, config=None) -> list[dict]:
    workflow, workdir, base = finished
    return dry_run_jobs(workdir, config or base, *targets(), snakefile=workflow / "Snakefile")


def _assert_only(jobs: list[dict], codec: str) -> None:
    """The shard jobs of `codec` and its subset tables (one each per split) and the protocol of every split;
    nothing else."""
    per_codec = [j for j in jobs if "codec" in j["wildcards"] or "subset" in j["wildcards"]]
    others = [j for j in jobs if j not in per_codec]
    assert {(j["rule"], j["wildcards"].get("codec", j["wildcards"].get("subset"))) for j in per_codec} == \
        {("resynthesize", codec), ("subset_tables", codec)}, per_codec
    for rule in ("resynthesize", "subset_tables"):
        assert sorted(j["wildcards"]["split"] for j in per_codec if j["rule"] == rule) == sorted(SPLITS), rule
    assert sorted((j["rule"], j["wildcards"].get("split")) for j in others) == \
        sorted(("cors_protocol", split) for split in SPLITS), others


def _edit_registry(workflow: Path, codec: str, change) -> tuple[Path, str]:
    """Apply change(entry) to `codec`'s registry entry in the workflow copy; returns (file, original text)."""
    resources = workflow / "codecfake" / "resources"
    files = sorted(resources.glob("codecs/*.yaml")) + sorted(resources.glob("codecs.yaml"))
    path = next(p for p in files if codec in (yaml.safe_load(p.read_text()) or {}))
    original = path.read_text()
    table = yaml.safe_load(original)
    change(table[codec])
    path.write_text(yaml.safe_dump(table, sort_keys=False))
    return path, original


def test_finished_run_is_up_to_date(finished):
    assert _scheduled(finished) == []


def test_adding_a_codec_schedules_only_its_jobs_and_the_aggregates(finished):
    jobs = _scheduled(finished, tiny_config(finished[1], [*CODECS, ADDED], name="added.yaml"))
    _assert_only(jobs, ADDED)
    assert all("Missing output" in j["reason"] for j in jobs if j["rule"] == "resynthesize")


def test_changing_a_codecs_settings_reruns_only_that_codec(finished):
    def double_bandwidth(entry):
        entry["settings"]["bandwidth"] *= 2

    path, original = _edit_registry(finished[0], "Encodec_6b24k", double_bandwidth)
    try:
        jobs = _scheduled(finished)
    finally:
        path.write_text(original)
    _assert_only(jobs, "Encodec_6b24k")
    assert all("Params have changed" in j["reason"] for j in jobs if j["rule"] == "resynthesize")
    assert _scheduled(finished) == []  # the edit undone: up to date again


def test_changing_a_codecs_weights_revision_reruns_only_that_codec(finished):
    def new_revision(entry):
        pinned = [spec for spec in entry["weights"].values() if isinstance(spec, dict) and "revision" in spec]
        assert pinned, "vocos_encodec_6 has no hub file with a revision"
        pinned[0]["revision"] = "0" * 40

    path, original = _edit_registry(finished[0], "vocos_encodec_6", new_revision)
    try:
        jobs = _scheduled(finished)
    finally:
        path.write_text(original)
    _assert_only(jobs, "vocos_encodec_6")
