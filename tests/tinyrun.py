"""The one way tests run the workflow: tiny configs, the Snakemake runner, a dry-run parser and output comparison,
shared by every test that drives Snakemake end to end (conda, SLURM, incremental, interrupted, CM, tracing, ...).

Tiny means: a synthetic corpus of 4 speakers (two train, one dev, one eval), 2 utterances each, 0.5-1 s clips,
one shard per split, batches of one utterance (a shard writes its files one by one), two codec families with
random weights, CPU, 1 thread. The targets are the data products (protocols and manifests of the three splits),
not `rule all`, so analysis rules added elsewhere do not change what these tests run. `plain_run` is one such run
without conda or cluster, made once per test session: the other runs are compared with it byte for byte.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SPLITS = ("train", "dev", "eval")
CODECS = ("Encodec_6b24k", "vocos_encodec_6")  # two families, each in its own env
#: What a run produces that users consume; compared byte for byte between runs.
PRODUCT_DIRS = ("protocols", "manifests", "audio")


def tiny_config(workdir: Path, codecs=CODECS, name: str = "tiny.yaml", **overrides) -> Path:
    """Write a tiny config into workdir (results under workdir/results) and return its path."""
    config = {
        "results_dir": "results",
        "corpus": {"root": "results/corpus/VCTK-Corpus-0.92"},
        "demo_corpus": {"speakers": ["p225", "p226", "p227", "p228"], "utterances": 2, "min_seconds": 0.5,
                        "max_seconds": 1.0},
        "split": {"dev": ["p226"], "eval": ["p227"]},
        "shards": {"train": 1, "dev": 1, "eval": 1},
        "codecs": list(codecs),
        "weights": "random",
        "device": "cpu",
        "threads": 1,
        "batch": {"items": 1},
    }
    config.update(overrides)
    path = Path(workdir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def demo_config(workdir: Path, name: str = "config.yaml", **overrides) -> Path:
    """configs/demo.yaml shrunk (one short utterance per speaker, every demo codec and analysis), results under
    workdir/results; overrides replace top-level keys. Returns the config's path."""
    config = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    config.update({"results_dir": "results", "corpus": {"root": "corpus/VCTK-Corpus-0.92"}})
    config["demo_corpus"].update({"utterances": 1, "min_seconds": 0.6, "max_seconds": 1.0})
    config.update(overrides)
    path = Path(workdir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def three_speaker_rows(workdir: Path) -> list[dict]:
    """One 0.5 s utterance for each of p225 (train), p226 (dev) and p227 (eval) under workdir/audio: the smallest
    corpus every split of a run has a row in; the caller adds its own rows and writes the manifest."""
    (workdir / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for speaker in ("p225", "p226", "p227"):
        sf.write(workdir / "audio" / f"{speaker}.wav", np.full(8000, 0.1, np.float32), 16000)
        rows.append({"utt_id": f"{speaker}_001", "speaker": speaker, "path": f"audio/{speaker}.wav"})
    return rows


def targets(splits=SPLITS, results: str = "results") -> list[str]:
    """Protocol and manifest of each split: the data products, and all that leads to them."""
    return [f"{results}/protocols/CoRS_{s}.txt" for s in splits] + [f"{results}/manifests/cors_{s}.tsv"
                                                                     for s in splits]


def job_env(extra: dict | None = None) -> dict:
    """The environment of a run: this interpreter's bin first on PATH (jobs call `python`), hub offline."""
    env = dict(os.environ)
    env["PATH"] = f"{SNAKEMAKE.parent}{os.pathsep}{env.get('PATH', '')}"
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra or {})
    return env


def snakemake_cmd(config: Path, *args: str, snakefile: Path = REPO / "Snakefile") -> list[str]:
    return [str(SNAKEMAKE), "-s", str(snakefile), "--configfile", str(config), *args]


def run(workdir: Path, config: Path, *args: str, snakefile: Path = REPO / "Snakefile", env: dict | None = None,
        check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run Snakemake in workdir; on failure the assertion shows the end of its output."""
    proc = subprocess.run(snakemake_cmd(config, *args, snakefile=snakefile), cwd=workdir, env=job_env(env),
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


_PLAIN_RUNS: list[Path] = []


def plain_run(tmp_path_factory) -> Path:
    """The work dir of the session's plain tiny run (made on first use; tests must not change it)."""
    if not _PLAIN_RUNS:
        workdir = tmp_path_factory.mktemp("plain_run")
        run(workdir, tiny_config(workdir), "--cores", "2", *targets())
        _PLAIN_RUNS.append(workdir)
    return _PLAIN_RUNS[0]


def dry_run_jobs(workdir: Path, config: Path, *args: str, snakefile: Path = REPO / "Snakefile",
                 env: dict | None = None) -> list[dict]:
    """The jobs `snakemake -n` schedules: [{"rule": ..., "wildcards": {...}, "reason": ...}], `all` excluded."""
    proc = run(workdir, config, "-n", *args, snakefile=snakefile, env=env)
    jobs = []
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:)", proc.stdout + "\n" + proc.stderr):
        head = re.match(r"\s*(?:local)?rule (\w+):", block)
        if not head:
            continue
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        reason = re.search(r"^\s+reason: (.*)$", block, re.M)
        resources = re.search(r"^\s+resources: (.*)$", block, re.M)
        jobs.append({"rule": head.group(1), "wildcards": _pairs(wildcards), "resources": _pairs(resources),
                     "reason": reason.group(1) if reason else ""})
    return [job for job in jobs if job["rule"] != "all"]


def _pairs(match) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in match.group(1).split(", ")) if match else {}


