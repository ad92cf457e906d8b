"""Checks of the conda env files (envs/*.yaml) that need no conda: what would break `snakemake --use-conda`.

No conda channel is reachable where the test suite runs, so env creation itself cannot be tried with conda. What
can be checked is checked here: every env file parses; its conda dependencies are valid strict match specs;
every `pip:` line is an exact pin (`name==version`, or a direct URL pinned to a commit); each pin exists on PyPI
for the env's Python (`pip install --dry-run --no-deps`, which reads metadata without installing anything); and
within one env no pinned package requires another pinned package at a version other than the one pinned (the
"two families with conflicting pins in one env" case: e.g. a family that needs protobuf<3.20 next to one that
pins protobuf 4). The registry side: every codec's env file exists and each family uses exactly one env.

PyPI answers are cached per index (pins are immutable), so a second run is offline and instant.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# packaging and rattler are imported where they are used: every job's `python -m codecfake` registers this
# module's subcommand, also in the core env, which has neither.
PYPI = "https://pypi.org/simple"
#: A direct reference counts as a pin only when it names a full commit (git) or carries a hash.
PINNED_URL = re.compile(r"(@[0-9a-f]{40}(#.*)?$)|(#sha256=[0-9a-f]{64}$)")


@dataclass
class EnvFile:
    path: Path
    conda: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)
    python: str | None = None  # X.Y of the env's python spec
    pins: dict[str, str] = field(default_factory=dict)  # canonical name -> exact version (PyPI pins only)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    envs: list[EnvFile]
    problems: list[str]  # registry-level problems
    online: str  # how the PyPI part went: "checked", or why it was skipped

    @property
    def ok(self) -> bool:
        return not self.problems and all(not env.problems for env in self.envs)

    def lines(self) -> list[str]:
        out = []
        for env in self.envs:
            status = "ok" if not env.problems else f"{len(env.problems)} problem(s)"
            out.append(f"{env.path}: {len(env.conda)} conda specs, {len(env.pip)} pip pins: {status}")
            out += [f"  problem: {p}" for p in env.problems] + [f"  note: {n}" for n in env.notes]
        out += [f"problem: {p}" for p in self.problems]
        out.append(f"PyPI: {self.online}")
        return out


# -- offline checks ------------------------------------------------------------------------------------------
def read_env(path: str | Path) -> EnvFile:
    """Parse one env file and run the offline checks; problems are collected, never raised."""
    from rattler import MatchSpec

    env = EnvFile(Path(path))
    names = set()  # of the valid conda specs
    try:
        spec = yaml.safe_load(env.path.read_text())
    except (OSError, yaml.YAMLError) as err:
        env.problems.append(f"not readable as YAML: {err}".replace("\n", " "))
        return env
    if not isinstance(spec, dict) or not isinstance(spec.get("dependencies"), list):
        env.problems.append("not a conda env file: expected a mapping with a `dependencies` list")
        return env
    channels = spec.get("channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        env.problems.append("`channels` must be a list of channel names")
    for item in spec["dependencies"]:
        if isinstance(item, str):
            env.conda.append(item)
            try:
                match = MatchSpec(item, strict=True)
            except Exception as err:  # rattler raises its own InvalidMatchSpecError
                env.problems.append(f"conda spec {item!r} is not a valid match spec: {err}")
                continue
            names.add(match.name.normalized)
            if match.name.normalized == "python":
                version = re.match(r"(\d+\.\d+)", str(match.version or ""))
                env.python = version.group(1) if version else None
        elif isinstance(item, dict) and set(item) == {"pip"} and isinstance(item["pip"], list):
            env.pip.extend(str(line) for line in item["pip"])
        else:
            env.problems.append(f"unsupported dependency entry {item!r}")
    if env.python is None:
        env.problems.append("no `python=X.Y` conda spec: the env's interpreter would be whatever the solver picks")
    if env.pip and "pip" not in names:
        env.problems.append("has a `pip:` section but no `pip` conda spec: conda would use a pip from outside")
    for line in env.pip:
        _check_pin(env, line)
    return env


def _check_pin(env: EnvFile, line: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(line)
    except InvalidRequirement as err:
        env.problems.append(f"pip line {line!r} is not a requirement: {err}")
        return
    name = canonicalize_name(req.name)
    if req.url:
        if PINNED_URL.search(req.url):
            env.notes.append(f"{line}: direct reference pinned to a commit/hash (not looked up on PyPI)")
        else:
            env.problems.append(f"pip line {line!r}: a direct reference must name a full commit or a sha256")
        return
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        env.problems.append(f"pip line {line!r} is not an exact pin (name==version)")
        return
    if name in env.pins:
        env.problems.append(f"{req.name} is pinned twice ({env.pins[name]} and {specs[0].version})")
        return
    env.pins[name] = specs[0].version


def post_deploy_problems(envs_dir: str | Path) -> list[str]:
    """Snakemake runs `<env>.post-deploy.sh` after creating `<env>.yaml`. Those scripts are written from the registry
    at parse time (codecfake/post_deploy_scripts.py): each env's derived script must be valid bash, and a script in
    the folder that was not written from the registry (hand-written, or its env file gone) is a problem."""
    from codecfake import post_deploy_scripts

    problems = []
    for env_file in sorted(Path(envs_dir).glob("*.yaml")):
        try:
            text = post_deploy_scripts.script_text(env_file)
        except ValueError as err:
            problems.append(f"{env_file}: its post-deploy script cannot be written: {err}")
            continue
        run = subprocess.run(["bash", "-n"], input=text or "", capture_output=True, text=True)
        if run.returncode != 0:
            problems.append(f"{env_file}: its post-deploy script is not valid bash: {run.stderr.strip()}")
    for script in sorted(Path(envs_dir).glob("*.post-deploy.sh")):
        if not script.with_name(script.name.replace(".post-deploy.sh", ".yaml")).is_file():
            problems.append(f"{script}: no env file of that name, Snakemake would never run it")
        elif not post_deploy_scripts.written_here(script.read_text()):
            problems.append(f"{script}: not written from the registry; post-deploy steps come from the entries "
                            f"(`upstream:`, `pip_no_deps:`) and the env file's pins: put them there and delete it")
    return problems


def family_problems(entries, envs_dir: str | Path) -> list[str]:
    """Every registered codec's env file exists; a family runs in one env (its codecs share its packages)."""
    problems, family_env = [], {}
    root = Path(envs_dir).resolve().parent
    for entry in entries:
        if not (root / entry.env).is_file():
            problems.append(f"codec {entry.protocol_name}: env file {entry.env} does not exist")
        first = family_env.setdefault(entry.family, entry.env)
        if first != entry.env:
            problems.append(f"family {entry.family} is split over two envs: {first} and {entry.env} "
                            f"({entry.protocol_name})")
    return problems


