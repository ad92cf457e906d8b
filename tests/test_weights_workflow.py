"""Issue 17 through Snakemake, on a tiny manifest with `weights: pretrained`: a pickle planted as EnCodec's
checkpoint and one planted as DAC's, each with a hand-written record in weights.lock.json, run nothing (the pickles
would create a marker file) and stop the run with a message naming the file: at the fetch step, and at
`step resynthesize` when a checksums table left from an earlier fetch makes Snakemake skip the fetch."""
from __future__ import annotations

import hashlib
import json
import pickle

import pandas as pd

from codecfake import registry, weights
from tests.test_weights import Marker
from tests.tinyrun import demo_config, run, targets, three_speaker_rows

CODECS = ("Encodec_6b24k", "DAC24")


def planted_run(tmp_path):
    """A tiny run folder (three one-utterance speakers) whose weights folder holds the planted pickles, their
    hand-written lock records, and the marker path they would create."""
    workdir = tmp_path / "run"
    rows = three_speaker_rows(workdir)
    pd.DataFrame(rows).to_csv(workdir / "manifest.tsv", sep="\t", index=False)
    config = demo_config(workdir, corpus={"manifest": "manifest.tsv"}, demo_corpus={"speakers": []},
                         split={"dev": ["p226"], "eval": ["p227"]}, shards={"train": 1, "dev": 1, "eval": 1},
                         codecs=list(CODECS), weights="pretrained", weights_dir="weights", cm={}, trace={})
    marker = tmp_path / "marker"
    payload = pickle.dumps({"state_dict": Marker(marker)})
    planted, lock = [], {}
    for name in CODECS:
        entry = registry.get(name)
        (spec,) = entry.weights.values()
        path = weights.local_path(entry, spec, workdir / "weights")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        planted.append(path)
        lock[str(path.relative_to(workdir / "weights"))] = {
            "source": weights.source(spec), "commit": None, "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload)}
    (workdir / "weights" / weights.LOCK_FILE).write_text(json.dumps(lock))
    return workdir, config, planted, marker


def test_planted_checkpoints_stop_the_fetch_step_and_run_nothing(tmp_path):
    workdir, config, planted, marker = planted_run(tmp_path)
    proc = run(workdir, config, "--cores", "1", "--keep-going", *targets(), check=False)
    assert proc.returncode != 0
    for name, path in zip(CODECS, planted):
        log = (workdir / "weights" / "logs" / f"{name}.log").read_text()
        assert f"{name}: checkpoint 'model'" in log and f"{path.relative_to(workdir)}: sha256" in log, log
        assert "does not match the expected" in log
        assert "downloads are off (HF_HUB_OFFLINE=1)" in log
        assert not path.exists()
    assert not marker.exists()
    assert not (workdir / "weights" / "checksums").exists() or not any((workdir / "weights" / "checksums").iterdir())


def test_planted_checkpoints_stop_step_resynth_when_the_fetch_is_skipped(tmp_path):
    workdir, config, planted, marker = planted_run(tmp_path)
    (workdir / "weights" / "checksums").mkdir()
    for name in CODECS:  # as if fetch_weights had run before the files were swapped
        (workdir / "weights" / "checksums" / f"{name}.tsv").write_text("")
    proc = run(workdir, config, "--cores", "1", "--keep-going", *targets(), check=False)
    assert proc.returncode != 0
    for name, path in zip(CODECS, planted):
        logs = sorted((workdir / "results" / "logs" / "resynth" / name).rglob("*.log"))
        assert logs, f"{name}: no resynth job ran:\n{proc.stderr[-3000:]}"
        texts = [log.read_text() for log in logs]  # the first job refuses and deletes it; the next find it gone
        assert any(f"codecfake step resynthesize: error: {path.relative_to(workdir)}: sha256" in text and
                   "does not match the expected" in text for text in texts), texts
        assert all("codecfake step resynthesize: error:" in text for text in texts), texts
        assert not path.exists()
    assert not marker.exists()
    assert not list((workdir / "results").rglob(f"audio/{CODECS[0]}/**/*.wav"))
