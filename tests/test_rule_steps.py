"""The seams between the rules and the code they run: a step is named as its rule, a value a rule passes has no
second default in the step, and every output path is written once (in the rule that makes it)."""
from __future__ import annotations

import argparse
import re

import pytest

from codecfake.cli import build_parser
from tests.tinyrun import REPO

#: A call through the job's `python` or, for jobs in a generator's env, `{params.python:q}` (cosg.python).
CALL = re.compile(r"(?:python|\{params\.python:q\}) -m codecfake (step|fetch) ([\w-]+)((?:(?! -m codecfake).)*)", re.S)


def _rules() -> dict[str, str]:
    """Rule name -> its text, over rules/*.smk."""
    blocks = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"^\s*rule ", path.read_text(), flags=re.M)[1:]:
            blocks[block.split(":", 1)[0].strip()] = block
    return blocks


def _calls(block: str) -> list[tuple[str, str, list[str]]]:
    """(group, command, --options) of each `python -m codecfake` call in a rule's shell string."""
    shell = "".join(re.findall(r'^\s*"(.*)"\s*$', block.split("shell:", 1)[-1], flags=re.M))
    return [(group, name, re.findall(r"(--[\w-]+)", args)) for group, name, args in CALL.findall(shell)]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_a_step_run_by_one_rule_is_named_as_that_rule():
    """`step <name>` is rule <name> (dashes for underscores), `fetch <name>` rule fetch_<name>; a step several rules
    share (concat, cm-select, cm-eval-set) is a tool named for what it does."""
    runners: dict[tuple[str, str], set[str]] = {}
    for rule, block in _rules().items():
        for group, name, _ in _calls(block):
            runners.setdefault((group, name), set()).add(rule)
    assert len(runners) >= 25
    wrong = {}
    for (group, name), rules in runners.items():
        expected = name.replace("-", "_") if group == "step" else f"fetch_{name.replace('-', '_')}"
        if len(rules) == 1 and rules != {expected}:
            wrong[f"{group} {name}"] = sorted(rules)
    assert not wrong, f"steps named differently from the one rule that runs them: {wrong}"


def test_a_value_a_rule_passes_has_no_default_in_the_step():
    """Defaults live in config.schema.yaml and reach a step through its rule: an option the rule always passes is
    required by the step (a default there could drift from the schema's unseen)."""
    top = _subparsers(build_parser())
    drifting = []
    for rule, block in _rules().items():
        for group, name, options in _calls(block):
            if group != "step":  # `fetch` commands are also run by hand, with defaults of their own
                continue
            parser = _subparsers(top[group])[name]
            actions = {option: action for action in parser._actions for option in action.option_strings}
            for option in options:
                action = actions[option]
                if not (action.default is None or action.default is False or action.default == []):
                    drifting.append(f"rule {rule}: {group} {name} {option} defaults to {action.default!r}")
    assert not drifting, "\n".join(drifting)


def test_every_output_path_is_written_in_one_place():
    """Each rule's output path appears once in rules/ and in no module of codecfake/ (with its wildcards, whatever
    they are called there): other rules and the planners read it from `rules.<name>.output`, so `grep` for a path
    in rules/ finds the one rule that makes it."""
    paths = []
    for block in _rules().values():
        section = re.split(r"^\s{4}(?:log|conda|params|shell|threads|resources|localrule|wildcard_constraints):",
                           block.split("output:", 1)[-1], flags=re.M)[0] if "output:" in block else ""
        paths += re.findall(r'f"\{R\}/([^"]+)"', section)
    assert len(paths) >= 40
    rules_text = "".join(path.read_text() for path in [*(REPO / "rules").glob("*.smk"), REPO / "Snakefile"])
    code = {path: _shape(path.read_text()) for path in (REPO / "codecfake").rglob("*.py")}
    restated = []
    for path in paths:
        count = rules_text.count(f'{{R}}/{path}"')
        if count != 1:
            restated.append(f"{path}: {count} times in rules/")
        restated += [f"{path}: in {module.relative_to(REPO)}" for module, text in code.items()
                     if "{" in path and _shape(path) in text]
    assert not restated, "\n".join(restated)


def _shape(text: str) -> str:
    """Paths with every wildcard or f-string field as {} (so `audio/{subset}/{split}` is `audio/{s}/{split}`)."""
    return re.sub(r"\{+[^{}]*\}+", "{}", text)


def test_every_stage_plan_has_the_one_shape():
    """The Snakefile builds the run's Plan, then each stage plan from it alone (`<stage>_plan = <Stage>Plan(plan)`),
    and asks every one of them for targets and wildcard constraints: a stage is a StagePlan subclass and an include."""
    import importlib

    from codecfake.workflow import StagePlan

    snakefile = (REPO / "Snakefile").read_text()
    imports = {name: module for module, name in re.findall(r"^from (codecfake[\w.]*) import (\w*Plan)$", snakefile,
                                                           flags=re.M)}
    stages = re.findall(r"^(\w+) = (\w+)\((\w+)\)", snakefile, flags=re.M)
    assert len(stages) >= 6
    for variable, cls, argument in stages:
        assert argument == "plan" and variable == f"{cls.removesuffix('Plan').lower()}_plan", (variable, cls)
        assert issubclass(getattr(importlib.import_module(imports[cls]), cls), StagePlan), cls
    listed = re.search(r"^plans = \[(.*)\]$", snakefile, flags=re.M).group(1).split(", ")
    assert listed == ["plan", *[variable for variable, _, _ in stages]]
    assert "[stage.targets() for stage in plans]" in snakefile and "**wildcard_constraints(plans)" in snakefile


def test_two_stages_cannot_constrain_one_wildcard_differently():
    from types import SimpleNamespace

    from codecfake.workflow import wildcard_constraints

    first = SimpleNamespace(wildcard_constraints=lambda: {"split": "train|dev|eval", "cm": "a"})
    second = SimpleNamespace(wildcard_constraints=lambda: {"split": "train|dev|eval", "tracer": "t"})
    assert wildcard_constraints([first, second]) == {"split": "train|dev|eval", "cm": "a", "tracer": "t"}
    clash = SimpleNamespace(wildcard_constraints=lambda: {"cm": "b"})
    with pytest.raises(ValueError, match="wildcard 'cm' constrained twice"):
        wildcard_constraints([first, clash])
