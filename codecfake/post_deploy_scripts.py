"""Each env's `envs/<name>.post-deploy.sh`, written from its registry entries and its env file.

Snakemake runs `<env>.post-deploy.sh`, found as a file next to `<env>.yaml`, after creating that env: it has no
other hook. What such a script must do is already said elsewhere, so it is derived, never hand-written: a codec or
generator entry's `upstream: OWNER/REPO@commit` (a GitHub-only source to unpack onto the env's import path) and
`pip_no_deps: name==version` (a package installed without its requirements), and the env file's pip list (PyPI's
torchaudio and torchvision are CUDA builds that need envs/post_deploy.py's CPU fix). Each step is one call of
envs/post_deploy.py, the one place the steps are implemented. The Snakefile writes the scripts when it is parsed and
the codec-env harness before it builds an env, so a codec stays three files: wrapper, env file, registry entry.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from codecfake import generator_registry, registry
from codecfake.errors import UserError
from codecfake.tables import write_text_atomic

#: The second line of every script written here: what marks a script as this module's to rewrite or remove.
WRITTEN_BY = "# Written by codecfake/post_deploy_scripts.py when the workflow is parsed, from"
#: envs/post_deploy.py as a post-deploy script reaches it: Snakemake runs a copy under .snakemake/conda/, so the
#: workflow folder comes from $CODECFAKE_WORKFLOW_DIR (codecfake.workflow.expose_workflow_dir).
HELPER = 'python "${CODECFAKE_WORKFLOW_DIR:-$(dirname "$0")/..}/envs/post_deploy.py"'
#: Packages whose PyPI wheels are CUDA builds, and the post_deploy.py step that makes each import on CPU torch.
CPU_FIXES = {"torchaudio": "torchaudio-cpu", "torchvision": "torchvision-cpu"}
PIP_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def script_path(env_file: Path) -> Path:
    """Where Snakemake looks for the post-deploy script of `env_file` (envs/<name>.yaml)."""
    return env_file.with_name(f"{env_file.stem}.post-deploy.sh")


def pip_names(env_file: Path) -> set[str]:
    """The packages the env file's pip list installs, by canonical name (lower case, `-` for `_` and `.`)."""
    spec = yaml.safe_load(env_file.read_text()) or {}
    lines = [line for item in spec.get("dependencies") or [] if isinstance(item, dict)
             for line in item.get("pip") or []]
    return {re.sub(r"[-_.]+", "-", match.group(1)).lower() for match in map(PIP_NAME.match, map(str, lines))
            if match}


def entries_of(env_file: Path) -> dict[str, object]:
    """The codec and generator entries that run in `env_file`, by name."""
    env = f"envs/{env_file.name}"
    found = {name: entry for name, entry in registry.codecs().items() if entry.env == env}
    found.update({name: entry for name, entry in generator_registry.generators().items() if entry.env == env})
    return found


def steps(env_file: Path) -> list[list[str]]:
    """envs/post_deploy.py's arguments, one call each, in order: sources, --no-deps packages, CPU fixes."""
    entries = entries_of(env_file)
    problems = registry.shared_env_problems(entries)
    if problems:
        raise ValueError("; ".join(problems))
    first = next(iter(entries.values()), None)
    out = []
    if first is not None and first.upstream:
        found = registry.UPSTREAM.fullmatch(first.upstream)
        out.append(["source", found["owner"], found["repo"], found["commit"]])
    if first is not None and first.pip_no_deps:
        out.append(["no-deps", first.pip_no_deps])
    pinned = pip_names(env_file)
    return out + [[step] for package, step in CPU_FIXES.items() if package in pinned]


def script_text(env_file: str | Path) -> str | None:
    """The post-deploy script `env_file` needs, or None where creating the env from its file is all it takes. Each
    registry value is a quoted argument: the registry checks its form, and the script does not rely on that."""
    env_file = Path(env_file)
    calls = steps(env_file)
    if not calls:
        return None
    lines = ["#!/usr/bin/env bash", WRITTEN_BY,
             f"# envs/{env_file.name} and the registry entries that name it: edit those, not this file.",
             "set -euo pipefail", *(f"{HELPER} {shlex.join(call)}" for call in calls)]
    return "\n".join(lines) + "\n"


def write_scripts(basedir: str | Path) -> list[Path]:
    """Bring `<basedir>/envs/*.post-deploy.sh` in line with the registry: write each needed script whose text
    differs (atomically: Snakemake may read one meanwhile), remove the ones written here that no env needs any more,
    touch nothing else. Returns the paths written or removed (none when all are current)."""
    envs = Path(basedir) / "envs"
    stems = {path.stem for path in envs.glob("*.yaml")}
    stems |= {path.name.removesuffix(".post-deploy.sh") for path in envs.glob("*.post-deploy.sh")}
    changed = []
    for stem in sorted(stems):
        env_file = envs / f"{stem}.yaml"
        script = script_path(env_file)
        text = script_text(env_file) if env_file.is_file() else None
        current = script.read_text() if script.is_file() else None
        if text == current or (text is None and not written_here(current)):
            continue
        try:
            if text is None:
                script.unlink()
            else:
                write_text_atomic(text, script)
        except OSError as err:
            raise UserError(f"{script} must be {'removed' if text is None else 'written'} (post-deploy scripts are "
                            f"written from the registry when the workflow is parsed) but {envs} is not writable "
                            f"({err.strerror}): make that folder writable by this user, or run the workflow once "
                            f"as a user who can write it") from err
        changed.append(script)
    return changed


def written_here(text: str | None) -> bool:
    """Whether a script's text was written by this module (so it may rewrite or remove it)."""
    return text is not None and text.split("\n")[1:2] == [WRITTEN_BY]

