"""What the Snakefile needs at parse time: paths, shard names, codec envs and the checks a config must pass.

Everything here is derived from the validated config and the registry, without reading the corpus, so building
the DAG costs the same for 100 utterances as for 44,455.
"""
from __future__ import annotations

import inspect
import json
import os
import re
from functools import cache
from pathlib import Path

from snakemake.common import overwrite_function_params

from codecfake import registry
from codecfake.corpus_plan import CorpusPlan
from codecfake.errors import UserError
from codecfake.registry import BONAFIDE
from codecfake.rule_outputs import output_path
from codecfake.shard import shard_name
from codecfake.split import SPLITS


def results_folder(value: str) -> str:
    """config `results_dir` without trailing slashes, refused where every output would land in the filesystem root
    (empty, `/`) or where Snakemake would read a path as a pattern ({ } are its wildcards)."""
    folder = value.rstrip("/")
    if not value.strip():
        raise UserError("config results_dir is empty: name the folder the run writes into, e.g. results/vctk")
    if not folder or Path(folder).resolve() == Path("/"):
        raise UserError(f"config results_dir {value!r} is the filesystem root: every output would be written "
                        f"under /; name a folder for the run, e.g. results/vctk")
    if "{" in folder or "}" in folder:
        raise UserError(f"config results_dir {value!r} holds {{ or }}, which Snakemake reads as wildcards in every "
                        f"output path; rename the folder without braces")
    return folder


class Plan:
    """The run itself (corpus -> shards -> 16 kHz -> CoRS protocols) and what every stage plan starts from: the
    validated config, the workflow folder and the workflow's rules (Snakemake's `rules`, read when a path is
    asked for, so each output path is written once, in the rule that makes it)."""
    splits = SPLITS

    def __init__(self, config: dict, basedir: str | Path, rules=None):
        self.config = config
        self.basedir = Path(basedir)
        self.rules = rules
        self.results = results_folder(config["results_dir"])
        self.codecs = list(config["codecs"])
        known = registry.codecs()
        for index, name in enumerate(self.codecs):
            if name not in known:
                raise UserError(f"config codecs[{index}]: unknown codec {name!r}; `codecfake codecs` lists the "
                                f"{len(known)} registered configurations")
        #: The corpus rules' inputs and step arguments (rules call plan.corpus.*).
        self.corpus = CorpusPlan(config)

    # -- shards ------------------------------------------------------------------------------------------
    def shards(self, split: str) -> list[str]:
        count = self.config["shards"][split]
        return [shard_name(index, count) for index in range(count)]

    def shard_outputs(self, key: str):
        """An input function: output `key` (table, rejects) of every shard job of the subset and split, by the
        pattern of the rule that writes it (rules.bonafide_16k, rules.resynthesize): the path lives there only."""

        def files(wildcards) -> list[str]:
            producer = self.rules.bonafide_16k if wildcards.subset == BONAFIDE else self.rules.resynthesize
            pattern = str(getattr(producer.output, key))
            return [pattern.format(codec=wildcards.subset, split=wildcards.split, shard=shard)
                    for shard in self.shards(wildcards.split)]

        return job_function(files)

    def split_manifest(self):
        """An input function: the job's split manifest, the split_speakers output of its `split` wildcard."""
        return job_function(lambda wildcards: getattr(self.rules.split_speakers.output, wildcards.split))

    @property
    def subsets(self) -> list[str]:
        """What the shard jobs write, one subset each: bona fide, then the codecs in config order."""
        return [BONAFIDE, *self.codecs]

    def subset_pattern(self) -> str:
        return alternatives(self.subsets)

    def wildcard_constraints(self) -> dict[str, str]:
        return {"codec": alternatives(self.codecs), "split": alternatives(SPLITS), "shard": r"\d+of\d+"}

    def targets(self) -> list[str]:
        """The CoRS protocols and manifests of every split: what a run always makes."""
        protocol = self.rules.cors_protocol
        return [output_path(protocol, key, split=split) for key in ("protocol", "manifest") for split in SPLITS]

    # -- codecs -------------------------------------------------------------------------------------------
    def by_codec(self, method):
        """A rule function (conda env, params) of the job's `codec` wildcard: `method(codec)`."""
        return job_function(lambda wildcards: method(wildcards.codec))

    @cache  # asked once per shard job, like fingerprint
    def env(self, codec: str) -> str:
        return str(self.basedir / registry.get(codec).env)

    @cache  # asked once per shard job (~2,300 at full size); it reads the architecture file
    def fingerprint(self, codec: str) -> str:
        """Everything that defines a codec's output: a change here reruns that codec's jobs, and only those."""
        entry = registry.get(codec)
        return json.dumps({"settings": entry.settings, "weights": entry.weights, "architecture":
                           entry.architecture_params(), "sample_rate": entry.sample_rate,
                           "mode": self.config["weights"]}, sort_keys=True)

    @property
    def pretrained(self) -> bool:
        """Whether codec jobs wait for fetched, verified checkpoints (rule fetch_codec_weights)."""
        return self.config["weights"] == "pretrained"

    def resynth_gpus(self) -> int:
        return 1 if self.config["device"] == "cuda" else 0


