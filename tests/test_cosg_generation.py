"""The CoSG generation step's plumbing, with a test double in place of a real generator (the real MaskGCT wrapper
and its own tests are the generator side's): 16 kHz output, shard tables, CoSG protocol lines that our readers
take back, rejects, atomic writes, and a bad prompt list stopping with a sentence.

`EchoGenerator` is that double: deterministic, 24 kHz, its output length follows the target text and its level the
prompt's, so a test sees which prompt and text reached which output. It says nothing about any real generator.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.cli import main
from codecfake.cm import evalsets
from codecfake.cosg import generate
from codecfake.cosg.generate import run_generation_shard
from codecfake.cosg.plan import set_root
from codecfake.cosg.prompts import write_prompts
from codecfake.cosg.protocol import write_split
from codecfake.tables import read_tsv

RATE = 24000


@dataclass(frozen=True)
class _Prompt:
    """The interface's Prompt (cosg_wrappers.base), used where that module is not in this checkout."""
    audio: np.ndarray
    prompt_text: str
    target_text: str
    language: str = "en"


@pytest.fixture(autouse=True)
def prompt_class(monkeypatch):
    if importlib.util.find_spec("cosg_wrappers") is None:
        package, base = types.ModuleType("cosg_wrappers"), types.ModuleType("cosg_wrappers.base")
        base.Prompt = _Prompt
        package.base = base
        monkeypatch.setitem(sys.modules, "cosg_wrappers", package)
        monkeypatch.setitem(sys.modules, "cosg_wrappers.base", base)


class EchoGenerator:
    """Test double: 0.01 s of a 440 Hz tone per character of the target text at the prompt's peak level."""
    sample_rate = RATE

    def __init__(self, fail_on: str | None = None, nan_on: str | None = None):
        self.calls: list[list] = []
        self.fail_on, self.nan_on = fail_on, nan_on

    def generate(self, prompts):
        self.calls.append(prompts)
        outputs = []
        for prompt in prompts:
            if prompt.target_text == self.fail_on:
                raise RuntimeError("generator crashed")
            n = int(0.01 * RATE * len(prompt.target_text))
            tone = np.abs(prompt.audio).max() * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)
            outputs.append(np.full(n, np.nan) if prompt.target_text == self.nan_on else tone.astype(np.float32))
        return outputs


def _prompts(tmp_path: Path, texts: dict[str, str], rates=(48000, 16000, 22050)) -> Path:
    """A prompt list of speaker p225 (one row per utt_id: its target text), the prompt audio at various rates."""
    rows = []
    for index, (utt, target) in enumerate(texts.items()):
        rate = rates[index % len(rates)]
        path = tmp_path / "corpus" / f"{utt}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.1 * (index + 1)) * np.sin(np.arange(rate // 2) / 7.0), rate)
        rows.append({"utt_id": utt, "prompt_utt": utt, "speaker": "p225", "split": "eval", "prompt_path": str(path),
                     "prompt_text": f"prompt of {utt}", "target_utt": f"{utt}_next", "target_text": target,
                     "language": "en"})
    listing = tmp_path / "prompts.tsv"
    write_prompts(pd.DataFrame(rows), listing)
    return listing


def _run(tmp_path, listing, generator, shard="000of001", batch_items=2):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    table, rejects = results / f"shards/{shard}.tsv", results / f"shards/{shard}.rejects.tsv"
    stats = run_generation_shard(listing, shard, generator, "MaskGCT", "MASKGCT", results,
                                 set_root(results, "MaskGCT-VCTK"), table, rejects, "random", batch_items)
    return results, table, rejects, stats


