"""`codecfake export`: a results tree made by the protocol step, exported, then read back the way users read it
(Hugging Face `datasets` and Kaldi lists) and compared with the protocol lines; the rule and the licence table."""
from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from codecfake.dataset_card import family_licence, licence_table, licences
from codecfake.errors import UserError
from codecfake.export import FORMATS, ROWS_PER_SHARD, ExportError, export
from codecfake.export_plan import ExportPlan
from codecfake.paths import OutsideResultsError
from codecfake.protocols import write_split
from codecfake.tables import write_tsv_atomic
from tests.tinyrun import REPO, dry_run_jobs, run, run_plan, tiny_config

CODECS = ["Encodec_6b24k", "DAC24"]
SPEAKERS = {"train": ["p225", "p226"], "dev": ["p227"], "eval": ["p228"]}


def results_tree(root, weights="random", corpora=None):
    """Shard tables + 16 kHz files as the workflow's jobs write them, then the protocol step's own writer.
    corpora: speaker -> corpus, for a run over several corpora (rows carry a corpus column)."""
    rng = np.random.default_rng(0)
    for split, speakers in SPEAKERS.items():
        tables = {}
        for subset in ["bonafide", *CODECS]:
            rows = []
            for speaker in speakers:
                for number in (1, 2):
                    source = f"{speaker}_{number:03d}"
                    utt = source if subset == "bonafide" else f"{source}_{subset}"
                    path = f"audio/{subset}/{split}/{utt}.wav"
                    (root / path).parent.mkdir(parents=True, exist_ok=True)
                    sf.write(root / path, rng.uniform(-0.1, 0.1, 1600 * number), 16000)
                    rows.append({"utt_id": utt, "source_utt": source, "speaker": speaker, "split": split,
                                 "subset": subset, "path": path, "samples": str(1600 * number),
                                 "duration": str(0.1 * number), "clipped": "0", "weights": weights,
                                 **({"corpus": corpora[speaker]} if corpora else {})})
            tables[subset] = root / "shards" / subset / f"{split}.tsv"
            write_tsv_atomic(pd.DataFrame(rows), tables[subset])
        write_split([tables["bonafide"]], [tables[c] for c in CODECS], CODECS, [], root / f"protocols/CoRS_{split}.txt",
                    root / f"manifests/cors_{split}.tsv", root / f"manifests/rejects_{split}.tsv")
    return root


def protocol_lines(root):
    return [line for split in SPLITS_ORDER for line in (root / f"protocols/CoRS_{split}.txt").read_text().splitlines()]


SPLITS_ORDER = ("train", "dev", "eval")


def as_line(row) -> str:
    return " ".join([row["speaker"], row["utt_id"], "-", row["AUX"], row["DEC"], row["VQ"], row["label"]])


@pytest.fixture()
def tree(tmp_path):
    return results_tree(tmp_path / "results")


def test_cli_metadata_rows_are_the_protocol_lines(tree):
    proc = subprocess.run([sys.executable, "-m", "codecfake", "export", str(tree)], capture_output=True, text=True,
                          cwd=tree.parent)
    assert proc.returncode == 0, proc.stderr
    metadata = pd.read_csv(tree / "metadata.csv", dtype=str, keep_default_na=False)
    lines = protocol_lines(tree)
    assert len(lines) == 4 * 2 * 3  # 4 speakers x 2 utterances x (bona fide + 2 codecs)
    assert [as_line(r) for r in metadata.to_dict("records")] == lines
    assert all((tree / name).is_file() for name in metadata["file_name"])
    assert metadata["split"].tolist() == [s for s in SPLITS_ORDER for _ in range(len(SPEAKERS[s]) * 6)]
    spoof = metadata[metadata["label"] == "spoof"]
    assert (spoof["file_name"] == "audio/" + spoof["subset"] + "/" + spoof["split"] + "/" + spoof["utt_id"]
            + ".wav").all()
    assert (spoof["utt_id"] == spoof["source_utt"] + "_" + spoof["subset"]).all()
    assert not (tree / "data").exists()  # parquet is opt-in


@pytest.fixture()
def audio_encoder_guard(monkeypatch):
    """datasets' Audio feature imports torchcodec's encoder before storing any value, even a path it stores as is;
    torchcodec needs FFmpeg's shared libraries, absent here. Where it does not import, a module that raises if
    the encoder is ever built stands in (a path is stored without it, so nothing is decoded or encoded)."""
    datasets = pytest.importorskip("datasets")  # it notes torchcodec's absence (no decoder) before the stand-in
    try:
        import torchcodec.encoders  # noqa: F401
    except (ImportError, OSError, RuntimeError):
        package, encoders = types.ModuleType("torchcodec"), types.ModuleType("torchcodec.encoders")

        class AudioEncoder:
            def __init__(self, *args, **kwargs):
                raise AssertionError("datasets tried to encode audio from the metadata's paths")

        encoders.AudioEncoder = AudioEncoder
        package.encoders = encoders
        monkeypatch.setitem(sys.modules, "torchcodec", package)
        monkeypatch.setitem(sys.modules, "torchcodec.encoders", encoders)
    return datasets


