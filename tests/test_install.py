"""A non-editable install works from any folder: the wheel built from this tree, installed into a fresh venv, lists
the registry and scores audio with `detect` and `trace` from a folder outside the checkout (resources are package
data read through importlib.resources, not files beside the package).

The fresh venv gets only the wheel; its dependencies (numpy, pandas, torch...) are reached through a .pth naming
this interpreter's site-packages, so the test needs no network. That .pth adds a path, it does not run the
editable install's hook, so `codecfake` can only be the wheel's (checked)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from codecfake import registry
from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.presets import resolve
from codecfake.trace.model import Tracer, checkpoint_payload
from tests.tinyrun import REPO
from tests.trace_fixtures import ARCH

#: The paper's 31 as the workflow's default codecs (the schema, which the wheel does not carry).
SCHEMA_DEFAULT_CODECS = yaml.safe_load((REPO / "config.schema.yaml").read_text())["properties"]["codecs"]["default"]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "codecfake", "codec_wrappers", "cosg_wrappers")
TINY = {"sinc": {"filters": 12, "kernel": 32}, "encoder": [[1, 4], [4, 8], [8, 8]], "gat_dims": [8, 8]}


def _tracked(folder: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--", folder], cwd=REPO, capture_output=True, text=True, check=True)
    return [p for p in listed.stdout.split() if (REPO / p).exists()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of a copy of this tree (the build never writes into the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    (work / "src").mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, work / "src" / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, work / "src" / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    str(work / "src"), "-w", str(work / "out")], check=True, capture_output=True, text=True)
    (built,) = (work / "out").glob("codecfake-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    folder = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, text=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (folder / purelib / "codecfake-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder


def run_installed(venv, cwd, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_wheel_holds_every_module_and_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = [p for p in _tracked("codecfake") + _tracked("codec_wrappers") + _tracked("cosg_wrappers")
               if p.endswith(".py")]  # and resources
    resources = _tracked("codecfake/resources")
    assert modules and resources
    assert sorted(set(modules + resources) - names) == []
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_codecs_from_another_folder(venv, tmp_path):
    where = run_installed(venv, tmp_path, "python", "-c", "import codecfake; print(codecfake.RESOURCES)")
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    proc = run_installed(venv, tmp_path, "codecfake", "codecs", "--format", "tsv")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:]]
    assert len(rows) == 31 and set(rows) == set(SCHEMA_DEFAULT_CODECS)  # the paper's CoRS set, by default
    proc = run_installed(venv, tmp_path, "codecfake", "codecs", "--all", "--format", "tsv")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:]]
    assert rows == list(registry.codecs())  # the checkout's whole registry, read from the installed package data


def test_detect_and_trace_from_another_folder(venv, tmp_path):
    torch.manual_seed(0)
    spec = resolve("aasist", TINY, {"crop_samples": 8000})
    model = build_model(spec)
    torch.save({"spec": offline_spec(model, spec), "model": model.state_dict(), "epoch": 1}, tmp_path / "cm.pt")
    tracer_spec = resolve("aasist", ARCH, {"crop_samples": 8000})
    torch.save(checkpoint_payload(Tracer(tracer_spec, ["binary", "VQ", "AUX", "DEC"]), tracer_spec, epoch=1),
               tmp_path / "tracer.pt")
    signal = (0.3 * np.sin(np.arange(8000) / 5.0)).astype(np.float32)
    sf.write(tmp_path / "a.wav", signal, 16000, subtype="FLOAT")
    proc = run_installed(venv, tmp_path, "codecfake", "detect", "--checkpoint", "cm.pt", "--json", "a.wav")
    assert proc.returncode == 0, proc.stderr
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(signal)[None])[0]
    assert json.loads(proc.stdout)["logits"] == pytest.approx(expected.tolist(), abs=1e-5)
    proc = run_installed(venv, tmp_path, "codecfake", "trace", "--checkpoint", "tracer.pt", "--json", "a.wav")
    assert proc.returncode == 0, proc.stderr
    assert "score" in proc.stdout