def test_outputs_are_16k_and_the_protocol_reads_back(tmp_path):
    listing = _prompts(tmp_path, {"p225_001": "abcde", "p225_002": "abcdefghij", "p225_003": "ab"})
    generator = EchoGenerator()
    results, table, rejects, stats = _run(tmp_path, listing, generator)
    assert [len(call) for call in generator.calls] == [2, 1]  # batch_items=2
    rows = read_tsv(table)
    assert stats.written == 3 and read_tsv(rejects).empty
    folder = results / "audio/cosg/MaskGCT-VCTK/MASKGCT"
    for utt, chars, index in (("p225_001", 5, 0), ("p225_002", 10, 1), ("p225_003", 2, 2)):
        spoof, rate = sf.read(folder / f"{utt}_MaskGCT.wav")
        assert rate == 16000 and len(spoof) == int(0.01 * 16000 * chars)  # 24 kHz resampled to 16 kHz
        assert abs(np.abs(spoof).max() - 0.1 * (index + 1)) < 0.01  # the prompt's level: its own prompt went in
        bonafide, rate = sf.read(folder / f"{utt}.wav")
        assert rate == 16000 and len(bonafide) == 8000  # 0.5 s prompt, resampled from 48 / 16 / 22.05 kHz
    assert set(rows["path"]) == {f"audio/cosg/MaskGCT-VCTK/MASKGCT/{u}{s}.wav" for u in ("p225_001", "p225_002",
                                                                                         "p225_003")
                                 for s in ("", "_MaskGCT")}

    protocol, manifest = results / "protocols/MaskGCT-VCTK_eval.txt", results / "manifests/cosg/MaskGCT-VCTK_eval.tsv"
    write_split([table], [rejects], "MASKGCT", protocol, manifest, results / "manifests/cosg/rejects.tsv")
    assert protocol.read_text().splitlines() == [
        "MASKGCT p225_001 - REAL bonafide", "MASKGCT p225_001_MaskGCT - MVQ spoof",
        "MASKGCT p225_002 - REAL bonafide", "MASKGCT p225_002_MaskGCT - MVQ spoof",
        "MASKGCT p225_003 - REAL bonafide", "MASKGCT p225_003_MaskGCT - MVQ spoof"]
    trials = evalsets.cosg(set_root(results, "MaskGCT-VCTK"), protocol, domain="MaskGCT-VCTK_eval")
    spoof = trials[trials["label"] == "spoof"]
    assert len(trials) == 6 and set(spoof["QUA"]) == {"MVQ"} and set(spoof["AUX"]) == {"Trad"}
    assert set(spoof["DEC"]) == {"FREQ"}  # MaskGCT's row of cosg_systems.tsv: Mvq / None / Freq
    paired = evalsets.cors(manifest, results, domain="MaskGCT-VCTK")  # with speakers and bona fide sources
    assert set(paired["speaker"]) == {"p225"}
    assert dict(zip(paired.loc[paired["label"] == "spoof", "utt_id"], paired.loc[paired["label"] == "spoof",
                                                                                  "source_utt"])) == {
        "p225_001_MaskGCT": "p225_001", "p225_002_MaskGCT": "p225_002", "p225_003_MaskGCT": "p225_003"}
    assert read_tsv(manifest)["target_utt"].tolist()[1] == "p225_001_next"


def test_shards_split_the_list(tmp_path):
    listing = _prompts(tmp_path, {f"p225_00{i}": "abc" for i in range(1, 5)})
    firsts = [set(read_tsv(_run(tmp_path, listing, EchoGenerator(), shard=f"00{i}of002")[1])["source_utt"])
              for i in range(2)]
    assert firsts == [{"p225_001", "p225_002"}, {"p225_003", "p225_004"}]


def test_rejected_outputs_leave_the_protocol_with_their_prompt(tmp_path):
    listing = _prompts(tmp_path, {"p225_001": "abc", "p225_002": "nan please", "p225_003": "abcd"})
    (tmp_path / "corpus/p225_003.flac").write_bytes(b"not audio")
    results, table, rejects, stats = _run(tmp_path, listing, EchoGenerator(nan_on="nan please"))
    reasons = dict(zip(read_tsv(rejects)["utt_id"], read_tsv(rejects)["reason"]))
    assert reasons["p225_002"] == "non-finite output" and reasons["p225_003"].startswith("unreadable")
    protocol = results / "protocols/p.txt"
    write_split([table], [rejects], "MASKGCT", protocol, results / "m.tsv", results / "r.tsv")
    assert protocol.read_text().splitlines() == ["MASKGCT p225_001 - REAL bonafide",
                                                 "MASKGCT p225_001_MaskGCT - MVQ spoof"]
    assert "unpaired: its generation was rejected" in set(read_tsv(results / "r.tsv")["reason"])


def test_a_crash_leaves_no_table_and_no_partial_file(tmp_path):
    listing = _prompts(tmp_path, {"p225_001": "abc", "p225_002": "boom", "p225_003": "abcd"})
    with pytest.raises(RuntimeError, match="generator crashed"):
        _run(tmp_path, listing, EchoGenerator(fail_on="boom"), batch_items=1)
    results = tmp_path / "results"
    assert not (results / "shards").exists()  # no table: Snakemake reruns the job
    written = sorted(p.name for p in results.rglob("*") if p.is_file())
    assert written == ["p225_001.wav", "p225_001_MaskGCT.wav", "p225_002.wav"]  # whole files only, no .part


