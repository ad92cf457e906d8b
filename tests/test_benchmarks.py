"""Every script under benchmarks/ runs in its smoke mode (seconds), so none rots unnoticed while
benchmarks/RESULTS.md quotes its figures (resynth_memory.py called a loader removed months before anyone ran it
again)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SCRIPTS = sorted((REPO / "benchmarks").glob("*.py"))
#: What each script's smoke run prints last, so a run that ends early without an error is caught too.
LAST_LINE = {"cm_throughput.py": "crop + RawBoost 5", "cosg_throughput.py": "utterances_per_s=",
             "dag_scale.py": "dag_seconds_2=",
             "resynth_memory.py": "peak_rss_mb=", "resynth_throughput.py": "speedup="}


def test_every_benchmark_has_a_smoke_check():
    assert sorted(LAST_LINE) == [script.name for script in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_benchmark_smoke_mode_runs(script, tmp_path):
    if script.name == "cosg_throughput.py":  # MaskGCT runs in its own env, where `make test-codecs` runs this
        from codecfake.generator_registry import get

        if get("MaskGCT").unavailable():
            pytest.skip(get("MaskGCT").unavailable())
    done = subprocess.run([sys.executable, str(script), "--smoke"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1].startswith(LAST_LINE[script.name]), done.stdout[-2000:]
