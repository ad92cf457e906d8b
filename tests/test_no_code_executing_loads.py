"""No file is ever loaded in a way that can run code: the project's code never asks for a full unpickle (scanned
below), and every loader refuses a planted pickle whose unpickling would create a marker file, naming the file,
with the marker never created. This file is the one place a full unpickle appears: to show the planted file is live.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codec_wrappers._checkpoints import UnsafeCheckpoint, checkpoint_loads, mark_verified
from codecfake import codec_loading, registry, weights
from codecfake.cli import main
from codecfake.cm.presets import resolve
from codecfake.errors import UserError
from tests.cm_fixtures import ARCH, one_thread, tone_noise_trials  # noqa: F401 (autouse)
from tests.test_weights import Marker

ROOT = Path(__file__).resolve().parents[1]
SCANNED = [*(ROOT / "codecfake").rglob("*.py"), *(ROOT / "codec_wrappers").rglob("*.py"),
           *(ROOT / "cosg_wrappers").rglob("*.py"),
           *(ROOT / "envs").glob("*.py"), *(ROOT / "envs").glob("*.sh"), *(ROOT / "benchmarks").rglob("*.py"),
           *(ROOT / "tests").rglob("*.py"), *(ROOT / "rules").glob("*.smk"), ROOT / "Snakefile"]
#: What fully unpickles (or runs) a file: torch's full pickle, pickle itself, TorchScript, dill, joblib, numpy's
#: object arrays, pandas' pickles, PyYAML's object tags, a hub repository's own code.
FORBIDDEN = {
    "weights_only=False": re.compile(r"weights_only\s*[=:]\s*False|[\"']weights_only[\"']\s*:\s*False"),
    "pickle.load(s)": re.compile(r"\bpickle\.loads?\s*\("),
    "Unpickler(": re.compile(r"Unpickler\s*\("),
    "torch.jit.load": re.compile(r"\bjit\.load\b"),
    "dill": re.compile(r"^\s*(import|from)\s+dill\b|\bdill\.", re.M),
    "joblib.load": re.compile(r"\bjoblib\.load\b"),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "pandas read_pickle": re.compile(r"\bread_pickle\s*\("),
    "yaml.load / unsafe_load": re.compile(r"\byaml\.(load|unsafe_load|full_load)\s*\("),
    "trust_remote_code=True": re.compile(r"trust_remote_code\s*=\s*True"),
}


def plant(path: Path, marker: Path, key: str = "state_dict") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({key: Marker(marker), "model": {"w": torch.ones(1)}}, path)
    return path


def test_code_asks_for_no_full_unpickle():
    found = []
    for path in SCANNED:
        if path == Path(__file__).resolve():
            continue
        text = path.read_text()
        found += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {what}"
                  for what, pattern in FORBIDDEN.items() for m in pattern.finditer(text)]
    assert not found, "\n".join(found)


def test_the_scan_finds_what_it_forbids():
    assert all(pattern.search(sample) for pattern, sample in zip(FORBIDDEN.values(), [
        "torch.load(f, weights_only=False)", "pickle.loads(b)", "pickle.Unpickler(f).load()", "torch.jit.load(p)",
        "import dill", "joblib.load(p)", "np.load(p, allow_pickle=True)", "pd.read_pickle(p)", "yaml.load(text)",
        "from_pretrained(repo, trust_remote_code=True)"]))


def test_the_planted_file_is_live(tmp_path):
    """Fully unpickled, the planted file creates its marker (what every test below shows does not happen)."""
    marker = tmp_path / "ran"
    path = plant(tmp_path / "evil.pt", marker)
    torch.load(path, weights_only=False)
    assert marker.exists()


# -- codec checkpoints --------------------------------------------------------------------------------------------
NOT_PICKLES = {".json", ".yaml", ".yml", ".safetensors", ".npy"}
CHECKPOINTS = [(name, key) for name, entry in sorted(registry.codecs().items())
               for key, spec in entry.weights.items()
               if key not in ("config", "stats", "centroids")
               and weights.local_path(entry, spec, Path("/")).suffix not in NOT_PICKLES]


def test_every_family_with_a_pickled_checkpoint_is_covered():
    """Only Mimi ships nothing torch.load reads (safetensors); every other family is in CHECKPOINTS."""
    families = {entry.family for entry in registry.codecs().values()}
    assert families - {registry.get(name).family for name, _ in CHECKPOINTS} == {"Mimi"}


@pytest.mark.parametrize(("name", "key"), CHECKPOINTS)
def test_a_verified_planted_codec_checkpoint_is_refused(tmp_path, name, key):
    """Under the configuration's own file name, sha256-verified: checkpoint_loads() (inside which every wrapper and
    the upstream code it calls reads its files) refuses it."""
    entry, marker = registry.get(name), tmp_path / "ran"
    path = plant(weights.local_path(entry, entry.weights[key], tmp_path / "w"), marker)
    mark_verified(path, hashlib.sha256(path.read_bytes()).hexdigest())
    with checkpoint_loads():
        with pytest.raises(UnsafeCheckpoint, match=re.escape(str(path))):
            torch.load(path, map_location="cpu")
        with pytest.raises(UnsafeCheckpoint, match=re.escape(str(path))):
            torch.load(path, weights_only=False)  # as upstream code may ask: overruled
    assert not marker.exists()


def test_released_formats_load_under_the_allowlist(tmp_path):
    """Training checkpoints' Python objects (argparse Namespaces, paths, numpy scalars and arrays, defaultdicts)
    come back as themselves or as plain data, with the weights."""
    import argparse
    import collections

    path = tmp_path / "train.pth"
    torch.save({"model": {"w": torch.ones(2)}, "args": argparse.Namespace(lr=1e-4, out=Path("/exp")),
                "metrics": {"best_pesq": np.float64(3.5)}, "stats": np.arange(3),
                "cache": collections.defaultdict(dict, {"a": {"b": 1}})}, path)
    with checkpoint_loads():
        loaded = torch.load(path)
    assert loaded["args"] == argparse.Namespace(lr=1e-4, out=Path("/exp")) and loaded["metrics"]["best_pesq"] == 3.5
    assert loaded["stats"].tolist() == [0, 1, 2] and loaded["cache"] == {"a": {"b": 1}}
    assert loaded["model"]["w"].sum() == 2


def test_fairseq_dictionaries_load_only_once_fairseq_is_loaded(tmp_path, monkeypatch):
    """HuBERT's task state holds fairseq Dictionary objects: rebuilt from their attributes, no fairseq code run;
    named by a file when fairseq is not loaded, refused."""
    import sys
    import types

    module = types.ModuleType("fairseq.data.dictionary")

    class Dictionary:
        def __init__(self):
            self.symbols, self.indices = ["<s>", "a"], {"<s>": 0, "a": 1}

        def __len__(self):
            return len(self.symbols)

    Dictionary.__module__, Dictionary.__qualname__, module.Dictionary = module.__name__, "Dictionary", Dictionary
    for parent in ("fairseq", "fairseq.data"):  # pickle imports the module path to find the class
        monkeypatch.setitem(sys.modules, parent, sys.modules.get(parent, types.ModuleType(parent)))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = tmp_path / "hubert.pt"
    torch.save({"task_state": {"dictionaries": [Dictionary()]}, "model": {"w": torch.ones(1)}}, path)
    with checkpoint_loads():
        assert len(torch.load(path)["task_state"]["dictionaries"][0]) == 2
    monkeypatch.delitem(sys.modules, module.__name__)
    with checkpoint_loads(), pytest.raises(UnsafeCheckpoint, match="fairseq.data.dictionary.Dictionary"):
        torch.load(path)


@pytest.mark.parametrize("name", ["DAC24", "Encodec_24b24k", "vocos_encodec_12"])
def test_wrapper_loaders_refuse_a_planted_checkpoint(tmp_path, monkeypatch, name):
    """The wrappers importable here, through their own load path (CodecWrapper.load -> load_pretrained -> the
    package's loader), with every file planted and verified."""
    pytest.importorskip("encodec")
    monkeypatch.setattr("encodec.model._check_checksum", lambda path, checksum: None)  # as if the prefix matched
    wrapper, marker = codec_loading.create(name), tmp_path / "ran"
    files = {key: plant(weights.local_path(wrapper.entry, spec, tmp_path / "w"), marker)
             for key, spec in wrapper.entry.weights.items()}
    for path in files.values():
        mark_verified(path, hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(UnsafeCheckpoint, match="names Python objects outside the checkpoint allowlist"):
        wrapper.load(files=files)
    assert not marker.exists()


# -- our countermeasures and tracers --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    return tone_noise_trials(tmp_path_factory.mktemp("trials"))


def cm_spec(epochs=1):
    spec = resolve("aasist", ARCH, {"epochs": epochs, "batch_size": 4, "crop_samples": 4000, "rawboost": 0})
    spec["seed"] = 0
    return spec


def test_cm_resume_refuses_a_planted_epoch_checkpoint(trials, tmp_path):
    from codecfake.cm.train import train

    marker = tmp_path / "ran"
    planted = plant(tmp_path / "cm" / "checkpoints" / "epoch_0001.pt", marker)
    with pytest.raises(UserError, match=f"{re.escape(str(planted))}: not a training checkpoint that loads"):
        train(cm_spec(), trials, trials, tmp_path / "cm", device="cpu", progress=False)
    assert not marker.exists()


def test_cm_best_model_refuses_a_planted_best_pt(trials, tmp_path):
    """A finished run reruns without training (its last epoch checkpoint is current) and copies best.pt."""
    from codecfake.cm.train import train

    train(cm_spec(), trials, trials, tmp_path / "cm", device="cpu", progress=False)
    marker = tmp_path / "ran"
    planted = plant(tmp_path / "cm" / "checkpoints" / "best.pt", marker)
    with pytest.raises(UserError, match=f"{re.escape(str(planted))}: not a best-model checkpoint that loads"):
        train(cm_spec(), trials, trials, tmp_path / "cm", device="cpu", progress=False)
    assert not marker.exists()


@pytest.fixture
def clip(tmp_path):
    sf.write(tmp_path / "clip.wav", (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32), 16000)
    return str(tmp_path / "clip.wav")


@pytest.mark.parametrize("command", [
    lambda evil, clip: ["trace", clip, "--checkpoint", evil],
    lambda evil, clip: ["detect", clip, "--checkpoint", evil],
    lambda evil, clip: ["detect", clip, "--model", "aasist", "--checkpoint", evil],
], ids=["trace", "detect", "detect-model"])
def test_user_commands_refuse_a_planted_checkpoint(tmp_path, clip, capsys, command):
    marker = tmp_path / "ran"
    evil = str(plant(tmp_path / "evil.pt", marker))
    assert main(command(evil, clip)) == 2
    err = capsys.readouterr().err
    assert f"{evil}: not a CM checkpoint that loads without running code" in err and "Traceback" not in err
    assert not marker.exists()


def test_trace_refuses_a_planted_codecfake_tracer(tmp_path, clip, capsys, monkeypatch):
    marker = tmp_path / "ran"
    evil = str(plant(tmp_path / "evil.pt", marker))
    monkeypatch.setenv("CODECFAKE_TRACER", evil)
    assert main(["trace", clip]) == 2
    assert f"{evil}: not a CM checkpoint that loads" in capsys.readouterr().err
    assert not marker.exists()


def test_trace_evaluate_refuses_a_planted_model(tmp_path, trials, capsys):
    marker = tmp_path / "ran"
    evil = str(plant(tmp_path / "evil.pt", marker))
    trials.to_csv(tmp_path / "trials.tsv", sep="\t", index=False)
    assert main(["step", "trace-evaluate", "--model", evil, "--trials", str(tmp_path / "trials.tsv"),
                 "--tracer", "t", "--eval-set", "dev", "--out-dir", str(tmp_path / "out"), "--device", "cpu",
                 "--threads", "1"]) == 2
    assert f"{evil}: not a CM checkpoint that loads" in capsys.readouterr().err
    assert not marker.exists()


def test_cm_score_refuses_a_planted_model(tmp_path):
    from codecfake.cm.scoring import load_cm

    marker = tmp_path / "ran"
    evil = plant(tmp_path / "model.pt", marker)
    with pytest.raises(UserError, match=f"{re.escape(str(evil))}: not a CM checkpoint that loads"):
        load_cm(evil, torch.device("cpu"))
    assert not marker.exists()


def test_utmos_refuses_a_planted_state_dict(tmp_path):
    from codecfake.quality import utmos

    marker = tmp_path / "ran"
    evil = plant(tmp_path / "utmos.pt", marker)
    with pytest.raises(UserError, match=f"{re.escape(str(evil))}: not a UTMOS22 state dict that loads"):
        utmos.load_pretrained(evil)
    assert not marker.exists()


def test_our_checkpoints_load_weights_only(trials, tmp_path):
    """What training writes (epoch checkpoints with optimiser, scheduler, RNG states and history; best.pt; model.pt)
    reads back with weights_only=True."""
    from codecfake.cm.train import train

    train(cm_spec(), trials, trials, tmp_path / "cm", device="cpu", progress=False)
    for path in [tmp_path / "cm" / "model.pt", *(tmp_path / "cm" / "checkpoints").glob("*.pt")]:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        assert "fingerprint" in loaded, path
    assert json.dumps(torch.load(tmp_path / "cm" / "model.pt", weights_only=True)["spec"])  # plain data