def _step(listing, results, seed=0) -> int:
    return main(["step", "cosg-generate", "--prompts", str(listing), "--shard", "000of001", "--set", "MaskGCT-VCTK",
                 "--generator", "MaskGCT", "--system", "MASKGCT", "--weights", "random", "--weights-dir", "w",
                 "--seed", str(seed), "--device", "cpu", "--threads", "1", "--batch-items", "1", "--results-dir",
                 str(results), "--table", str(results / "t.tsv"), "--rejects", str(results / "r.tsv")])


def test_bad_prompt_file_is_a_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(generate, "load_generator", lambda *args: EchoGenerator())
    listing = tmp_path / "prompts.tsv"
    listing.write_text("utt_id\tspeaker\np225_001\tp225\n")
    results = tmp_path / "results"
    code = _step(listing, results)
    err = capsys.readouterr().err
    assert code == 2 and "error: prompt list" in err and "lacks column(s) prompt_utt, split, prompt_path" in err
    assert not (results / "t.tsv").exists()


def test_the_step_runs_the_loaded_generator(tmp_path, monkeypatch):
    loaded = []
    monkeypatch.setattr(generate, "load_generator", lambda *args: loaded.append(args) or EchoGenerator())
    results = tmp_path / "results"
    assert _step(_prompts(tmp_path, {"p225_001": "abc"}), results, seed=7) == 0
    assert loaded == [("MaskGCT", "random", 7, "cpu", "w")]
    assert (results / "audio/cosg/MaskGCT-VCTK/MASKGCT/p225_001_MaskGCT.wav").is_file()


def test_utmos_of_a_generated_split_uses_the_cors_scorer(tmp_path):
    from codecfake.cosg.quality import summary, utmos_table
    from codecfake.quality import utmos
    from tests.test_quality_utmos import tiny_ssl

    listing = _prompts(tmp_path, {"p225_001": "abcdefghijkl", "p225_002": "abcdefghijklmnop"})
    results, table, rejects, _ = _run(tmp_path, listing, EchoGenerator())
    manifest = results / "manifests/cosg/MaskGCT-VCTK_eval.tsv"
    write_split([table], [rejects], "MASKGCT", results / "p.txt", manifest, results / "r.tsv")
    model = utmos.build_random(0, tiny_ssl())
    out = results / "quality/cosg/utmos/MaskGCT-VCTK_eval.tsv"
    batch = {"device": "cpu", "batch_items": 2, "batch_seconds": 60.0}
    frame = utmos_table(manifest, results, model, "random", out, **batch)
    rows = read_tsv(manifest)
    assert list(frame["utt_id"]) == list(rows["utt_id"]) and set(frame["set"]) == {"MaskGCT-VCTK"}
    direct = utmos.score_files(model, [str(results / p) for p in rows["path"]], **batch)
    assert np.allclose(frame["utmos"], direct)
    means = summary([out]).set_index("label")["utmos_mean"]
    by_hand = {label: round(float(np.mean([d for d, lab in zip(direct, rows["label"]) if lab == label])), 4)
               for label in ("bonafide", "spoof")}
    assert means.to_dict() == by_hand


def test_fetch_generator_weights_lists_each_verified_checkpoint(monkeypatch, capsys):
    """The fetch rule's table (the codec one's columns): name, key, path, commit ('-' for none), sha256."""
    import codecfake
    from codecfake import weights

    entry = types.SimpleNamespace(name="MaskGCT", protocol_name="MaskGCT",
                                  weights={"t2s": {"hub": "amphion/MaskGCT"}, "w2v": {"url": "https://x/w.pt"}})
    registry = types.ModuleType("codecfake.generator_registry")
    registry.get = {"MaskGCT": entry}.__getitem__
    monkeypatch.setitem(sys.modules, "codecfake.generator_registry", registry)
    monkeypatch.setattr(codecfake, "generator_registry", registry, raising=False)  # even once the real one is loaded
    monkeypatch.setattr(weights, "fetch", lambda e, d: {"t2s": {"commit": "c" * 40, "sha256": "a" * 64},
                                                       "w2v": {"commit": None, "sha256": "b" * 64}})
    monkeypatch.setattr(weights, "local_path", lambda e, spec, d: Path(d) / next(iter(spec.values())).split("/")[-1])
    assert main(["fetch", "generator-weights", "--generators", "MaskGCT", "--weights-dir", "wd"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"MaskGCT\tt2s\twd/MaskGCT\t{'c' * 40}\t{'a' * 64}",
                                                    f"MaskGCT\tw2v\twd/w.pt\t-\t{'b' * 64}"]