def site_profile(dest: Path, partition: str, account: str, **settings) -> Path:
    """A SLURM site profile made from profiles/slurm-site-example with its placeholders filled in."""
    text = (REPO / "profiles" / "slurm-site-example" / "config.yaml").read_text()
    assert "<partition>" in text and "<account>" in text
    profile = yaml.safe_load(text.replace("<partition>", partition).replace("<account>", account))
    profile.update(settings)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return dest


def products(results: Path, splits=SPLITS) -> dict[str, str]:
    """sha256 of every product file (protocols, manifests, audio) of the splits, by path relative to results.

    Hidden files are skipped: they are the `.NAME.*.part` temp files of atomic writes, never outputs (a job killed
    while writing one leaves it behind; no table or manifest lists it)."""
    out = {}
    for folder in PRODUCT_DIRS:
        for path in sorted((Path(results) / folder).rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            relative = path.relative_to(results)  # audio/{subset}/{split}/..., {kind}_{split}.tsv, CoRS_{split}.txt
            split = relative.parts[2] if folder == "audio" else re.split(r"[_.]", path.name)[1]
            if split in splits:
                out[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_same_products(a: Path, b: Path, splits=SPLITS) -> None:
    left, right = products(a, splits), products(b, splits)
    assert left, f"no products under {a}"
    assert sorted(left) == sorted(right), f"different files: {sorted(set(left) ^ set(right))}"
    differ = [name for name in left if left[name] != right[name]]
    assert not differ, f"files differ between {a} and {b}: {differ}"


def copy_workflow(dest: Path) -> Path:
    """A private copy of the workflow (Snakefile, rules, code with its resources, envs, profiles) that a test may
    edit."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "config.yaml", "config.schema.yaml"):
        shutil.copy2(REPO / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("rules", "codecfake", "codec_wrappers", "envs", "profiles"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    return dest


def run_plan(config: dict, results: str = "results", rules=None) -> SimpleNamespace:
    """What a stage plan (codecfake.workflow.StagePlan) reads of the run's Plan, for configs that are not whole
    runs (no corpus, no results_dir)."""
    return SimpleNamespace(config=config, results=results, rules=rules)
