"""Cost of building the full-size DAG: `snakemake -n` on a VCTK-sized manifest for 1, 8 and 31 codecs.

Writes a 44,455-utterance manifest of 110 speakers (VCTK 0.92's size; paths are fake, a dry run opens no audio)
and times a dry run of the default target with the default shard counts (config.schema.yaml), for each codec
count: wall seconds and peak memory of the snakemake process with all its children (RSS summed over the process
tree, polled every 20 ms). With fewer codecs registered than asked for, it uses all registered ones and says
how many. It then counts the SLURM submissions of the largest run through profiles/slurm (group jobs count once,
local rules not at all).

    python benchmarks/dag_scale.py [--codecs 1 8 31] [--keep DIR] [--smoke]

--smoke dry-runs 2 codecs on a 230-utterance manifest (seconds; CI runs it so the script keeps working).

Last line: `dag_seconds_31=<s> dag_mem_mb_31=<mb>` (for the largest count asked, 31 by default).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codecfake import registry  # noqa: E402

UTTERANCES = 44455
SPEAKERS = [f"p{n}" for n in range(225, 335)]  # 110 speakers, p226-p229 (the dev/eval split) among them
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def write_manifest(path: Path, utterances: int) -> None:
    rows = [{"utt_id": f"{spk}_{i + 1:03d}", "speaker": spk, "path": f"/data/vctk/{spk}/{spk}_{i + 1:03d}.flac"}
            for n, spk in enumerate(SPEAKERS)
            for i in range(utterances // len(SPEAKERS) + (n < utterances % len(SPEAKERS)))]
    assert len(rows) == utterances
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)


def write_config(workdir: Path, codecs: list[str], manifest: Path) -> Path:
    config = workdir / f"dag_{len(codecs)}.yaml"
    config.write_text(yaml.safe_dump({"results_dir": str(workdir / "results"),
                                      "corpus": {"manifest": str(manifest)}, "codecs": codecs}))
    return config


def measure(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak MB of the process tree, output) of one command. CPU seconds tell what the
    wall time would be on an idle machine."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root, peak = psutil.Process(proc.pid), 0
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
    reader.start()
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    reader.join()
    output = "".join(chunks)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output[-3000:]}")
    return seconds, cpu, peak / 2**20, output


def count_jobs(output: str) -> int:
    match = re.search(r"^total\s+(\d+)", output, re.M)
    return int(match.group(1)) if match else 0


def local_rules() -> set[str]:
    """Rules marked `localrule: True`: they run on the submit host, never through sbatch (a dry run prints them as
    `rule`, like the others)."""
    names = set()
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        for block in re.split(r"^\s*rule ", path.read_text(), flags=re.M)[1:]:
            if re.search(r"^\s*localrule:\s*True", block, re.M):
                names.add(block.split(":", 1)[0].strip())
    return names


def count_submissions(output: str) -> tuple[int, int]:
    """(submissions, jobs) of a SLURM dry run: each group job and each ungrouped non-local job is one sbatch."""
    groups = len(re.findall(r"^\[.*\] Group job ", output, re.M))
    local = local_rules()
    single = sum(name not in local for name in re.findall(r"^rule (\w+):", output, re.M))  # top-level, ungrouped
    return groups + single, count_jobs(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codecs", type=int, nargs="+", default=[1, 8, 31], help="codec counts to time")
    parser.add_argument("--keep", help="write into this folder and keep it (default: a temp folder)")
    parser.add_argument("--smoke", action="store_true", help="2 codecs, 230 utterances: checks, measures nothing")
    args = parser.parse_args()
    utterances = 230 if args.smoke else UTTERANCES
    if args.smoke:
        args.codecs = [2]

    registered = list(registry.codecs())
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="dag_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = workdir / "manifest.tsv"
    write_manifest(manifest, utterances)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}"}
    print(f"manifest: {utterances} utterances, {len(SPEAKERS)} speakers; {len(registered)} codecs registered")

    results = {}
    for asked in args.codecs:
        codecs = registered[:asked]
        config = write_config(workdir, codecs, manifest)
        cmd = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--configfile", str(config), "-n", "--quiet", "all"]
        seconds, cpu, mem_mb, output = measure(cmd, workdir, env)
        results[asked] = (len(codecs), seconds, mem_mb)
        print(f"codecs asked={asked} used={len(codecs)}: jobs={count_jobs(output)} dag_seconds={seconds:.1f} "
              f"cpu_seconds={cpu:.1f} dag_mem_mb={mem_mb:.0f}")

    # Submissions of the largest run on SLURM (profiles/slurm + the site example; a dry run asks conda only for
    # `info`, so the test harness stands in where conda is absent).
    largest = max(args.codecs)
    site = workdir / "site"
    site.mkdir(exist_ok=True)
    shutil.copy(REPO / "profiles" / "slurm-site-example" / "config.yaml", site / "config.yaml")
    slurm_env = dict(env)
    if shutil.which("conda", path=env["PATH"]) is None:
        slurm_env["PATH"] = f"{REPO / 'tests' / 'harness'}{os.pathsep}{env['PATH']}"
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--configfile",
           str(write_config(workdir, registered[:largest], manifest)), "-n", "--workflow-profile",
           str(REPO / "profiles" / "slurm"), "--profile", str(site), "all"]
    seconds, cpu, mem_mb, output = measure(cmd, workdir, slurm_env)
    submissions, jobs = count_submissions(output)
    print(f"slurm codecs={len(registered[:largest])}: submissions={submissions} jobs={jobs} "
          f"(dry run with the profile: {seconds:.1f} s, {cpu:.1f} CPU s, {mem_mb:.0f} MB)")

    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    used, seconds, mem_mb = results[largest]
    print(f"dag_seconds_{largest}={seconds:.1f} dag_mem_mb_{largest}={mem_mb:.0f}")


if __name__ == "__main__":
    main()
