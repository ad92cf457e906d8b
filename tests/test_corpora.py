"""AISHELL-3 beside VCTK: its layout read from a synthetic tree, its locked download, several corpora in one
manifest (a `corpus` column), and the split by utterance (Codecfake's) beside the split by speaker (CoRS's)."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.corpus import CorpusError, read_aishell3, read_corpora
from codecfake.demo import make_corpus
from codecfake.split import SplitError, split_corpora, utterance_labels
from tests.test_corpus_split_shard import make_vctk
from tests.test_weights import RangeHandler

REPO = Path(__file__).resolve().parents[1]
SPEAKERS = ["SSB0005", "SSB0009", "SSB1831"]


def test_synthetic_aishell3_tree_has_the_published_layout_and_is_read_back(tmp_path):
    root = tmp_path / "data_aishell3"
    assert make_corpus(root, SPEAKERS, 3, 0.2, 0.3, seed=1, layout="aishell3") == 9
    wav = root / "train" / "wav" / "SSB0009" / "SSB00090002.wav"
    assert sf.info(wav).samplerate == 44100  # AISHELL-3's native rate
    content = (root / "train" / "content.txt").read_text(encoding="utf-8").splitlines()
    transcripts = dict(line.split("\t") for line in content)
    assert len(transcripts) == 9 and "SSB18310003.wav" in transcripts
    assert (root / "spk-info.txt").read_text().count("SSB") == 3
    # a test-part utterance, and a file whose name is not its folder's speaker (skipped)
    (root / "test" / "wav" / "SSB0005").mkdir(parents=True)
    sf.write(root / "test" / "wav" / "SSB0005" / "SSB00050100.wav", np.zeros(4410, np.float32), 44100)
    (root / "test" / "content.txt").write_text("SSB00050100.wav\t你 ni3 好 hao3\n", encoding="utf-8")
    sf.write(root / "train" / "wav" / "SSB0005" / "SSB00090050.wav", np.zeros(4410, np.float32), 44100)

    manifest, rejects = read_aishell3(root)
    assert rejects.empty and len(manifest) == 10
    assert set(manifest.speaker) == set(SPEAKERS)
    assert manifest.utt_id.tolist() == sorted(manifest.utt_id) and "SSB00090050" not in set(manifest.utt_id)
    assert set(manifest.sample_rate) == {44100} and (manifest.samples > 0).all()
    texts = dict(zip(manifest.utt_id, manifest.text))
    assert texts["SSB00050100"] == "你 ni3 好 hao3"
    assert texts["SSB00090002"] == " ".join(transcripts["SSB00090002.wav"].split())


def test_absent_aishell3_names_the_expected_folders(tmp_path):
    with pytest.raises(CorpusError, match=r"AISHELL-3 not found: expected .*train/wav or .*test/wav"):
        read_aishell3(tmp_path / "nothing")


def test_demo_aishell3_speakers_must_be_ssb_ids(tmp_path):
    with pytest.raises(CorpusError, match="'p225' is not SSB and four digits"):
        make_corpus(tmp_path, ["p225"], 1, 0.2, 0.3, layout="aishell3")


def test_two_corpora_in_one_manifest_carry_a_corpus_column(tmp_path):
    make_vctk(tmp_path / "vctk", speakers=("p225", "p226"), utts=2)
    make_corpus(tmp_path / "aishell3", SPEAKERS[:2], 2, 0.2, 0.3, layout="aishell3")
    manifest, _ = read_corpora({"vctk": tmp_path / "vctk", "aishell3": tmp_path / "aishell3"})
    assert manifest.columns[-1] == "corpus"
    by_corpus = manifest.groupby("corpus").speaker.agg(set).to_dict()
    assert by_corpus == {"vctk": {"p225", "p226"}, "aishell3": set(SPEAKERS[:2])}
    assert set(manifest.loc[manifest.corpus == "vctk", "sample_rate"]) == {48000}
    with pytest.raises(CorpusError, match="unknown corpus 'timit'"):
        read_corpora({"timit": tmp_path})


def _manifest(sizes: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame([{"utt_id": f"{spk}{n:04d}", "speaker": spk} for spk, count in sizes.items()
                         for n in range(count)])


SIZES = {f"SSB{index:04d}": count for index, count in
         enumerate([3, 7, 40, 120, 403, 55, 10, 300, 250, 18, 95, 61])}


def test_utterance_split_is_about_80_10_10_with_every_speaker_everywhere():
    manifest = _manifest(SIZES)
    labels = utterance_labels(manifest, 0.1, 0.1, seed=0)
    shares = labels.value_counts(normalize=True)
    assert abs(shares["train"] - 0.8) < 0.01 and abs(shares["dev"] - 0.1) < 0.01 and abs(shares["eval"] - 0.1) < 0.01
    speakers = set(SIZES)
    for split in ("train", "dev", "eval"):
        assert set(manifest.speaker[labels == split]) == speakers, split
    per_speaker = pd.crosstab(manifest.speaker, labels)
    big = per_speaker.loc["SSB0004"]  # 403 utterances: 40 / 40 / 323
    assert (big["dev"], big["eval"], big["train"]) == (40, 40, 323)
    assert tuple(per_speaker.loc["SSB0000"]) == (1, 1, 1)  # dev, eval, train of the 3-utterance speaker


def test_utterance_split_is_seeded_and_stable():
    manifest = _manifest(SIZES)
    labels = dict(zip(manifest.utt_id, utterance_labels(manifest, 0.1, 0.1, seed=0)))
    shuffled = manifest.sample(frac=1, random_state=3).reset_index(drop=True)
    assert dict(zip(shuffled.utt_id, utterance_labels(shuffled, 0.1, 0.1, seed=0))) == labels
    grown = pd.concat([manifest, _manifest({"SSB9999": 30})], ignore_index=True)  # another speaker joins
    assert {u: s for u, s in zip(grown.utt_id, utterance_labels(grown, 0.1, 0.1, seed=0)) if u in labels} == labels
    reseeded = dict(zip(manifest.utt_id, utterance_labels(manifest, 0.1, 0.1, seed=1)))
    assert sum(reseeded[u] != labels[u] for u in labels) > len(labels) / 10


def test_utterance_split_needs_three_utterances_per_speaker():
    with pytest.raises(SplitError, match="speaker 'SSB0002' has 2 utterance"):
        utterance_labels(_manifest({"SSB0001": 5, "SSB0002": 2}), 0.1, 0.1, seed=0)


def test_each_corpus_split_by_its_own_rule():
    manifest = pd.concat([_manifest(SIZES).assign(corpus="aishell3"),
                          _manifest({"p225": 4, "p226": 4, "p227": 4}).assign(corpus="vctk")], ignore_index=True)
    rules = {"vctk": {"by": "speaker", "dev": ["p226"], "eval": ["p227"]},
             "aishell3": {"by": "utterance", "dev_fraction": 0.1, "eval_fraction": 0.1, "seed": 0}}
    parts = split_corpora(manifest, rules)
    assert sum(map(len, parts.values())) == len(manifest)
    for split, speaker in (("train", "p225"), ("dev", "p226"), ("eval", "p227")):
        assert set(parts[split].speaker[parts[split].corpus == "vctk"]) == {speaker}
        assert set(parts[split].speaker[parts[split].corpus == "aishell3"]) == set(SIZES)
    with pytest.raises(SplitError, match=r"corpora\[vctk\].split.dev: speaker\(s\) p999 not in the corpus"):
        split_corpora(manifest, {**rules, "vctk": {**rules["vctk"], "dev": ["p999"]}})
    with pytest.raises(SplitError, match="corpus 'vctk', which has no split rule"):
        split_corpora(manifest, {"aishell3": rules["aishell3"]})


def _archive(tree) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as handle:
        handle.add(tree, arcname="data_aishell3")  # the published archive has one top-level folder
    return buffer.getvalue()


def test_aishell3_download_locks_the_first_download_and_checks_it_after(tmp_path):
    from codecfake.corpus import download_aishell3

    make_corpus(tmp_path / "tree", SPEAKERS[:1], 1, 0.2, 0.3, layout="aishell3")
    payload = _archive(tmp_path / "tree")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory="/nonexistent"))
    httpd.payload = payload
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/data_aishell3.tgz"
    data = tmp_path / "data"
    try:
        root = download_aishell3(data / "aishell3", url)
        assert read_aishell3(root)[0].utt_id.tolist() == ["SSB00050001"]
        lock = json.loads((data / "weights.lock.json").read_text())
        assert lock["data_aishell3.tgz"]["sha256"] == hashlib.sha256(payload).hexdigest()
        assert lock["data_aishell3.tgz"]["source"] == {"url": url}
        httpd.payload = b""  # a recorded archive on disk is checked, not fetched again
        assert read_aishell3(download_aishell3(data / "second", url))[0].utt_id.tolist() == ["SSB00050001"]
        httpd.payload = payload
        # the archive is kept, and checked against its record before any later extraction
        changed = bytearray(payload)
        changed[len(changed) // 2] ^= 0xFF
        (data / "data_aishell3.tgz").write_bytes(bytes(changed))
        with pytest.raises(Exception, match="does not match"):
            download_aishell3(data / "again", url)
        assert not (data / "data_aishell3.tgz").exists()  # a changed archive is deleted
        # the source now serves other bytes: refused, since the lock recorded the first download
        httpd.payload = _archive(tmp_path / "tree" / "train")
        with pytest.raises(CorpusError, match="now serves sha256"):
            download_aishell3(data / "again", url)
        assert not (data / "again").exists() and not (data / "data_aishell3.tgz").exists()
    finally:
        httpd.shutdown()


def test_aishell3_archive_without_a_record_is_not_adopted(tmp_path):
    from codecfake.corpus import download_aishell3

    planted = tmp_path / "data" / "data_aishell3.tgz"
    planted.parent.mkdir()
    planted.write_bytes(b"planted")
    with pytest.raises(OSError):  # nothing serves the URL: the planted file is deleted, not extracted
        download_aishell3(tmp_path / "data" / "aishell3", "http://127.0.0.1:9/data_aishell3.tgz")
    assert not planted.exists()


@pytest.fixture(scope="module")
def two_corpus_run(tmp_path_factory):
    """A tiny run over VCTK (split by speaker) and AISHELL-3 (split by utterance), both synthetic."""
    from tests.tinyrun import run, targets, tiny_config

    workdir = tmp_path_factory.mktemp("two_corpora")
    corpora = [{"name": "vctk", "root": "results/corpus/VCTK-Corpus-0.92", "demo_speakers": ["p225", "p226", "p227"],
                "split": {"by": "speaker", "dev": ["p226"], "eval": ["p227"]}},
               {"name": "aishell3", "root": "results/corpus/data_aishell3", "demo_speakers": ["SSB0005", "SSB0009"],
                "split": {"by": "utterance"}}]
    config = tiny_config(workdir, codecs=("Encodec_6b24k",), corpora=corpora, demo_corpus={"utterances": 3,
                         "min_seconds": 0.5, "max_seconds": 0.8})
    run(workdir, config, "--cores", "2", *targets())
    return workdir / "results"


def test_two_corpora_run_tags_every_row_and_splits_each_by_its_rule(two_corpus_run):
    from codecfake.protocols import read_protocol
    from codecfake.tables import read_tsv

    manifest = read_tsv(two_corpus_run / "corpus" / "manifest.tsv")
    assert list(manifest.columns)[-1] == "corpus" and len(manifest) == 15
    assert manifest.groupby("corpus").size().to_dict() == {"aishell3": 6, "vctk": 9}
    expected_vctk = {"train": {"p225"}, "dev": {"p226"}, "eval": {"p227"}}
    for split, vctk_speakers in expected_vctk.items():
        cors = read_tsv(two_corpus_run / "manifests" / f"cors_{split}.tsv")
        assert list(cors.columns)[-1] == "corpus"
        assert set(cors.speaker[cors.corpus == "vctk"]) == vctk_speakers
        assert set(cors.speaker[cors.corpus == "aishell3"]) == {"SSB0005", "SSB0009"}  # every speaker, every split
        assert set(cors.corpus) == {"vctk", "aishell3"} and set(cors.label) == {"bonafide", "spoof"}
        source_corpus = dict(zip(manifest.utt_id, manifest.corpus))
        assert all(source_corpus[s] == c for s, c in zip(cors.source_utt, cors.corpus))
        for subset in ("bonafide", "Encodec_6b24k"):
            table = read_tsv(two_corpus_run / "shards" / subset / f"{split}.tsv")
            assert list(table.columns)[-1] == "corpus" and set(table.corpus) == {"vctk", "aishell3"}
        lines = (two_corpus_run / "protocols" / f"CoRS_{split}.txt").read_text().splitlines()
        assert all(len(line.split()) == 7 for line in lines)  # the published line format, no corpus field
        assert sorted(read_protocol(two_corpus_run / "protocols" / f"CoRS_{split}.txt").utt_id) == sorted(cors.utt_id)


def test_a_run_without_corpora_writes_no_corpus_column(tmp_path_factory):
    """VCTK alone (the default) keeps the columns it always had; tests/tinyrun's comparisons keep its bytes."""
    from codecfake import corpus, protocols, resynth
    from codecfake.tables import read_tsv
    from tests.tinyrun import plain_run

    results = plain_run(tmp_path_factory) / "results"
    assert list(read_tsv(results / "corpus" / "manifest.tsv").columns) == corpus.MANIFEST_COLUMNS
    assert list(read_tsv(results / "manifests" / "cors_eval.tsv").columns) == protocols.MANIFEST_COLUMNS
    assert list(read_tsv(results / "shards" / "bonafide" / "eval.tsv").columns) == resynth.SHARD_COLUMNS


