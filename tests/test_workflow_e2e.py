"""The demo workflow end to end: protocols in the published format, every file present and exactly as long as its
bona fide; and bad configs stopping at parse time with the field named."""
from __future__ import annotations

import re

import pandas as pd
import pytest
import soundfile as sf
import yaml

from codecfake.protocols import read_protocol
from tests.tinyrun import demo_config, run

LINE = re.compile(r"^(p\d+) (\S+) - (Trad|SEM|Disent|REAL) (TIME|FREQ|REAL) (MVQ|SVQ|SQ|REAL) (bonafide|spoof)$")
SPLITS = {"train": {"p225", "p230", "p231", "p232"}, "dev": {"p226", "p229"}, "eval": {"p227", "p228"}}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    config = demo_config(workdir)
    targets = [f"results/protocols/CoRS_{s}.txt" for s in SPLITS] + [f"results/manifests/cors_{s}.tsv" for s in SPLITS]
    run(workdir, config, "--cores", "2", *targets)
    return workdir


def test_protocols_match_format_and_cover_every_utterance(demo_run):
    codecs = yaml.safe_load((demo_run / "config.yaml").read_text())["codecs"]
    for split, speakers in SPLITS.items():
        lines = (demo_run / f"results/protocols/CoRS_{split}.txt").read_text().splitlines()
        assert lines and all(LINE.match(line) for line in lines), split
        protocol = read_protocol(demo_run / f"results/protocols/CoRS_{split}.txt")
        bonafide = protocol[protocol.label == "bonafide"]
        assert set(bonafide.speaker) == speakers and bonafide.utt_id.is_unique
        spoof = protocol[protocol.label == "spoof"]
        assert sorted(spoof.utt_id) == sorted(f"{u}_{c}" for u in bonafide.utt_id for c in codecs)


def test_every_file_is_16k_and_as_long_as_its_bonafide(demo_run):
    results = demo_run / "results"
    for split in SPLITS:
        manifest = pd.read_csv(results / f"manifests/cors_{split}.tsv", sep="\t")
        lengths = {}
        for row in manifest.itertuples():
            info = sf.info(results / row.path)
            assert info.samplerate == 16000 and info.subtype == "PCM_16" and info.frames == row.samples
            lengths.setdefault(row.source_utt, set()).add(info.frames)
        assert all(len(found) == 1 for found in lengths.values()), "a resynthesis differs in length"
        assert set(manifest.weights) == {"none", "random"}


def test_bad_config_stops_at_parse_time_naming_the_field(tmp_path):
    config = demo_config(tmp_path, shards={"train": 0})
    result = run(tmp_path, config, "--cores", "2", "-n", check=False)
    assert result.returncode != 0 and "shards" in result.stderr + result.stdout
    config = demo_config(tmp_path, codecs=["Encodec_6b24k", "NotACodec"])
    result = run(tmp_path, config, "--cores", "2", "-n", check=False)
    assert "codecs[1]: unknown codec 'NotACodec'" in result.stderr + result.stdout


def test_absent_corpus_names_expected_path(tmp_path):
    config = demo_config(tmp_path, demo_corpus={}, corpus={"root": "nowhere"})
    result = run(tmp_path, config, "--cores", "2", "-n", check=False)
    assert result.returncode != 0 and "nowhere/wav48_silence_trimmed" in result.stderr + result.stdout
