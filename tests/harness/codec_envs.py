#!/usr/bin/env python3
"""`make test-codecs`: each codec family's tests inside the env its rules run in, built from `envs/<family>.yaml`.

For every env file the registry names, in turn: build it as `snakemake --use-conda` would, through the stand-in
conda of this folder (`conda env create`, then `envs/<family>.post-deploy.sh` in the activated env, written first
from the registry as the Snakefile writes it), with $CODECFAKE_UPSTREAM_MIRROR (default ../shared/upstream beside
the repository, where it exists) so GitHub-only sources come from the local mirror; then run, with that env's
interpreter, the codec contract tests for each of the family's configurations (the contract, then its
input-dependence margins) and the family's parity tests (tests/parity/test_<family>.py); for a CoSG generator's env
(codecfake/resources/generators/), the generator's contract and input-dependence tests (GENERATOR_TESTS) and its
parity tests (tests/parity/test_<env stem>.py). The venvs are cached by the harness (keyed by the env file's hash;
$CODECFAKE_TEST_ENVS, default ~/.cache/codecfake-test-envs); pytest is added to each one (it is not a codec
dependency, so it is not in the env file).

An env file listed in UNBUILDABLE is not built: the line names the package and why. Its configurations are not
exercised. Each family's line gives its test process's peak resident memory: over MEMORY_BUDGET_GB is a failure
(the suite must survive beside other work on a 24 GB machine) unless OVER_BUDGET names the family, its measured
peak (more still fails) and why the real architecture cannot fit; and a process killed by a signal (the kernel's OOM
killer sends SIGKILL) is reported as killed, each of its tests too. The last line is
`configurations_exercised=N passed=P`: N counts configurations whose contract test ran (passed or failed; not
skipped), P those that passed. Exit status 0 only when nothing that ran failed.

    python tests/harness/codec_envs.py [--only ENV_STEM ...]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from codecfake import generator_registry, post_deploy_scripts, registry  # noqa: E402  (after the sys.path line: run as a script)

#: Env files whose dependencies cannot be installed on the machines this runs on: package and reason.
UNBUILDABLE = {
    "envs/socodec.yaml": "fairseq==0.12.2 (SoCodec's HuBERT analyzer) has no wheel for Python 3.10 or 3.11 and does "
                         "not run on 3.11, so the env is Python 3.10; torch 2.13.0 has no CPU build for 3.10 here "
                         "(the local CPU wheel is cp311, PyPI's Linux wheels are CUDA builds)",
}
CONTRACT = "tests/test_codec_contract.py::test_contract"
#: The contract's input-dependence margins on random weights (an xfail, not a failure, for BELOW_MARGINS).
FOLLOWS_INPUT = "tests/test_codec_contract.py::test_random_weights_output_follows_the_input"
#: A CoSG generator's tests, run per generator in its env (its contract first: counted as a configuration exercised).
GENERATOR_TESTS = ("tests/test_cosg_generator.py::test_contract",
                   "tests/test_cosg_generator.py::test_random_weights_output_follows_the_prompt_and_the_text")
#: Run once in every generator env: the throughput script's smoke mode.
GENERATOR_ENV_TESTS = ("tests/test_benchmarks.py::test_benchmark_smoke_mode_runs[cosg_throughput.py]",)
#: Most resident memory one family's test process may reach (GB of 2**30 bytes).
MEMORY_BUDGET_GB = 8.0
#: Families whose test process cannot stay within MEMORY_BUDGET_GB with the real architecture: the most it may reach
#: (GB: its measured peak and a stated margin; more still fails) and why. Reported on the family's line, not a failure.
OVER_BUDGET = {
    # The contract and input-dependence tests of SemantiCodec_0.35kbps_16k alone peaked at 10.4 GB (ru_maxrss, after
    # the wrapper stopped holding its weights twice while building: 15.7 GB before); the whole family in one process
    # (three configurations, then the parity test, which holds the wrapper's and upstream's 1.40 kbps models in turn)
    # peaked at 14.2 GB in a full `make test-codecs` (was 16.8 GB and OOM-killed beside other work). Upstream's
    # residual LSTM at 0.35 kbps (2 bidirectional layers, 6144 wide) has 1.51 G parameters, the whole model 2.09 G:
    # 8.4 GB of float32 before any activation. That peak was measured on the synthetic utterance alone (no codec2
    # recording installed); the limit adds 1.8 GB for the contract's second speech source where codec2 is installed.
    "envs/semanticodec.yaml": (16.0, "SemantiCodec 0.35 kbps holds 2.09 G float32 parameters, 8.4 GB"),
}


def cache_root() -> Path:
    return Path(os.environ.get("CODECFAKE_TEST_ENVS", Path.home() / ".cache" / "codecfake-test-envs"))


def default_mirror() -> str | None:
    folder = REPO.parent / "shared" / "upstream"
    return str(folder) if folder.is_dir() else None


def families() -> dict[str, list[str]]:
    """env file -> the protocol names of the configurations that run in it, in registry order (codecs, then CoSG
    generators by name)."""
    table = defaultdict(list)
    for entry in registry.codecs().values():
        table[entry.env].append(entry.protocol_name)
    for entry in generator_registry.generators().values():
        table[entry.env].append(entry.name)
    return dict(table)


def tests_of(names: list[str]) -> list[str]:
    """The per-configuration tests of `names`: a codec's contract and margins, a generator's GENERATOR_TESTS."""
    generators = generator_registry.generators()
    return [f"{test}[{name}]" for name in names
            for test in (GENERATOR_TESTS if name in generators else (CONTRACT, FOLLOWS_INPUT))]


def build(env_file: str, environ: dict) -> Path:
    """Create the env (cached by the harness), run its post-deploy script as Snakemake does, add pytest."""
    digest = hashlib.sha256((REPO / env_file).read_bytes()).hexdigest()[:12]  # checkouts of other versions coexist
    prefix = cache_root() / "prefixes" / f"{Path(env_file).stem}-{digest}"
    subprocess.run([sys.executable, str(HERE / "conda"), "env", "create", "--file", str(REPO / env_file),
                    "--prefix", str(prefix)], check=True, env=environ, stdout=sys.stderr)
    post_deploy = post_deploy_scripts.script_path(REPO / env_file)
    post_deploy_scripts.write_scripts(REPO)  # as the Snakefile does when it is parsed
    if post_deploy.exists():
        subprocess.run(["bash", "-c", f'source "{HERE}/bin/activate" "$1" && bash "$2"', "_", str(prefix),
                        str(post_deploy)], check=True, env=environ, cwd=REPO, stdout=sys.stderr)
    if subprocess.run([str(prefix / "bin" / "python"), "-c", "import pytest"], env=environ,
                      capture_output=True, check=False).returncode:
        subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "install", "-qq", "--no-input",
                        "-c", str(REPO / "requirements" / "constraints.txt"), "pytest"],
                       check=True, env=environ, stdout=sys.stderr)
    return prefix


def run_tests(prefix: Path, env_file: str, names: list[str], environ: dict) -> tuple[dict[str, str], str | None, float]:
    """pytest in the env: the contract tests of each configuration and the family's parity tests.
    Returns test id -> outcome (passed, failed, killed: signal, skipped: reason; an xfail reads as skipped), the
    signal that killed pytest (None if it exited) and its peak resident memory in GB."""
    node_ids = tests_of(names)
    if any(name in generator_registry.generators() for name in names):
        node_ids += GENERATOR_ENV_TESTS
    parity = REPO / "tests" / "parity" / f"test_{Path(env_file).stem}.py"
    if parity.exists():
        node_ids.append(str(parity.relative_to(REPO)))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        process = subprocess.Popen([str(prefix / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                    "-rfEs", "--continue-on-collection-errors", f"--junitxml={report}", *node_ids],
                                   cwd=REPO, env={**environ, "PYTHONPATH": str(REPO)}, stdout=sys.stderr,
                                   stderr=sys.stderr)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        peak_gb = usage.ru_maxrss * 1024 / 2**30  # Linux reports KiB
        killed = signal.Signals(-process.returncode).name if process.returncode < 0 else None
        if report.exists():
            return _outcomes(report), killed, peak_gb
    missing = f"killed: {killed}" if killed else "failed: pytest wrote no report"
    return {node: missing for node in node_ids}, killed, peak_gb


def _outcomes(junit: Path) -> dict[str, str]:
    out = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            out[test_id] = "failed"
        elif skipped is not None:
            out[test_id] = f"skipped: {skipped.get('message', '')}"
        else:
            out[test_id] = "passed"
    return out


def generator_config(stems: list[str], out: Path, environ: dict) -> int:
    """Build one generator's env and write `cosg: {python: <its interpreter>}` to `out`, once the generator says,
    inside that env, that it can run there (Amphion's tree, espeak-ng)."""
    envs = {entry.env: name for name, entry in generator_registry.generators().items()
            if Path(entry.env).stem in stems}
    if len(envs) != 1:
        print(f"--generator-config needs --only with one generator env stem, not {stems}", file=sys.stderr)
        return 1
    (env_file, name), = envs.items()
    if not os.environ.get("CODECFAKE_UPSTREAM_MIRROR") and not default_mirror():
        print(f"{env_file}: no upstream mirror ($CODECFAKE_UPSTREAM_MIRROR or ../shared/upstream) to build it offline",
              file=sys.stderr)
        return 1
    try:
        python = build(env_file, environ) / "bin" / "python"
    except subprocess.CalledProcessError as error:
        print(f"{env_file}: could not be built ({error})", file=sys.stderr)
        return 1
    check = (f"from codecfake import generator_registry; reason = generator_registry.get({name!r}).unavailable(); "
             "print(reason or '', end=''); raise SystemExit(bool(reason))")
    done = subprocess.run([str(python), "-c", check], cwd=REPO, env={**environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, check=False)
    if done.returncode:
        print(f"{name} cannot run in {env_file}'s env: {done.stdout or done.stderr[-500:]}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Written by tests/harness/codec_envs.py --generator-config: {name}'s env ({env_file}).\n"
                   f"cosg: {{python: {json.dumps(str(python))}}}\n")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="env file stems to run (default: all)")
    parser.add_argument("--generator-config", metavar="YAML",
                        help="build the env of the one generator named by --only, no tests: write a config overlay "
                             "whose cosg.python is its interpreter (`make demo`); exit 1, saying why, where it "
                             "cannot be built or cannot run the generator")
    args = parser.parse_args(argv)
    mirror = os.environ.get("CODECFAKE_UPSTREAM_MIRROR") or default_mirror()
    environ = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{HERE}{os.pathsep}{os.environ['PATH']}"}
    if mirror:
        environ["CODECFAKE_UPSTREAM_MIRROR"] = str(Path(mirror).resolve())
    if args.generator_config:
        return generator_config(args.only or [], Path(args.generator_config), environ)
    exercised = passed = 0
    failures = []
    start = time.perf_counter()
    for env_file, names in families().items():
        if args.only and Path(env_file).stem not in args.only:
            continue
        if env_file in UNBUILDABLE:
            print(f"{env_file}: not built: {UNBUILDABLE[env_file]}; not exercised: {', '.join(names)}", flush=True)
            continue
        began = time.perf_counter()
        try:
            prefix = build(env_file, environ)
        except subprocess.CalledProcessError as error:
            print(f"{env_file}: FAILED to build ({error}); not exercised: {', '.join(names)}", flush=True)
            failures.append(env_file)
            continue
        built = time.perf_counter() - began
        outcomes, killed, peak_gb = run_tests(prefix, env_file, names, environ)
        for test_id, outcome in outcomes.items():
            name = test_id.rsplit("[", 1)[-1].rstrip("]") if "::test_contract[" in test_id else None
            if name in names and not outcome.startswith("skipped"):
                exercised += 1
                passed += outcome == "passed"
            if outcome.startswith(("failed", "killed")):
                failures.append(test_id)
        memory = f"peak RSS {peak_gb:.1f} GB"
        if killed:
            failures.append(f"{env_file} (test process killed by {killed}, {memory})")
        elif peak_gb > MEMORY_BUDGET_GB:
            memory += f", over the {MEMORY_BUDGET_GB:.0f} GB budget"
            known = OVER_BUDGET.get(env_file)
            if known and peak_gb <= known[0]:
                memory += f" (known: {known[1]})"
            else:
                failures.append(f"{env_file} ({memory}{f', above the {known[0]} GB measured' if known else ''})")
        summary = ", ".join(f"{test_id.split('::')[-1]} {outcome}" for test_id, outcome in outcomes.items())
        print(f"{env_file}: env {built:.0f} s, tests {time.perf_counter() - began - built:.0f} s, {memory}"
              f"{f', killed by {killed}' if killed else ''}: {summary}", flush=True)
    print(f"total {time.perf_counter() - start:.0f} s; failed: {', '.join(failures) or 'none'}")
    print(f"configurations_exercised={exercised} passed={passed}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
