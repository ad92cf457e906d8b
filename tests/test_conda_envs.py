"""`snakemake --use-conda` for real, against the stand-in conda of tests/harness (a venv per env file).

Proves that each job runs in the env its rule names and sees only that env's packages: the harness records, for
every Python process in an env, sys.prefix and the file of every module it imported. The first run on a machine
builds the venvs (~1-2 min; cached in ~/.cache/codecfake-test-envs, or $CODECFAKE_TEST_ENVS).
"""
from __future__ import annotations

import json
import os
import subprocess
import sysconfig
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from codecfake import registry
from codecfake.envcheck import read_env
from codecfake.post_deploy_scripts import pip_names, script_text
from tests.tinyrun import CODECS, REPO, assert_same_products, plain_run, run, targets, tiny_config

pytestmark = pytest.mark.slow
HARNESS = REPO / "tests" / "harness"
CORE_ENV = "envs/core.yaml"
SPLITS = ("dev",)  # one split runs every step (corpus, bona fide, each codec, protocol) at half the cost


@pytest.fixture(scope="module")
def conda_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("conda_run")
    log = workdir / "harness.jsonl"
    config = tiny_config(workdir)
    env = {"PATH": f"{HARNESS}{os.pathsep}{os.environ['PATH']}", "CODECFAKE_HARNESS_LOG": str(log)}
    run(workdir, config, "--cores", "2", "--use-conda", *targets(SPLITS), env=env, timeout=1200)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return workdir, events


def _env_prefixes(workdir: Path, events: list[dict]) -> dict[str, Path]:
    """env file (relative to the repo) -> the prefix Snakemake created for it (it copies the file to PREFIX.yaml)."""
    out = {}
    for event in (e for e in events if e["event"] == "create"):
        content = Path(event["env_file"]).read_text()
        matches = [p for p in sorted((REPO / "envs").glob("*.yaml")) if p.read_text() == content]
        assert len(matches) == 1, f"{event['env_file']} matches {matches}"
        out[str(matches[0].relative_to(REPO))] = Path(event["prefix"])
    return out


def _jobs(events: list[dict]) -> list[dict]:
    """Python processes that ran a `python -m codecfake step <name>` job."""
    return [e for e in events
            if e["event"] == "python" and e["argv"] and e["argv"][0].endswith("codecfake/__main__.py")]


def test_every_job_ran_in_its_rules_env(conda_run):
    workdir, events = conda_run
    prefixes = _env_prefixes(workdir, events)
    expected_envs = {CORE_ENV} | {registry.get(c).env for c in CODECS}
    assert set(prefixes) == expected_envs
    jobs = _jobs(events)
    assert {job["argv"][1] for job in jobs} == {"step"}
    steps = {job["argv"][2] for job in jobs}
    assert {"demo-corpus", "corpus-manifest", "split-speakers", "bonafide-16k", "resynthesize",
            "cors-protocol"} <= steps
    for job in jobs:
        argv = job["argv"]
        env_file = registry.get(argv[argv.index("--codec") + 1]).env if argv[2] == "resynthesize" else CORE_ENV
        assert job["prefix"] == str(prefixes[env_file]), f"{argv[1:4]} ran in {job['prefix']}, not {env_file}"
        assert Path(job["executable"]).parent == prefixes[env_file] / "bin"


def test_jobs_loaded_only_their_envs_packages(conda_run):
    """Every module a job imported comes from its env, the interpreter's standard library or the workflow."""
    _, events = conda_run
    stdlib = [Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib")]
    workflow = [REPO / "codecfake", REPO / "codec_wrappers"]
    for job in _jobs(events):
        env = Path(job["prefix"]).resolve()
        for module, file in job["modules"].items():
            path = Path(file).resolve()
            inside = [root for root in [env, *workflow] if path.is_relative_to(root)]
            if not inside:
                assert any(path.is_relative_to(root) for root in stdlib) and "site-packages" not in path.parts, \
                    f"{job['argv'][1:3]} imported {module} from {path}, outside its env {env}"
    resynth = {job["argv"][job["argv"].index("--codec") + 1]: set(job["modules"])
               for job in _jobs(events) if job["argv"][1:3] == ["step", "resynthesize"]}
    assert {"encodec", "torch"} <= resynth["Encodec_6b24k"] and "vocos" not in resynth["Encodec_6b24k"]
    assert {"vocos", "torch"} <= resynth["vocos_encodec_6"]


def test_each_env_has_only_its_familys_packages(conda_run):
    """In the env of one family the other families' packages do not import (e.g. no dac, no vocos in EnCodec's)."""
    workdir, events = conda_run
    prefixes = _env_prefixes(workdir, events)
    requires = {}  # env file -> modules its families need
    every_module = set()
    for entry in registry.codecs().values():
        try:
            modules = set(entry.wrapper_class().requires)
        except ImportError:  # a wrapper whose own imports are missing here still names its env
            continue
        requires.setdefault(entry.env, set()).update(modules)
        every_module |= modules
    requires[CORE_ENV] = set()
    probe = ("import importlib.util, json, sys; "
             "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))")
    for env_file, prefix in prefixes.items():
        modules = sorted(every_module | {"torch"})
        found = json.loads(subprocess.run([str(prefix / "bin" / "python"), "-c", probe, *modules], check=True,
                                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}).stdout)
        own = requires[env_file]
        assert all(found[m] for m in own), f"{env_file} lacks its own packages: {own}"
        pinned = set(read_env(REPO / env_file).pins)
        foreign = {m for m in every_module - own if canonicalize_name(m) not in pinned and found[m]}
        assert not foreign, f"{env_file} can import other families' packages: {foreign}"
        assert found["torch"] == (env_file != CORE_ENV), f"{env_file}: torch importable = {found['torch']}"


def test_post_deploy_scripts_ran(conda_run):
    """Snakemake ran, for each env that needs one, the post-deploy script the Snakefile wrote from the registry when
    it was parsed (Snakemake keeps the copy it ran at `<prefix>.post-deploy.sh`); where the env file pins torchaudio
    (PyPI's wheel is a CUDA build) that script made it importable."""
    workdir, events = conda_run
    prefixes = _env_prefixes(workdir, events)
    assert any(script_text(REPO / env_file) for env_file in prefixes), "no env of this run needs a post-deploy script"
    for env_file, prefix in prefixes.items():
        text = script_text(REPO / env_file)
        ran = Path(f"{prefix}.post-deploy.sh")
        assert (ran.read_text() if ran.exists() else None) == text, env_file
        if "torchaudio" in pip_names(REPO / env_file):
            subprocess.run([str(prefix / "bin" / "python"), "-c", "import torchaudio"], check=True)


def test_conda_outputs_equal_a_plain_run(conda_run, tmp_path_factory):
    """The pinned envs reproduce the development environment's outputs byte for byte."""
    workdir, _ = conda_run
    assert_same_products(workdir / "results", plain_run(tmp_path_factory) / "results", SPLITS)
