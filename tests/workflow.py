"""Running the workflow from tests: a tiny demo config in a temp dir, snakemake as users call it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def tiny_config(workdir: Path, **overrides) -> Path:
    """The demo config shrunk: one short utterance per speaker, every configured codec."""
    config = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    config.update({"results_dir": "results", "corpus": {"root": "corpus/VCTK-Corpus-0.92"}})
    config["demo_corpus"].update({"utterances": 1, "min_seconds": 0.6, "max_seconds": 1.0})
    config.update(overrides)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{SNAKEMAKE.parent}:{os.environ['PATH']}"}
    command = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-5000:]}")
    return result
