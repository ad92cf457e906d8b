"""Issue 13 through Snakemake: a manifest with a `../` utt_id stops at the manifest step naming the row (or, with
corpus.invalid_ids: reject, is left out and listed) and nothing is written outside the run folder, also when the
results_dir itself holds `;touch ...` and `$(...)` (bars/11-hardening: nothing runs)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.tables import read_tsv
from tests.tinyrun import demo_config, run

ESCAPE = "../../../../../../escaped_rel"
HOSTILE_RESULTS = "results dir;touch pwned_1;$(touch pwned_2)"


def hostile_run(tmp_path, invalid_ids: str, results: str = "results"):
    workdir = tmp_path / "run"
    (workdir / "audio").mkdir(parents=True)
    rows = []
    for speaker in ("p225", "p226", "p227"):
        sf.write(workdir / "audio" / f"{speaker}.wav", np.full(8000, 0.1, np.float32), 16000)
        rows.append({"utt_id": f"{speaker}_001", "speaker": speaker, "path": f"audio/{speaker}.wav"})
    rows.append({"utt_id": ESCAPE, "speaker": "p225", "path": "audio/p225.wav"})
    pd.DataFrame(rows).to_csv(workdir / "manifest.tsv", sep="\t", index=False)
    demo_config(workdir, results_dir=results, corpus={"manifest": "manifest.tsv", "invalid_ids": invalid_ids},
                demo_corpus={"speakers": []}, split={"dev": ["p226"], "eval": ["p227"]},
                shards={"train": 1, "dev": 1, "eval": 1}, codecs=["Encodec_6b24k"], cm={}, trace={})
    return workdir


def files_outside_results(tmp_path, workdir, results: str = "results"):
    made = {workdir / "manifest.tsv", workdir / "config.yaml", *(workdir / "audio").iterdir()}
    return sorted(str(p) for p in tmp_path.rglob("*")
                  if p.is_file() and p not in made and not p.is_relative_to(workdir / results)
                  and not p.is_relative_to(workdir / ".snakemake"))


def test_traversal_utt_id_stops_the_run_naming_the_row(tmp_path):
    workdir = hostile_run(tmp_path, "error")
    result = run(workdir, workdir / "config.yaml", "--cores", "2", "results/corpus/split/train.tsv", check=False)
    assert result.returncode != 0
    log = (workdir / "results/logs/corpus/manifest.log").read_text()
    assert f"manifest.tsv line 5: utt_id '{ESCAPE}' is not a safe identifier" in log
    assert not (workdir / "results/corpus/manifest.tsv").exists()
    assert files_outside_results(tmp_path, workdir) == []


@pytest.mark.parametrize("results", ["results", HOSTILE_RESULTS])
def test_traversal_utt_id_is_quarantined_in_reject_mode(tmp_path, results):
    workdir = hostile_run(tmp_path, "reject", results)
    shards = [f"{results}/shards/bonafide/{s}/000of001.tsv" for s in ("train", "dev", "eval")]
    run(workdir, workdir / "config.yaml", "--cores", "2", *shards)
    rejects = read_tsv(workdir / results / "corpus/manifest.rejects.tsv")
    assert rejects["utt_id"].tolist() == [ESCAPE] and "not a safe identifier" in rejects["reason"].iloc[0]
    assert read_tsv(workdir / results / "corpus/manifest.tsv")["utt_id"].tolist() == ["p225_001", "p226_001",
                                                                                      "p227_001"]
    assert files_outside_results(tmp_path, workdir, results) == []
    assert not list(tmp_path.parent.rglob("escaped_rel*"))
    assert not list(tmp_path.rglob("pwned_*")), "a command in results_dir ran"
