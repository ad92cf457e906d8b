"""The workflow through profiles/slurm on a real single-node SLURM (tests/cluster/slurm_up.sh), like on a cluster:
jobs go through sbatch (SLURM job ids in the log), envs come from the stand-in conda, and the outputs equal a local
run's byte for byte. Needs root and apt-get (to install Debian's slurm-wlm + munge), else skipped.

`make test-cluster` runs this file. The daemons are stopped by pid at the end (tests/cluster/slurm_down.sh).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.tinyrun import REPO, assert_same_products, plain_run, run, site_profile, targets, tiny_config

pytestmark = pytest.mark.slow
CLUSTER = REPO / "tests" / "cluster"
HARNESS = REPO / "tests" / "harness"
SPLITS = ("dev",)  # one split: every kind of job (group jobs, GPU jobs of both families) at half the cost


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root: installs slurm-wlm/munge and runs slurmctld, slurmd and munged")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and there is no apt-get to install it")
    state = tmp_path_factory.mktemp("slurm")
    up = subprocess.run(["bash", str(CLUSTER / "slurm_up.sh"), str(state)], capture_output=True, text=True,
                        timeout=600)
    try:
        if up.returncode == 77:
            pytest.skip(up.stderr.strip().splitlines()[-1])
        assert up.returncode == 0, f"slurm_up.sh failed:\n{up.stderr[-3000:]}"
        yield {"SLURM_CONF": up.stdout.strip().splitlines()[-1].split("=", 1)[1]}
    finally:
        subprocess.run(["bash", str(CLUSTER / "slurm_down.sh"), str(state)], check=False)


def test_slurm_run_submits_jobs_and_equals_a_local_run(slurm, tmp_path, tmp_path_factory):
    workdir = tmp_path / "slurm"
    config = tiny_config(workdir)
    # Site settings of this test cluster: its partition, an account (not enforced without slurmdbd), squeue for
    # job status (no slurmdbd), and a short first status check so the test does not idle.
    site = site_profile(workdir / "site", "debug", "codecfake-test", **{
        "slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 2})
    env = {**slurm, "PATH": f"{HARNESS}{os.pathsep}{os.environ['PATH']}"}
    proc = run(workdir, config, "--workflow-profile", str(REPO / "profiles" / "slurm"), "--profile", str(site),
               *targets(SPLITS), env=env, timeout=1800)
    log = proc.stdout + proc.stderr
    job_ids = set(re.findall(r"submitted with SLURM jobid (\d+)", log))
    assert len(job_ids) >= 2, log[-3000:]
    jobs = len(re.findall(r"Finished jobid: \d+ \(Rule: (?!all\))", log))
    assert len(job_ids) < jobs, f"{len(job_ids)} submissions for {jobs} jobs: short jobs were not grouped"

    # SLURM itself saw them: resynthesis jobs asked for a GPU (the profile's gpu=1 -> --gpus=1).
    records = {}
    for job_id in job_ids:
        shown = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True,
                               env={**os.environ, **slurm})
        if shown.returncode == 0:
            records[job_id] = shown.stdout
    assert records, "slurmctld knows none of the submitted jobs"
    assert all("JobState=COMPLETED" in r for r in records.values()), records
    assert any("gpu" in r for r in records.values() if "resynthesize" in r), records

    assert_same_products(workdir / "results", plain_run(tmp_path_factory) / "results", SPLITS)