def _plan(tmp_path, **config):
    """A CorpusPlan of a config validated (defaults filled) against config.schema.yaml."""
    from snakemake.utils import validate

    from codecfake.corpus_plan import CorpusPlan

    validate(config, str(REPO / "config.schema.yaml"))
    return CorpusPlan(config)


#: The corpus rules' outputs as `rules.<name>.output` shows them (results_dir "results").
RULES = SimpleNamespace(demo_corpus=SimpleNamespace(output=["results/corpus/demo_{corpus}.done"]),
                        fetch_vctk=SimpleNamespace(output=["results/corpus/vctk_download.done"]),
                        fetch_aishell3=SimpleNamespace(output=["results/corpus/aishell3_download.done"]))


def test_corpus_plan_waits_for_downloads_and_demos_and_names_what_is_missing(tmp_path):
    from codecfake.errors import UserError

    aishell3 = {"name": "aishell3", "root": str(tmp_path / "a3"), "split": {"by": "utterance"}}
    plan = _plan(tmp_path, corpora=[{**aishell3, "download": True},
                                    {"name": "vctk", "root": "v", "demo_speakers": ["p225"],
                                     "split": {"by": "speaker", "dev": ["p1"], "eval": ["p2"]}}])
    assert plan.inputs(RULES) == ["results/corpus/aishell3_download.done", "results/corpus/demo_vctk.done"]
    assert plan.manifest_source() == ["--corpus", f"aishell3={tmp_path / 'a3'}", "--corpus", "vctk=v", "--mic", "mic1"]
    rules = [json.loads(arg) for arg in plan.split_args()[1::2]]
    assert rules[0] == {"corpus": "aishell3", "by": "utterance", "dev": [], "eval": [], "dev_fraction": 0.1,
                        "eval_fraction": 0.1, "seed": 0}  # the schema's defaults
    assert plan.demo_args("vctk") == ["--out", "v", "--layout", "vctk", "--speakers", "p225"]
    with pytest.raises(UserError, match=r"corpora\[0\].root: AISHELL-3 not found, expected .*a3/train/wav"):
        _plan(tmp_path, corpora=[aishell3])
    (tmp_path / "a3" / "test" / "wav").mkdir(parents=True)
    assert _plan(tmp_path, corpora=[aishell3]).inputs(RULES) == []
    with pytest.raises(UserError, match=r"corpora\[1\]: aishell3 is listed again \(corpora\[0\]\)"):
        _plan(tmp_path, corpora=[aishell3, {**aishell3, "split": {"by": "utterance", "seed": 1}}])
    with pytest.raises(UserError, match=r"corpora\[0\].split: by speaker needs dev and eval"):
        _plan(tmp_path, corpora=[{**aishell3, "split": {"by": "speaker", "dev": ["SSB0005"]}}])


def test_without_corpora_the_plan_is_the_single_vctk_run(tmp_path):
    plan = _plan(tmp_path, demo_corpus={"speakers": ["p225"]})
    assert plan.inputs(RULES) == ["results/corpus/demo_vctk.done"]
    assert plan.manifest_source() == ["--vctk", "data/VCTK-Corpus-0.92", "--mic", "mic1"]
    assert plan.split_args() == ["--dev", "p226", "p229", "--eval", "p227", "p228"]
