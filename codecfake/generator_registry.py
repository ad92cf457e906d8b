"""The CoSG generator registry (codecfake/resources/generators/*.yaml, one file per generator) as typed entries.

As the codec registry: adding a generator is its wrapper (cosg_wrappers/<name>.py), its env file and one entry here.
Checkpoint sources obey the codec registry's pin rules (registry.pin_problem) and are fetched and verified by the
same code (codecfake.weights), under `<weights_dir>/<family>/`; the taxonomy classes are the codec registry's.
"""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from codecfake import RESOURCES
from codecfake.registry import TAXONOMY_FIELDS, pin_problem, post_deploy_problem, protocol_labels, shared_env_problems


@dataclass(frozen=True)
class GeneratorEntry:
    name: str
    family: str
    #: The generator's row (`system`) in codecfake/resources/cosg_systems.tsv, the paper's Table IV.
    cosg_system: str
    QUA: str
    AUX: str
    DEC: str
    wrapper: str
    env: str
    sample_rate: int
    licence: str
    settings: dict = field(default_factory=dict)
    architecture: dict = field(default_factory=dict)
    random_architecture: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    #: As a codec entry's (codecfake.registry.CodecEntry): the GitHub-only source its env unpacks, OWNER/REPO@commit.
    upstream: str | None = None
    #: As a codec entry's: a package installed with --no-deps after the env is created.
    pip_no_deps: str | None = None

    @property
    def protocol_name(self) -> str:
        """The name codecfake.weights reports a checkpoint under (a codec's protocol name, a generator's name)."""
        return self.name

    def architecture_params(self, weights: str) -> dict:
        """Hyper-parameters for `weights` (`pretrained`: the released model; `random`: the tiny test model); a
        copy, so a wrapper that edits it cannot change the registry."""
        return copy.deepcopy(self.architecture if weights == "pretrained" else self.random_architecture)

    def wrapper_class(self):
        return importlib.import_module(f"cosg_wrappers.{self.wrapper}").WRAPPER

    def unavailable(self) -> str | None:
        """Why the generator cannot run here, as a sentence naming its env, or None (this env runs it)."""
        try:
            reason = self.wrapper_class().unavailable()
        except ImportError as err:
            reason = str(err)
        return f"{self.name} runs in {self.env} (make test-codecs): {reason}" if reason else None


def entry_problems(fields: dict) -> list[str]:
    """Why an entry cannot be used: taxonomy classes outside the codec registry's, unpinned checkpoints, a malformed
    post-deploy field."""
    labels = protocol_labels()
    problems = [f"{key} {fields.get(key)!r} is not one of {sorted(labels[key])}" for key in TAXONOMY_FIELDS
                if fields.get(key) not in labels[key]]
    for key, spec in (fields.get("weights") or {}).items():
        problem = pin_problem(spec) if isinstance(spec, dict) else "a source is a mapping"
        if problem:
            problems.append(f"checkpoint {key!r}: {problem}")
    problem = post_deploy_problem(fields)
    return problems + ([problem] if problem else [])


@lru_cache(maxsize=None)
def _load(folder: str) -> dict[str, GeneratorEntry]:
    table: dict[str, GeneratorEntry] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        for name, fields in (yaml.safe_load(path.read_text()) or {}).items():
            if name in table:
                raise ValueError(f"{path}: generator {name!r} is registered twice")
            problems = entry_problems(fields)
            if problems:
                raise ValueError(f"{path}: {name}: {'; '.join(problems)}")
            table[name] = GeneratorEntry(name=name, **fields)
    problems = shared_env_problems(table)
    if problems:
        raise ValueError(f"{folder}: {'; '.join(problems)}")
    return table


def generators(folder: Path | None = None) -> dict[str, GeneratorEntry]:
    """All registered generators (codecfake/resources/generators/<name>.yaml), keyed by name."""
    return _load(str(folder or RESOURCES / "generators"))


def get(name: str) -> GeneratorEntry:
    table = generators()
    if name not in table:
        raise KeyError(f"unknown generator {name!r}; registered: {', '.join(table)}")
    return table[name]
