"""The codec registry (codecfake/resources/codecs/*.yaml, one file per family) as typed entries.

Everything the pipeline knows about a codec configuration comes from this one table, so adding a codec is one
entry here plus its wrapper module and env file.
"""
from __future__ import annotations

import copy
import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from codecfake import RESOURCES
from codecfake.download import COMMIT, COMMIT_PREFIX, SHA256

TAXONOMY_FIELDS = ("QUA", "AUX", "DEC")
#: Subset name of the bona fide audio, beside the codecs' protocol names.
BONAFIDE = "bonafide"
#: The fields of a checkpoint source (codecfake/resources/codecs/README.md): where it comes from, how it is verified.
SOURCE_FIELDS = frozenset({"hub", "revision", "file", "url", "sha256", "lock"})
#: Codecfake's codec test conditions (Xie et al., arXiv 2405.04880, section III-E, Tables I-II): C1-C7 for its codecs
#: F01-F07, C3-1..C3-4 and C4-1..C4-3 for the other configurations of F03 (FunCodec) and F04 (EnCodec).
CODECFAKE_CONDITION = re.compile(r"C[1-7]|C3-[1-4]|C4-[1-3]")
#: `upstream:` of a GitHub-only family: OWNER/REPO@<full commit>, the source its env unpacks (envs/post_deploy.py).
UPSTREAM = re.compile(r"(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<repo>[A-Za-z0-9._-]+)@(?P<commit>[0-9a-f]{40})")
#: `pip_no_deps:`, a package installed without its declared requirements: an exact pin, name==version.
EXACT_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+")
#: The entry fields that say what an env needs after it is created: entries sharing one env file must agree on them
#: (codecfake/post_deploy_scripts.py writes that env's post-deploy script from them).
POST_DEPLOY_FIELDS = ("upstream", "pip_no_deps")


@dataclass(frozen=True)
class CodecEntry:
    protocol_name: str
    id: str
    family: str
    config: str
    arch: str
    QUA: str
    AUX: str
    DEC: str
    wrapper: str
    env: str
    sample_rate: int
    settings: dict = field(default_factory=dict)
    architecture: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    #: Where a paper's own checkpoint is not public (Codecfake released none): what this configuration stands in for,
    #: and the evidence that it is the closest public one (a sentence). None where the paper's checkpoint is used.
    substitute_for: str | None = None
    #: The Codecfake test condition whose codec configuration (rate, bitrate, quantizers) this entry runs, where the
    #: paper's tables settle it; None otherwise. At most one entry per condition.
    codecfake_condition: str | None = None
    #: GitHub-only families (no package pip can install): OWNER/REPO@<40-hex commit> that the env unpacks onto its
    #: import path after it is created; None for a family installed from its env file alone.
    upstream: str | None = None
    #: A package whose declared requirements do not resolve (name==version): installed with --no-deps after the env
    #: is created, the env file holding what it needs; None for most families.
    pip_no_deps: str | None = None

    def architecture_params(self) -> dict:
        """The model's hyper-parameters, written in the entry itself (so a codec needs no file beyond its wrapper,
        env and entry); a copy, so a wrapper that edits it cannot change the registry."""
        return copy.deepcopy(self.architecture)

    def wrapper_class(self):
        module = importlib.import_module(f"codec_wrappers.{self.wrapper}")
        return module.WRAPPER

    def importable(self) -> bool:
        """Whether the family's upstream package imports here (i.e. this env can run the codec)."""
        try:
            cls = self.wrapper_class()
        except ImportError:
            return False
        return all(importlib.util.find_spec(name) is not None for name in cls.requires)


def pin_problem(spec: dict) -> str | None:
    """Why a checkpoint source does not pin fixed, verifiable bytes, or None. A sha256 is a full 64-hex digest (a
    prefix takes minutes to forge); without one the source says `lock: true`. A hub revision is a 40-hex commit,
    or, only for a `lock: true` file, a commit prefix of at least 7 hex digits resolved once at fetch; never a
    branch or tag."""
    if set(spec) - SOURCE_FIELDS:
        return f"unknown fields {sorted(set(spec) - SOURCE_FIELDS)} (a source has {sorted(SOURCE_FIELDS)})"
    if ("hub" in spec) == ("url" in spec):
        return "a source names exactly one of `hub` (with `revision` and `file`) and `url`"
    if "lock" in spec and spec["lock"] is not True:
        return f"`lock` is true or absent, not {spec['lock']!r}"
    if "sha256" in spec:
        if not SHA256.match(str(spec["sha256"])):
            return (f"sha256 {spec['sha256']!r} is not a full 64-hex digest; a prefix identifies a file but never "
                    f"verifies it (give the full sha256, or `lock: true` if none is known)")
        if "lock" in spec:
            return "`sha256` and `lock: true` are exclusive"
    elif spec.get("lock") is not True:
        return "neither `sha256` nor `lock: true`, so nothing could verify it"
    if "hub" in spec:
        revision = str(spec.get("revision", ""))
        if not spec.get("file"):
            return "a hub source names its `file`"
        if not COMMIT.match(revision) and not (COMMIT_PREFIX.match(revision) and spec.get("lock") is True):
            return (f"hub revision {revision!r} is not a pinned 40-hex commit (a commit prefix of 7 or more hex "
                    f"digits is allowed only with `lock: true`; a branch or tag never)")
    return None


