"""envs/post_deploy.py and the harness's pip-line rewrite: GitHub-only sources from a local mirror, at the pinned
commit only, and the post-deploy scripts all going through that one helper."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _module(name: str, path: Path):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


post_deploy = _module("post_deploy", REPO / "envs" / "post_deploy.py")
harness = _module("harness_conda", REPO / "tests" / "harness" / "conda")


def _tarball(folder: Path, name: str, top: str) -> Path:
    path = folder / name
    with tarfile.open(path, "w:gz") as archive:
        data = b"VALUE = 42\n"
        info = tarfile.TarInfo(f"{top}/pkgmod.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_source_comes_from_the_mirror_onto_the_import_path(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _tarball(mirror, f"someone-Thing-{COMMIT}.tar.gz", f"Thing-{COMMIT}")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    run = subprocess.run([str(env / "bin" / "python"), str(REPO / "envs" / "post_deploy.py"), "source", "someone",
                          "Thing", COMMIT], env={"CODECFAKE_UPSTREAM_MIRROR": str(mirror), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True)
    assert f"Thing-{COMMIT}" in run.stdout
    value = subprocess.run([str(env / "bin" / "python"), "-c", "import pkgmod; print(pkgmod.VALUE)"],
                           capture_output=True, text=True, check=True).stdout
    assert value.strip() == "42"


def test_a_tarball_of_another_commit_is_refused(tmp_path, monkeypatch):
    _tarball(tmp_path, f"someone-Thing-{COMMIT}.tar.gz", f"Thing-{'f' * 40}")
    monkeypatch.setenv(post_deploy.MIRROR_VARIABLE, str(tmp_path))
    with pytest.raises(SystemExit, match="is not Thing at"):
        post_deploy.mirrored_tarball("someone", "Thing", COMMIT)


def test_a_missing_tarball_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(post_deploy.MIRROR_VARIABLE, str(tmp_path))
    with pytest.raises(SystemExit, match=f"no someone-Thing-{COMMIT}.tar.gz in the mirror"):
        post_deploy.mirrored_tarball("someone", "Thing", COMMIT)


def test_pip_git_lines_use_the_mirror_only_when_configured(tmp_path, monkeypatch):
    tarball = _tarball(tmp_path, f"someone-Thing-{COMMIT}.tar.gz", f"Thing-{COMMIT}")
    line = f"thing @ git+https://github.com/someone/Thing@{COMMIT}"
    monkeypatch.delenv(post_deploy.MIRROR_VARIABLE, raising=False)
    assert harness.from_mirror(line) == line
    monkeypatch.setenv(post_deploy.MIRROR_VARIABLE, str(tmp_path))
    assert harness.from_mirror(line) == f"thing @ {tarball.as_uri()}"
    assert harness.from_mirror("numpy==2.4.6") == "numpy==2.4.6"


def test_every_pinned_source_of_the_env_files_is_in_the_shared_helper_form():
    """No post-deploy script carries its own download code, and each pinned GitHub source names a full commit."""
    for script in sorted((REPO / "envs").glob("*.post-deploy.sh")):
        text = script.read_text()
        assert "urllib" not in text and "codeload" not in text, f"{script.name} downloads by itself"
        for owner, repo, commit in re.findall(r"post_deploy\.py\" source (\S+) (\S+) (\S+)", text):
            assert re.fullmatch(r"[0-9a-f]{40}", commit), f"{script.name}: {owner}/{repo}@{commit}"


def test_torchvision_guard_leaves_valid_python_that_skips_the_fake_registrations():
    """The rewrite of torchvision's two unguarded fake registrations: valid code that registers nothing without
    torchvision's C++ ops, and still registers with them."""
    source = ('import torch, torchvision\n'
              '@torch.library.register_fake("torchvision::nms")\n'
              'def meta_nms(dets, scores, iou_threshold):\n'
              '    return dets\n')
    patched = post_deploy.guard_fake_registrations(source)
    assert patched != source
    calls = []

    class Library:
        @staticmethod
        def register_fake(name):
            calls.append(name)
            return lambda function: function

    for has_ops in (False, True):
        namespace = {}
        fake_torch = type("torch", (), {"library": Library})
        extension = type("extension", (), {"_has_ops": lambda ops=has_ops: ops})
        fake_torchvision = type("torchvision", (), {"extension": extension})
        exec(compile(patched.replace("import torch, torchvision\n", ""), "meta", "exec"),
             {"torch": fake_torch, "torchvision": fake_torchvision}, namespace)
        assert namespace["meta_nms"]("dets", None, 0.5) == "dets"
    assert calls == ["torchvision::nms"]
