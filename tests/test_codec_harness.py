"""`make test-codecs`' harness reports a test process the kernel killed as killed, and one over the memory budget
as a failure (SemantiCodec's once reached 16.8 GB and was OOM-killed; it read as 'pytest wrote no report'), unless
the family is a known exception within its measured peak."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.harness import codec_envs

ENV_FILE = "envs/encodec.yaml"


def fake_interpreter(prefix, body: str):
    """A prefix whose bin/python runs `body` (a shell script) in place of pytest."""
    python = prefix / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!/bin/sh\n{body}\n")
    python.chmod(0o755)
    return prefix


def test_a_killed_test_process_reads_as_killed(tmp_path):
    prefix = fake_interpreter(tmp_path, "kill -KILL $$")
    outcomes, killed, _ = codec_envs.run_tests(prefix, ENV_FILE, ["Encodec_6b24k"], dict(os.environ))
    assert killed == "SIGKILL"
    assert len(outcomes) == 3 and set(outcomes.values()) == {"killed: SIGKILL"}  # two contract tests, the parity file


def test_the_test_process_peak_memory_is_measured(tmp_path):
    """Measured from a fresh interpreter, as `make test-codecs` runs: a child's ru_maxrss starts at what its parent
    had resident when it forked, and this pytest process may hold gigabytes of models by now."""
    prefix = fake_interpreter(tmp_path, f'exec "{sys.executable}" -c "block = b\'x\' * (300 * 2**20)"')
    measure = ("import os; from pathlib import Path; from tests.harness import codec_envs; "
               f"outcomes, killed, peak = codec_envs.run_tests(Path({str(prefix)!r}), {ENV_FILE!r}, ['Encodec_6b24k'], "
               "dict(os.environ)); print(sorted(set(outcomes.values())), killed, peak)")
    proc = subprocess.run([sys.executable, "-c", measure], cwd=codec_envs.REPO, capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(codec_envs.REPO)})
    outcomes, killed, peak_gb = proc.stdout.strip().rsplit(" ", 2)
    assert killed == "None" and outcomes == "['failed: pytest wrote no report']"
    assert 0.29 < float(peak_gb) < 2


def test_a_family_over_the_memory_budget_fails_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(codec_envs, "build", lambda env_file, environ: tmp_path)
    monkeypatch.setattr(codec_envs, "run_tests", lambda *args: ({"t::test_contract[Encodec_6b24k]": "passed"}, None,
                                                                codec_envs.MEMORY_BUDGET_GB + 1))
    assert codec_envs.main(["--only", "encodec"]) == 1
    assert "over the 8 GB budget" in capsys.readouterr().out
    monkeypatch.setattr(codec_envs, "run_tests", lambda *args: ({"t::test_contract[Encodec_6b24k]": "passed"}, None,
                                                                1.0))
    assert codec_envs.main(["--only", "encodec"]) == 0


def test_a_known_exception_is_reported_within_its_measured_peak_and_fails_above_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(codec_envs, "build", lambda env_file, environ: tmp_path)
    monkeypatch.setattr(codec_envs, "OVER_BUDGET", {ENV_FILE: (10.0, "a model of 9 GB")})
    peak = {"gb": 9.5}
    monkeypatch.setattr(codec_envs, "run_tests", lambda *args: ({"t::test_contract[Encodec_6b24k]": "passed"}, None,
                                                                peak["gb"]))
    assert codec_envs.main(["--only", "encodec"]) == 0
    family_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(ENV_FILE))
    assert "peak RSS 9.5 GB, over the 8 GB budget (known: a model of 9 GB)" in family_line
    peak["gb"] = 10.5
    assert codec_envs.main(["--only", "encodec"]) == 1
    assert "above the 10.0 GB measured" in capsys.readouterr().out


def test_every_known_exception_names_a_registry_env_over_the_budget():
    for env_file, (measured, reason) in codec_envs.OVER_BUDGET.items():
        assert env_file in codec_envs.families() and measured > codec_envs.MEMORY_BUDGET_GB and reason


def test_a_generators_env_runs_the_generator_tests():
    """CoSG generators' envs are built and tested like codec families' (MaskGCT: envs/maskgct.yaml)."""
    assert codec_envs.families()["envs/maskgct.yaml"] == ["MaskGCT"]
    assert codec_envs.tests_of(["MaskGCT"]) == [f"{test}[MaskGCT]" for test in codec_envs.GENERATOR_TESTS]
    assert codec_envs.tests_of(["Encodec_6b24k"]) == [f"{codec_envs.CONTRACT}[Encodec_6b24k]",
                                                      f"{codec_envs.FOLLOWS_INPUT}[Encodec_6b24k]"]


def test_an_env_is_built_with_the_post_deploy_script_written_from_its_entry(tmp_path, monkeypatch):
    """As the Snakefile at parse time, the harness writes the script before it builds an env (a fresh checkout has
    none), then runs it in the activated env: for TiCodec, the unpacking of its entry's `upstream`."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "ticodec.yaml").write_bytes((codec_envs.REPO / "envs" / "ticodec.yaml").read_bytes())
    script = tmp_path / "envs" / "ticodec.post-deploy.sh"
    ran = []

    def record(command, **kwargs):
        ran.append((command, script.read_text() if command[0] == "bash" else None))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(codec_envs, "REPO", tmp_path)
    monkeypatch.setattr(codec_envs.subprocess, "run", record)
    codec_envs.build("envs/ticodec.yaml", {})
    (bash, text), = [(command, text) for command, text in ran if command[0] == "bash"]
    assert bash[-1] == str(script)
    assert text.splitlines()[-1].endswith(
        "/envs/post_deploy.py\" source y-ren16 TiCodec 13af0ebad99f01ebbe25ce449b7e33eebc56672e")