class StagePlan:
    """One optional part of the workflow (CMs, CoSG generation, quality, tracing, export, the Codecfake layout) as
    the Snakefile sees it. Every stage has this one shape: built from the run's Plan, read by its rules file for
    inputs, params and resources, asked by `rule all` for its targets (outputs of its rules, none where the config
    leaves the stage off) and by the Snakefile for its wildcard constraints."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.config = plan.config
        self.results = plan.results
        self.rules = plan.rules

    def targets(self) -> list[str]:
        raise NotImplementedError

    def wildcard_constraints(self) -> dict[str, str]:
        return {}


def wildcard_constraints(plans) -> dict[str, str]:
    """The constraints of every plan (the run's and its stages'), one dict for the Snakefile's global
    `wildcard_constraints`; a wildcard two stages constrain differently is a programming error, said at parse."""
    merged: dict[str, str] = {}
    for plan in plans:
        for name, pattern in plan.wildcard_constraints().items():
            if merged.setdefault(name, pattern) != pattern:
                raise ValueError(f"wildcard {name!r} constrained twice: {merged[name]!r} and {pattern!r}")
    return merged


def alternatives(names) -> str:
    """A wildcard pattern matching exactly these names (nothing, for none)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def parent_of(kind: str, key: str | int, levels: int = 1, default: str | None = None):
    """A rule param function: the folder `levels` up from the job's input or output `key` (a name or an index;
    the first file of a list), or `default` where that list is empty for the job. Rules derive the folders a step
    needs from the job's own files, never from a hard-coded path prefix (`snakemake --lint`), so a step sees its
    files wherever Snakemake puts them; each rule's shell quotes it (`:q`), like every path and config value. It is
    the rules' one way to name a folder."""

    def param(wildcards, input, output):
        files = input if kind == "input" else output
        path = files[key] if isinstance(key, int) else getattr(files, key)
        if not isinstance(path, str):
            if not path and default is not None:
                return default
            path = path[0]
        return str(Path(path).parents[levels - 1])

    return job_function(param)


def job_function(function):
    """`function`, with its parameters declared to Snakemake once. Snakemake otherwise inspects the signature of a
    rule's input/params/conda function at every call, twice per job: ~0.3 CPU s of the 2,700-job full VCTK x 31
    DAG (benchmarks/dag_scale.py), most of it in the resynthesis jobs' functions."""
    overwrite_function_params(function, inspect.signature(function).parameters)
    return function


def expose_workflow_dir(basedir: str) -> None:
    """Name the workflow folder in the process environment: Snakemake runs conda post-deploy scripts as copies under
    .snakemake/conda/, and they find envs/post_deploy.py through this variable (the environment reaches them)."""
    os.environ["CODECFAKE_WORKFLOW_DIR"] = str(basedir)