def test_loads_as_audiofolder(tree, tmp_path, audio_encoder_guard):
    datasets = audio_encoder_guard
    export(tree, ["audiofolder"])
    loaded = datasets.load_dataset("audiofolder", data_files=str(tree / "metadata.csv"), drop_labels=True,
                                   cache_dir=str(tmp_path / "hf"))
    rows = loaded["train"].cast_column("audio", datasets.Audio(decode=False)).to_list()
    assert [as_line(r) for r in rows] == protocol_lines(tree)
    assert [r["audio"]["path"] for r in rows] == [str(tree / f"audio/{r['subset']}/{r['split']}/{r['utt_id']}.wav")
                                                  for r in rows]
    assert all(r["audio"]["bytes"] is None for r in rows)  # nothing decoded or copied


def test_parquet_shards_load_by_split_with_the_audio_bytes(tree, tmp_path):
    datasets = pytest.importorskip("datasets")
    written = export(tree, ["parquet"], corpus="vctk", rows_per_shard=7)
    assert sorted(p.name for p in written["parquet"]) == [
        "dev-00000-of-00001.parquet", "eval-00000-of-00001.parquet",
        "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]  # 12 train rows, 7 a shard
    loaded = datasets.load_dataset(str(tree), cache_dir=str(tmp_path / "hf"))  # splits from the card's configs
    assert set(loaded) == set(SPLITS_ORDER)
    for split in SPLITS_ORDER:
        rows = loaded[split].cast_column("audio", datasets.Audio(decode=False)).to_list()
        assert [as_line(r) for r in rows] == (tree / f"protocols/CoRS_{split}.txt").read_text().splitlines()
        for r in rows:
            assert r["audio"]["bytes"] == (tree / r["audio"]["path"]).read_bytes()
    assert isinstance(loaded["dev"].features["audio"], datasets.Audio)
    export(tree, ["parquet"], rows_per_shard=100)
    assert sorted(p.name for p in (tree / "data").iterdir()) == [f"{s}-00000-of-00001.parquet"
                                                                 for s in sorted(SPLITS_ORDER)]


def test_kaldi_lists(tree):
    export(tree, ["kaldi"])
    for split in SPLITS_ORDER:
        folder = tree / "kaldi" / split
        protocol = [line.split() for line in (tree / f"protocols/CoRS_{split}.txt").read_text().splitlines()]
        lists = {name: [line.split(" ", 1) for line in (folder / name).read_text().splitlines()]
                 for name in ("wav.scp", "utt2lab", "utt2spk", "spk2utt", "utt2codec")}
        assert [k for k, _ in lists["utt2lab"]] == sorted(f[1] for f in protocol)
        assert dict(lists["utt2lab"]) == {f[1]: f[6] for f in protocol}
        assert dict(lists["utt2spk"]) == {f[1]: f[0] for f in protocol}
        assert {s: set(u.split()) for s, u in lists["spk2utt"]} == {
            s: {f[1] for f in protocol if f[0] == s} for s in SPEAKERS[split]}
        assert {v for _, v in lists["utt2codec"]} == {"bonafide", *CODECS}
        for utt, path in lists["wav.scp"]:
            assert path.startswith("/") and open(path, "rb").read() == (tree / "audio").joinpath(
                dict(lists["utt2codec"])[utt], split, f"{utt}.wav").read_bytes()


def test_card_names_licences_codecs_and_provenance(tree):
    card_path = tree / "audio" / "DAC24" / "eval" / "provenance.json"
    card_path.write_text('{"subset": "DAC24", "split": "eval", "weights": {"mode": "random", "random_weights": true},'
                         ' "config_sha256": "abc", "codecfake_version": "0.1.0"}')
    export(tree, ["audiofolder"], corpus="vctk")
    text = (tree / "README.md").read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert [c["license"] for c in front["source_corpora"]] == ["CC-BY-4.0"]
    assert [(c["name"], c["family"], c["weights"]) for c in front["codecs"]] == [
        ("Encodec_6b24k", "EnCodec", ["random"]), ("DAC24", "DAC", ["random"])]
    licences = {c["family"]: (c["code_license"], c["weights_license"]) for c in front["codecs"]}
    assert licences["DAC"] == ("MIT", "MIT")
    assert licences["EnCodec"][0].startswith("CC-BY-NC-4.0 (encodec 0.1.1")  # the pinned package's own licence
    assert front["provenance"] == [{"subset": "DAC24", "split": "eval", "card": "audio/DAC24/eval/provenance.json",
                                    "weights": "random", "random_weights": True, "weights_sha256": {},
                                    "config_sha256": "abc", "codecfake_version": "0.1.0"}]
    assert "configs" not in front and "Random weights" in text


def test_missing_file_or_manifest_row_is_an_error(tree):
    (tree / "audio/DAC24/dev/p227_002_DAC24.wav").unlink()
    with pytest.raises(ExportError, match="p227_002_DAC24.wav"):
        export(tree)
    manifest = tree / "manifests/cors_eval.tsv"
    manifest.write_text("".join(manifest.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(ExportError, match="p228_002_DAC24"):
        export(tree)
    with pytest.raises(ExportError, match="unknown format"):
        export(tree, ["csv"])


def test_manifest_path_outside_results_or_repeated_is_refused(tree):
    manifest = tree / "manifests/cors_dev.tsv"
    table = pd.read_csv(manifest, sep="\t", dtype=str, keep_default_na=False)
    (tree.parent / "outside.wav").write_bytes(b"RIFF")
    write_tsv_atomic(table.assign(path=table["path"].where(table.index > 0, "../outside.wav")), manifest)
    with pytest.raises(OutsideResultsError):
        export(tree)
    write_tsv_atomic(pd.concat([table, table.iloc[:1]]), manifest)
    with pytest.raises(ExportError, match="twice"):
        export(tree)
    assert not (tree / "metadata.csv").exists()


def test_rule_runs_only_when_configured(tmp_path):
    plain = dry_run_jobs(tmp_path, tiny_config(tmp_path))
    assert "export" not in {job["rule"] for job in plain}
    config = tiny_config(tmp_path, name="export.yaml", export={"formats": ["audiofolder", "kaldi"]})
    jobs = [job for job in dry_run_jobs(tmp_path, config) if job["rule"] == "export"]
    assert len(jobs) == 1


def test_schema_defaults_and_cli_constants_agree():
    schema = yaml.safe_load((REPO / "config.schema.yaml").read_text())["properties"]["export"]["properties"]
    assert schema["parquet_rows"]["default"] == ROWS_PER_SHARD
    assert schema["formats"]["items"]["enum"] == list(FORMATS)


def test_a_family_the_licence_file_does_not_list_is_named_so(monkeypatch):
    monkeypatch.setitem(licences(), "codecs", {k: v for k, v in licences()["codecs"].items() if k != "DAC"})
    assert family_licence("DAC")["weights_license"] == "not listed in codecfake/resources/licences.yaml"
    assert family_licence("EnCodec")["code"] == "https://github.com/facebookresearch/encodec"


def test_readme_licence_table_is_the_rendered_one():
    readme = (REPO / "README.md").read_text()
    assert licence_table() in readme
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.slow  # a tiny workflow run (two codec families, random weights) with the export rule
def test_workflow_exports_what_the_protocols_list(tmp_path):
    config = tiny_config(tmp_path, export={"formats": ["audiofolder", "kaldi"]})
    run(tmp_path, config, "--cores", "2", "results/metadata.csv")
    root = tmp_path / "results"
    metadata = pd.read_csv(root / "metadata.csv", dtype=str, keep_default_na=False)
    assert [as_line(r) for r in metadata.to_dict("records")] == protocol_lines(root)
    assert len(metadata) and all((root / name).is_file() for name in metadata["file_name"])
    front = yaml.safe_load((root / "README.md").read_text().split("---\n")[1])
    assert front["source_corpora"][0]["name"] == "codecfake synthetic demo corpus"  # the tiny config's demo corpus
    assert (root / "kaldi" / "eval" / "wav.scp").is_file()


def test_corpus_column_of_a_run_over_several_corpora(tmp_path):
    corpora = {"p225": "vctk", "p226": "aishell3", "p227": "vctk", "p228": "aishell3"}
    tree = results_tree(tmp_path / "results", corpora=corpora)
    export(tree, ["audiofolder"])
    metadata = pd.read_csv(tree / "metadata.csv", dtype=str, keep_default_na=False)
    assert (metadata["corpus"] == metadata["speaker"].map(corpora)).all()
    assert [as_line(r) for r in metadata.to_dict("records")] == protocol_lines(tree)
    front = yaml.safe_load((tree / "README.md").read_text().split("---\n")[1])
    assert [(c["name"], c["license"]) for c in front["source_corpora"]] == [("AISHELL-3", "Apache-2.0"),
                                                                          ("VCTK 0.92", "CC-BY-4.0")]
    with pytest.raises(UserError, match="unknown corpus 'timit'"):
        export(tree, ["audiofolder"], corpus="timit")


@pytest.mark.parametrize("overrides,expected", [
    ({}, ["--corpus", "vctk"]),
    ({"corpus": {"manifest": "m.tsv"}}, ["--corpus", "unknown"]),
    ({"demo_corpus": {"speakers": ["p225"]}}, ["--corpus", "demo"]),
    ({"corpora": [{"name": "vctk", "demo_speakers": []}, {"name": "aishell3", "demo_speakers": []}]}, []),
    ({"corpora": [{"name": "aishell3", "demo_speakers": ["SSB0005"]}]}, ["--corpus", "demo"]),
    ({"export": {"corpus": "aishell3"}}, ["--corpus", "aishell3"]),
])
def test_rule_names_the_corpus_the_config_reads(overrides, expected):
    config = {"export": {"corpus": None, "formats": ["audiofolder"]}, "demo_corpus": {"speakers": []}, "corpora": [],
              "corpus": {"manifest": None}, **overrides}
    config["export"].setdefault("formats", ["audiofolder"])
    assert ExportPlan(run_plan(config)).corpus_args() == expected