# -- PyPI ----------------------------------------------------------------------------------------------------
def pypi_reachable(index_url: str = PYPI, timeout: float = 10.0) -> str | None:
    """None when the index answers, else why not (the PyPI checks are then skipped, and say so)."""
    try:
        with urllib.request.urlopen(f"{index_url.rstrip('/')}/pip/", timeout=timeout) as response:
            response.read(1)
    except Exception as err:  # URLError, timeouts, TLS errors: all mean "cannot check here"
        return f"{index_url} unreachable ({type(err).__name__}: {err})"
    return None


class PinMetadata:
    """Metadata of exact pins from the index (requires_dist, requires_python), cached on disk per index."""

    def __init__(self, index_url: str = PYPI, cache_dir: str | Path | None = None):
        self.index_url = index_url
        cache_dir = Path(cache_dir or Path.home() / ".cache" / "codecfake-envcheck")
        key = re.sub(r"[^A-Za-z0-9]+", "_", index_url).strip("_")
        self.cache_file = cache_dir / f"pins-{key}.json"
        self.cache = json.loads(self.cache_file.read_text()) if self.cache_file.is_file() else {}

    def lookup(self, pins: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict | str]:
        """(name, version, python X.Y) -> metadata dict, or the pip error when the pin does not resolve."""
        out: dict[tuple[str, str, str], dict | str] = {}
        todo = []
        for name, version, python in pins:
            cached = self.cache.get(f"{name}=={version}@{python}")
            if cached is not None:
                out[(name, version, python)] = cached
            else:
                todo.append((name, version, python))
        for python in sorted({p for _, _, p in todo}):
            wanted = sorted({(n, v) for n, v, p in todo if p == python})
            for batch in _one_version_per_name(wanted):
                out.update({(n, v, python): meta for (n, v), meta in self._resolve(batch, python).items()})
        self._save()
        return out

    def _resolve(self, pins: list[tuple[str, str]], python: str) -> dict:
        """One pip call for all pins (per-pin calls only to name the culprits when it fails)."""
        found, error = self._pip_dry_run(pins, python)
        if error is None:
            return found
        if len(pins) == 1:
            return {pins[0]: error}
        out = {}
        for pin in pins:
            out.update(self._resolve([pin], python))
        return out

    def _pip_dry_run(self, pins, python: str):
        from packaging.utils import canonicalize_name
        from packaging.version import Version

        env = {k: v for k, v in os.environ.items()
               if k not in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_NO_INDEX")}
        env["PIP_CONFIG_FILE"] = os.devnull  # only the index asked for: no local wheel dirs or mirrors
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                   "--quiet", "--disable-pip-version-check", "--python-version", python, "--index-url",
                   self.index_url, "--report", str(report), *[f"{n}=={v}" for n, v in pins]]
            run = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if run.returncode != 0:
                lines = [line for line in run.stderr.splitlines() if line.strip()]
                return {}, (lines[-1] if lines else f"pip exited {run.returncode}")
            found = {}
            for item in json.loads(report.read_text())["install"]:
                meta = item["metadata"]
                key = (canonicalize_name(meta["name"]), meta["version"])
                found[key] = {"requires_dist": meta.get("requires_dist") or [],
                              "requires_python": meta.get("requires_python")}
                self.cache[f"{key[0]}=={key[1]}@{python}"] = found[key]
        # The index may normalise a version (1.0 -> 1.0.0): map back to the pins as written.
        out = {}
        for name, version in pins:
            match = [m for (n, v), m in found.items() if n == name and Version(v) == Version(version)]
            out[(name, version)] = match[0] if match else "not in pip's report"
        return out, None

    def _save(self) -> None:
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.cache, indent=0, sort_keys=True))
        os.replace(tmp, self.cache_file)


