"""The `codecfake` command's structure: user commands apart from the internal `step` commands the rules call, one
concatenation step, one device choice."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pandas as pd
import pytest
import torch

from codecfake.cli import build_parser, main
from codecfake.device import pick_device
from codecfake.errors import UserError
from tests.tinyrun import REPO

USER_COMMANDS = {"codecs", "detect", "trace", "export", "fetch", "check", "step"}


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def test_top_level_holds_user_commands_and_three_groups():
    top = _choices(build_parser())
    assert set(top) == USER_COMMANDS
    assert set(_choices(top["fetch"])) == {"codec-weights", "ssl-weights", "utmos-weights", "dataset", "vctk",
                                                 "aishell3", "generator-weights"}
    assert set(_choices(top["check"])) == {"envs", "report"}


def test_every_rule_calls_a_registered_step_or_fetch_command():
    top = _choices(build_parser())
    rules = "".join(path.read_text() for path in (REPO / "rules").glob("*.smk"))
    calls = re.findall(r"(?:python|\{params\.python:q\}) -m codecfake (\S+) (\S+)", rules)  # cosg.python
    assert len(calls) >= 25
    for group, name in calls:
        if group == "export":  # rules/export.smk runs the user command as is (its one argument: results_dir)
            continue
        assert group in ("step", "fetch"), f"a rule calls `codecfake {group}`: rules call steps, fetches, export"
        assert name in _choices(top[group]), f"`codecfake {group} {name}` is not a command"
    steps = set(_choices(top["step"]))
    called = {name for group, name in calls if group == "step"}
    assert steps == called, f"steps no rule calls: {sorted(steps - called)}"


def test_concat_keeps_values_verbatim(tmp_path):
    a, b, out = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "out.tsv"
    a.write_text("system\teer\nA\t0.10\n")
    b.write_text("system\teer\nB\t1e-3\nC\t\n")
    assert main(["step", "concat", "--tables", str(a), str(b), "--out", str(out)]) == 0
    assert out.read_text() == "system\teer\nA\t0.10\nB\t1e-3\nC\t\n"
    assert list(pd.read_csv(out, sep="\t")["system"]) == ["A", "B", "C"]


def test_one_device_choice():
    assert pick_device("cpu") == torch.device("cpu")
    if torch.cuda.is_available():
        assert pick_device("auto").type == "cuda"
        return
    assert pick_device("auto") == torch.device("cpu")
    for name in ("cuda", "cuda:1"):
        with pytest.raises(UserError, match="no CUDA device"):
            pick_device(name)


def test_errors_name_the_whole_command(tmp_path, capsys):
    missing = tmp_path / "missing.tsv"
    assert main(["step", "corpus-manifest", "--user-manifest", str(missing), "--out", str(tmp_path / "m.tsv"),
                 "--rejects", str(tmp_path / "r.tsv"), "--invalid-ids", "error"]) == 2
    assert "codecfake step corpus-manifest: error:" in capsys.readouterr().err


def test_parser_builds_without_torch():
    """Rules run `python -m codecfake step ...` in envs without torch or the CM packages (envs/core.yaml): building
    the parser, which registers `detect`, must not import them."""
    code = ("import sys\n"
            "class Missing:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in {'torch', 'sklearn', 'confidence_intervals', 'transformers'}:\n"
            "            raise ImportError(f'no {name} in this env')\n"
            "sys.meta_path.insert(0, Missing())\n"
            "from codecfake import cli\n"
            "cli.build_parser()\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
