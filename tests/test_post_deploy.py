"""envs/post_deploy.py and the harness's pip-line rewrite: GitHub-only sources from a local mirror, at the pinned
commit only; and the post-deploy scripts written from the registry (codecfake/post_deploy_scripts.py): today's
steps for each env, every step through that one helper, rewritten only when they change."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from codecfake import post_deploy_scripts, registry
from codecfake.errors import UserError

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


#: How each post-deploy step calls the helper, as Snakemake runs the script (a copy under .snakemake/conda/).
CALL = 'python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py"'
#: The steps of the post-deploy scripts that were written by hand before they were derived (copied from them): the
#: derived scripts must run exactly these, in this order. An env absent here needs no script.
EXPECTED_STEPS = {
    "audiodec": ["source facebookresearch AudioDec e451e62580a66fe74426db51d92a6d0d468b70b3", "torchaudio-cpu"],
    "bigcodec": ["source Aria-K-Alethia BigCodec 09845ab1f5bc7a3d1589c16de820ef15bc2afefe"],
    "dac": ["torchaudio-cpu"],
    "encodec": ["torchaudio-cpu"],
    "facodec": ["source open-mmlab Amphion d3de90f02e7f1c7dbc24b04d52fe1b8ef438effe", "torchaudio-cpu"],
    "funcodec": ["no-deps funcodec==0.2.0", "torchaudio-cpu"],
    "hificodec": ["source yangdongchao AcademiCodec b6ac134735f6079543db959a60eb77a7bab4277b"],
    "hilcodec": ["source aask1357 hilcodec 616e8c36e5ee99c32d8bbb65b855e87a9a314abd", "torchaudio-cpu"],
    "languagecodec": ["source jishengpeng Languagecodec f10ffa6e62011a323edb90176496aa4764a5eece", "torchaudio-cpu"],
    "llmcodec": ["source yangdongchao LLM-Codec b1629288a64c7b1f7776858625b37e6409ac41fa"],
    "maskgct": ["source open-mmlab Amphion d3de90f02e7f1c7dbc24b04d52fe1b8ef438effe", "torchaudio-cpu"],
    "semanticodec": ["torchaudio-cpu", "torchvision-cpu"],
    "socodec": ["source hhguo SoCodec 3d35a241bec46aae23cfd8bb7985ce7bb5332ce6", "torchaudio-cpu"],
    "soundstream": ["source yangdongchao AcademiCodec b6ac134735f6079543db959a60eb77a7bab4277b"],
    "speechtokenizer": ["torchaudio-cpu"],
    "sqcodec": ["source yangdongchao SimpleSpeech 6b95cf056ab6476390ded04b720ded3a2ba3e8e0", "torchaudio-cpu"],
    "ticodec": ["source y-ren16 TiCodec 13af0ebad99f01ebbe25ce449b7e33eebc56672e"],
    "vocos": ["torchaudio-cpu"],
    "wavtokenizer": ["source jishengpeng WavTokenizer 5cf440d91ac420ca338f117b7003a77450d64730", "torchaudio-cpu"],
    "xcodec": ["source zhenye234 xcodec a2e52d30b1ea424f76bb6b88357484d8021f3ab3", "torchaudio-cpu"],
}
#: Envs that were created from their file alone, with no post-deploy script.
NO_SCRIPT = ("cm", "core", "export", "mimi", "quality", "snac", "spectral_codecs")


def calls(text: str) -> list[str]:
    """A script's helper calls, without the helper: what the script does."""
    return [line.removeprefix(f"{CALL} ") for line in text.splitlines() if line.startswith(CALL)]


@pytest.mark.parametrize("stem", sorted(EXPECTED_STEPS))
def test_each_env_gets_the_steps_its_hand_written_script_had(stem):
    text = post_deploy_scripts.script_text(REPO / "envs" / f"{stem}.yaml")
    assert text is not None and calls(text) == EXPECTED_STEPS[stem]


@pytest.mark.parametrize("stem", NO_SCRIPT)
def test_an_env_without_post_deploy_needs_gets_no_script(stem):
    assert post_deploy_scripts.script_text(REPO / "envs" / f"{stem}.yaml") is None


def test_the_script_of_a_github_only_family_pinning_torchaudio_is_these_lines():
    """The whole text, as Snakemake runs it: bash, stopping at the first failing step."""
    assert post_deploy_scripts.script_text(REPO / "envs" / "facodec.yaml") == (
        "#!/usr/bin/env bash\n"
        "# Written by codecfake/post_deploy_scripts.py when the workflow is parsed, from\n"
        "# envs/facodec.yaml and the registry entries that name it: edit those, not this file.\n"
        "set -euo pipefail\n"
        'python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" source open-mmlab Amphion '
        "d3de90f02e7f1c7dbc24b04d52fe1b8ef438effe\n"
        'python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py" torchaudio-cpu\n')


@pytest.mark.parametrize("entry", [entry for entry in registry.codecs().values() if entry.upstream],
                         ids=lambda entry: entry.protocol_name)
def test_each_github_only_entry_has_its_env_unpack_its_upstream(entry):
    """Any entry with `upstream:`, a new family's too: its env's script unpacks that commit, with no file beyond the
    wrapper, the env file and the entry."""
    owner_repo, commit = entry.upstream.split("@")
    owner, repo = owner_repo.split("/")
    text = post_deploy_scripts.script_text(REPO / entry.env)
    assert text is not None and f"source {owner} {repo} {commit}" in calls(text)


