"""The Snakemake profiles: profiles/default (local runs) and profiles/slurm (+ a site profile), without a cluster.

tests/test_slurm.py runs profiles/slurm against a real single-node SLURM.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.tinyrun import REPO, SNAKEMAKE, dry_run_jobs, site_profile, targets, tiny_config

HARNESS = REPO / "tests" / "harness"

GPU_WORKFLOW = """
rule all:
    input: expand("done/{i}", i=range(4))

rule gpu_job:
    output: "done/{i}"
    resources: gpu=1
    shell: "echo start $(date +%s.%N) >> times; sleep 0.6; echo end $(date +%s.%N) >> times; touch {output}"
"""


def _max_overlap(times: Path) -> int:
    events = sorted((float(t), 1 if kind == "start" else -1)
                    for kind, t in (line.split() for line in times.read_text().splitlines()))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("visible, cap", [("0", 1), ("0,1", 2)])
def test_default_profile_runs_one_gpu_job_per_visible_gpu(tmp_path, visible, cap):
    """4 cores free, but GPU jobs run at most one per GPU (CUDA_VISIBLE_DEVICES here) at a time."""
    (tmp_path / "profiles").mkdir()
    shutil.copytree(REPO / "profiles" / "default", tmp_path / "profiles" / "default")
    (tmp_path / "Snakefile").write_text(GPU_WORKFLOW)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=visible)
    proc = subprocess.run([str(SNAKEMAKE), "--cores", "4"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "workflow specific profile profiles/default" in proc.stderr
    assert _max_overlap(tmp_path / "times") == cap


def test_slurm_profile_with_a_site_profile(tmp_path):
    """profiles/slurm + a filled-in site profile: both apply (no key hides another), GPUs, sizes and groups."""
    config = tiny_config(tmp_path)
    site = site_profile(tmp_path / "site", "gpu-partition", "my-project", **{"slurm-status-command": "squeue"})
    env = {"PATH": f"{HARNESS}{os.pathsep}{os.environ['PATH']}"}  # the profile uses conda; a dry run asks it
    args = ["--workflow-profile", str(REPO / "profiles" / "slurm"), "--profile", str(site), *targets()]
    jobs = dry_run_jobs(tmp_path, config, *args, env=env)
    assert jobs, "nothing scheduled"
    for job in jobs:
        assert job["resources"]["slurm_partition"] == "gpu-partition"
        assert job["resources"]["slurm_account"] == "my-project"
    resynth = [j for j in jobs if j["rule"] == "resynthesize"]
    assert len(resynth) == 6 and all(j["resources"]["gpu"] == "1" for j in resynth)
    assert all(int(j["resources"]["mem_mb"]) >= 8000 and int(j["resources"]["runtime"]) >= 60 for j in resynth)
    assert all("gpu" not in j["resources"] or j["resources"]["gpu"] == "0" for j in jobs if j not in resynth)


def test_slurm_profile_groups_short_jobs(tmp_path):
    """Short jobs are submitted in groups: one submission for the corpus chain, bona fide shards, protocols."""
    config = tiny_config(tmp_path, ["Encodec_6b24k"])
    site = site_profile(tmp_path / "site", "p", "a")
    env = {"PATH": f"{HARNESS}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--configfile", str(config), "-n",
           "--workflow-profile", str(REPO / "profiles" / "slurm"), "--profile", str(site), *targets()]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ, PATH=env["PATH"], HF_HUB_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = (proc.stdout + proc.stderr).splitlines()
    groups = [line.split("Group job ")[1].split()[0] for line in output if "Group job " in line]
    assert sorted(groups) == ["bonafide", "corpus", "protocols"], groups


def test_site_example_leaves_only_site_keys_open():
    """profiles/slurm and the site example share no key, so `--profile <site>` is never hidden by the workflow
    profile (Snakemake lets a workflow profile win over --profile on the same key)."""
    import yaml

    workflow = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    site = yaml.safe_load((REPO / "profiles" / "slurm-site-example" / "config.yaml").read_text())
    assert not set(workflow) & set(site)
    assert workflow["executor"] == "slurm" and "slurm-array-jobs" not in workflow
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert not {"use-conda", "software-deployment-method", "executor"} & set(default)  # local, conda optional