def post_deploy_problem(fields: dict) -> str | None:
    """Why an entry's post-deploy fields (POST_DEPLOY_FIELDS) cannot be used, or None. `upstream` names a full commit:
    a branch, tag or short id could unpack other code tomorrow."""
    upstream = fields.get("upstream")
    if upstream is not None:
        if not isinstance(upstream, str) or not UPSTREAM.fullmatch(upstream):
            shape = re.fullmatch(r"[^/@\s]+/[^/@\s]+@(\S+)", upstream) if isinstance(upstream, str) else None
            if shape:
                return (f"`upstream` {upstream!r} names {shape.group(1)!r}, not a full 40-hex commit id (a branch, "
                        f"tag or short id is not a pin)")
            return f"`upstream` is OWNER/REPO@<40-hex commit> (a GitHub-only source), not {upstream!r}"
    no_deps = fields.get("pip_no_deps")
    if no_deps is not None and not (isinstance(no_deps, str) and EXACT_PIN.fullmatch(no_deps)):
        return f"`pip_no_deps` is one exact pin, name==version, not {no_deps!r}"
    return None


def shared_env_problems(entries: dict[str, object]) -> list[str]:
    """Entries that run in one env but disagree on what it needs after it is created (its one post-deploy script)."""
    first: dict[tuple[str, str], tuple[str, object]] = {}
    problems = []
    for name, entry in entries.items():
        for key in POST_DEPLOY_FIELDS:
            value = getattr(entry, key)
            other, seen = first.setdefault((entry.env, key), (name, value))
            if seen != value:
                problems.append(f"{name} and {other} share {entry.env} but name different `{key}`: {value!r} and "
                                f"{seen!r} (one env, one post-deploy script)")
    return problems


@lru_cache(maxsize=None)
def _load(folder: str) -> dict[str, CodecEntry]:
    table: dict[str, CodecEntry] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        for name, fields in (yaml.safe_load(path.read_text()) or {}).items():
            if name in table:
                raise ValueError(f"{path}: codec {name!r} is registered twice")
            if not isinstance(fields.get("architecture", {}), dict):
                raise ValueError(f"{path}: {name}'s `architecture` is the model's hyper-parameters, written in the "
                                 f"entry, not {fields['architecture']!r}")
            substitute = fields.get("substitute_for")
            if substitute is not None and not (isinstance(substitute, str) and substitute.strip()):
                raise ValueError(f"{path}: {name}'s `substitute_for` says, in a sentence, which checkpoint it stands "
                                 f"in for and why it is the closest public one, not {substitute!r}")
            condition = fields.get("codecfake_condition")
            if condition is not None and not CODECFAKE_CONDITION.fullmatch(str(condition)):
                raise ValueError(f"{path}: {name}'s `codecfake_condition` {condition!r} is not one of Codecfake's "
                                 f"codec test conditions (C1-C7, C3-1..C3-4, C4-1..C4-3)")
            claimed = [other.protocol_name for other in table.values() if condition and other.codecfake_condition ==
                       condition]
            if claimed:
                raise ValueError(f"{path}: {name} and {claimed[0]} both claim Codecfake condition {condition}")
            problem = post_deploy_problem(fields)
            if problem:
                raise ValueError(f"{path}: {name}: {problem}")
            table[name] = CodecEntry(protocol_name=name, **fields)
    problems = shared_env_problems(table)
    if problems:
        raise ValueError(f"{folder}: {'; '.join(problems)}")
    return table


def codecs(folder: Path | None = None) -> dict[str, CodecEntry]:
    """All registered configurations (codecfake/resources/codecs/<family>.yaml), keyed by protocol name."""
    return _load(str(folder or RESOURCES / "codecs"))


def codecfake_plus_set() -> list[str]:
    """The paper's 31 CoRS configurations (codecfake/resources/taxonomy.tsv, its Table III): the default `codecs` of
    a run and of `codecfake codecs`; the registry may hold more (Codecfake's SoundStream, a codec a user adds)."""
    lines = (RESOURCES / "taxonomy.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    column = rows[0].index("protocol_name")
    return [row[column] for row in rows[1:]]


def get(name: str) -> CodecEntry:
    table = codecs()
    if name not in table:
        raise KeyError(f"unknown codec {name!r}; registered: {', '.join(table)}")
    return table[name]


@lru_cache(maxsize=None)
def protocol_labels() -> dict:
    """Paper taxonomy class -> spelling in the published protocol files (codecfake/resources/protocol_labels.yaml)."""
    return yaml.safe_load((RESOURCES / "protocol_labels.yaml").read_text())


def protocol_taxonomy(entry: CodecEntry | None) -> dict[str, str]:
    """The AUX/DEC/VQ columns of a protocol line; REAL for bona fide (entry None)."""
    labels = protocol_labels()
    if entry is None:
        return {"AUX": labels["bonafide"], "DEC": labels["bonafide"], "VQ": labels["bonafide"]}
    return {"AUX": labels["AUX"][entry.AUX], "DEC": labels["DEC"][entry.DEC], "VQ": labels["QUA"][entry.QUA]}