def test_every_derived_script_is_valid_bash_and_calls_only_the_helper():
    """No derived script carries its own download or install code: each step is a call of envs/post_deploy.py."""
    for env_file in sorted((REPO / "envs").glob("*.yaml")):
        text = post_deploy_scripts.script_text(env_file)
        if text is None:
            continue
        body = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert body[0] == "set -euo pipefail" and all(line.startswith(CALL) for line in body[1:]), env_file.name
        assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0, env_file.name


def project(tmp_path: Path, *stems: str) -> Path:
    """A workflow folder holding copies of some env files (the registry entries name them by envs/<stem>.yaml)."""
    (tmp_path / "envs").mkdir()
    for stem in stems:
        (tmp_path / "envs" / f"{stem}.yaml").write_bytes((REPO / "envs" / f"{stem}.yaml").read_bytes())
    return tmp_path


def test_scripts_are_written_where_needed_and_nothing_is_written_when_unchanged(tmp_path):
    folder = project(tmp_path, "ticodec", "snac")
    script = folder / "envs" / "ticodec.post-deploy.sh"
    assert post_deploy_scripts.write_scripts(folder) == [script]
    assert calls(script.read_text()) == EXPECTED_STEPS["ticodec"]
    assert not (folder / "envs" / "snac.post-deploy.sh").exists()
    before = script.stat()
    assert post_deploy_scripts.write_scripts(folder) == []
    after = script.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(path.name for path in (folder / "envs").iterdir()) == \
        ["snac.yaml", "ticodec.post-deploy.sh", "ticodec.yaml"]  # no temporary file left


def test_an_outdated_script_is_rewritten(tmp_path):
    folder = project(tmp_path, "encodec")
    script = folder / "envs" / "encodec.post-deploy.sh"
    script.write_text("#!/usr/bin/env bash\necho an older version\n")
    assert post_deploy_scripts.write_scripts(folder) == [script]
    assert calls(script.read_text()) == ["torchaudio-cpu"]


def test_registry_values_reach_the_script_as_quoted_arguments(tmp_path, monkeypatch):
    """`pip_no_deps` may hold `!` (a version epoch, as the registry's form allows): one quoted argument in the script,
    which bash still parses."""
    folder = project(tmp_path, "snac")
    entry = SimpleNamespace(env="envs/snac.yaml", upstream=None, pip_no_deps="somepkg==1!2.0")
    monkeypatch.setattr(post_deploy_scripts, "entries_of", lambda env_file: {"somecodec": entry})
    text = post_deploy_scripts.script_text(folder / "envs" / "snac.yaml")
    assert calls(text) == ["no-deps 'somepkg==1!2.0'"]
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


def test_a_stale_written_script_is_removed_and_a_hand_written_one_is_left(tmp_path):
    """An env that no longer needs a script (here: snac, never did; or an env file deleted) loses the one written
    for it; a file this module did not write is not its to delete (codecfake check envs reports it)."""
    folder = project(tmp_path, "encodec", "snac")
    written = post_deploy_scripts.script_text(REPO / "envs" / "encodec.yaml")
    stale = folder / "envs" / "snac.post-deploy.sh"
    stale.write_text(written)
    orphan = folder / "envs" / "gone.post-deploy.sh"
    orphan.write_text(written)
    hand_written = folder / "envs" / "mine.post-deploy.sh"
    hand_written.write_text("#!/usr/bin/env bash\necho mine\n")
    post_deploy_scripts.write_scripts(folder)
    assert not stale.exists() and not orphan.exists()
    assert hand_written.read_text() == "#!/usr/bin/env bash\necho mine\n"
    assert (folder / "envs" / "encodec.post-deploy.sh").read_text() == written


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_envs_folder_is_a_user_error_saying_what_to_do(tmp_path):
    folder = project(tmp_path, "encodec")
    (folder / "envs").chmod(0o555)
    try:
        with pytest.raises(UserError, match="is not writable .*make that folder writable"):
            post_deploy_scripts.write_scripts(folder)
    finally:
        (folder / "envs").chmod(0o755)


def test_a_failed_write_is_a_user_error_saying_what_to_do(tmp_path, monkeypatch):
    """As a read-only envs folder reads to the writer (tests run as root here, which writes anyway)."""
    folder = project(tmp_path, "encodec")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(post_deploy_scripts, "write_text_atomic", refuse)
    with pytest.raises(UserError, match=r"encodec\.post-deploy\.sh must be written .* is not writable "
                                        r"\(Permission denied\): make that folder writable"):
        post_deploy_scripts.write_scripts(folder)


def test_the_no_deps_step_is_the_envs_own_pip_without_requirements(monkeypatch):
    """`no-deps NAME==VERSION` (FunCodec's step) is what its hand-written script ran: `python -m pip install
    --no-deps NAME==VERSION` with the env's interpreter."""
    ran = []
    monkeypatch.setattr(post_deploy.subprocess, "run", lambda command, check: ran.append(command))
    post_deploy.main(["no-deps", "funcodec==0.2.0"])
    assert ran == [[sys.executable, "-m", "pip", "install", "--no-deps", "funcodec==0.2.0"]]


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