def _one_version_per_name(pins: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Batches in which each package appears once (envs may pin different versions; one pip call cannot)."""
    batches: list[list[tuple[str, str]]] = []
    for name, version in pins:
        for batch in batches:
            if all(n != name for n, _ in batch):
                batch.append((name, version))
                break
        else:
            batches.append([(name, version)])
    return batches


def pin_conflicts(env: EnvFile, metadata: dict[tuple[str, str, str], dict | str]) -> list[str]:
    """Pinned packages whose declared requirements exclude the version another pin fixes, in the same env."""
    from packaging.markers import default_environment
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name

    marker_env = default_environment()
    marker_env.update(python_version=env.python, python_full_version=f"{env.python}.0", extra="")
    problems = []
    for name, version in env.pins.items():
        meta = metadata.get((name, version, env.python))
        if not isinstance(meta, dict):
            continue
        requires_python = meta.get("requires_python")
        if requires_python and not SpecifierSet(requires_python).contains(f"{env.python}.0", prereleases=True):
            problems.append(f"{name}=={version} requires Python {requires_python}, the env has {env.python}")
        for line in meta["requires_dist"]:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is not None and not req.marker.evaluate(marker_env):
                continue
            other = canonicalize_name(req.name)
            if other in env.pins and not req.specifier.contains(env.pins[other], prereleases=True):
                problems.append(f"{name}=={version} requires {req.name}{req.specifier}, "
                                f"but the env pins {other}=={env.pins[other]}")
    return problems


# -- all together ----------------------------------------------------------------------------------------------
def check_envs(envs_dir: str | Path = "envs", entries=None, online: bool = True, index_url: str = PYPI,
               cache_dir: str | Path | None = None) -> Report:
    """Every envs/*.yaml: offline checks, then (online) pins on the index and pin consistency."""
    envs = [read_env(path) for path in sorted(Path(envs_dir).glob("*.yaml"))]
    problems = post_deploy_problems(envs_dir)
    if entries is not None:
        problems += family_problems(entries, envs_dir)
    if not online:
        return Report(envs, problems, "not checked (offline)")
    unreachable = pypi_reachable(index_url)
    if unreachable:
        return Report(envs, problems, f"not checked: {unreachable}")
    lookup = PinMetadata(index_url, cache_dir)
    metadata = lookup.lookup([(n, v, env.python) for env in envs if env.python for n, v in env.pins.items()])
    for env in envs:
        for name, version in env.pins.items():
            answer = metadata.get((name, version, env.python))
            if isinstance(answer, str):
                env.problems.append(f"{name}=={version} does not resolve on {index_url} for Python {env.python}: "
                                    f"{answer}")
        env.problems.extend(pin_conflicts(env, metadata))
    return Report(envs, problems, f"checked against {index_url}")


# -- command line --------------------------------------------------------------------------------------------
def _cmd_check_envs(args) -> None:
    from codecfake import registry
    from codecfake.errors import UserError

    report = check_envs(args.envs_dir, registry.codecs().values(), online=not args.offline,
                        index_url=args.index_url, cache_dir=args.cache_dir)
    print("\n".join(report.lines()))
    if not report.ok:
        raise UserError("env files have problems (listed above)")


def register(commands) -> None:
    """The `codecfake check envs` command (codecfake/cli.py registers it)."""
    p = commands.check.add_parser("envs", help="check envs/*.yaml without conda: specs, exact pins, PyPI, conflicts")
    p.add_argument("--envs-dir", default=str(Path(__file__).resolve().parents[1] / "envs"))
    p.add_argument("--offline", action="store_true", help="skip the PyPI lookups")
    p.add_argument("--index-url", default=PYPI, help="the index users install from (default: PyPI)")
    p.add_argument("--cache-dir", default=None, help="PyPI answers cache (default ~/.cache/codecfake-envcheck)")
    p.set_defaults(func=_cmd_check_envs)
