"""The static check of the conda env files (codecfake.envcheck, `codecfake check envs`)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from codecfake import registry
from codecfake.envcheck import EnvFile, check_envs, family_problems, pin_conflicts, post_deploy_problems, read_env
from codecfake.post_deploy_scripts import write_scripts
from tests.tinyrun import REPO

GOOD = """channels: [conda-forge, nodefaults]
dependencies:
  - python=3.11
  - pip=24.2
  - pip:
      - numpy==2.4.6
"""


def test_every_env_file_passes_the_offline_checks():
    report = check_envs(REPO / "envs", registry.codecs().values(), online=False)
    assert len(report.envs) >= 4
    assert report.ok, "\n".join(report.lines())


def test_every_pin_resolves_on_pypi_without_conflicts():
    report = check_envs(REPO / "envs", registry.codecs().values(), online=True)
    if report.online.startswith("not checked"):
        pytest.skip(f"PyPI {report.online}")
    assert report.ok, "\n".join(report.lines())


@pytest.mark.parametrize("text, problem", [
    ("dependencies: [python=3.11\n", "not readable as YAML"),
    ("name: x\n", "not a conda env file"),
    (GOOD.replace("python=3.11", "python=3.11=*"), "not a valid match spec"),
    (GOOD.replace("  - python=3.11\n", ""), "no `python=X.Y` conda spec"),
    (GOOD.replace("  - pip=24.2\n", ""), "no `pip` conda spec"),
    (GOOD.replace("numpy==2.4.6", "numpy>=2"), "not an exact pin"),
    (GOOD.replace("numpy==2.4.6", "numpy==2.*"), "not an exact pin"),
    (GOOD.replace("numpy==2.4.6", "numpy"), "not an exact pin"),
    (GOOD + "      - NumPy==2.3.0\n", "pinned twice"),
    (GOOD.replace("numpy==2.4.6", "numpy @ git+https://github.com/numpy/numpy@main"), "full commit"),
    (GOOD.replace("numpy==2.4.6", "numpy[[==1"), "not a requirement"),
])
def test_bad_env_files_are_reported(tmp_path, text, problem):
    path = tmp_path / "env.yaml"
    path.write_text(text)
    env = read_env(path)
    assert any(problem in p for p in env.problems), env.problems


def test_good_env_file_and_commit_pinned_git_reference_pass(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(GOOD + "      - hilcodec @ git+https://github.com/aask1357/hilcodec@" + "a" * 40 + "\n")
    env = read_env(path)
    assert env.problems == [] and env.python == "3.11" and env.pins == {"numpy": "2.4.6"}


def test_conflicting_pins_in_one_env_are_found():
    """Two families in one env: DAC's audiotools needs protobuf<3.20, another family pins protobuf 4."""
    env = EnvFile(REPO / "envs" / "shared.yaml", python="3.11",
                  pins={"descript-audiotools": "0.7.2", "protobuf": "4.25.3", "numpy": "2.4.6"})
    metadata = {("descript-audiotools", "0.7.2", "3.11"): {"requires_dist": ["protobuf<3.20,>=3.9.2",
                                                                             'pytest; extra == "tests"',
                                                                             'numpy<2; python_version < "3.9"'],
                                                           "requires_python": ">=3.7"},
                ("protobuf", "4.25.3", "3.11"): {"requires_dist": [], "requires_python": ">=3.8"},
                ("numpy", "2.4.6", "3.11"): {"requires_dist": [], "requires_python": ">=3.12"}}
    problems = pin_conflicts(env, metadata)
    assert any("requires protobuf" in p and "protobuf==4.25.3" in p for p in problems), problems
    assert any("numpy==2.4.6 requires Python >=3.12" in p for p in problems), problems
    assert len(problems) == 2, problems  # the extra and the python<3.9 marker do not apply
    env.pins["protobuf"] = "3.19.6"
    metadata[("numpy", "2.4.6", "3.11")]["requires_python"] = ">=3.11"
    assert pin_conflicts(env, metadata) == []


def test_registry_side_problems_are_found(tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "a.yaml").write_text(GOOD)
    entries = [SimpleNamespace(protocol_name="X1", family="X", env="envs/a.yaml"),
               SimpleNamespace(protocol_name="X2", family="X", env="envs/b.yaml")]
    problems = family_problems(entries, tmp_path / "envs")
    assert any("envs/b.yaml does not exist" in p for p in problems)
    assert any("family X is split over two envs" in p for p in problems)


def test_a_post_deploy_script_not_written_from_the_registry_is_a_problem(tmp_path):
    """Post-deploy steps live in the registry entries and env files; a hand-written script (which would run beside
    them, or instead of them) and one whose env file is gone are reported, a written one is not."""
    envs = tmp_path / "envs"
    envs.mkdir()
    (envs / "encodec.yaml").write_bytes((REPO / "envs" / "encodec.yaml").read_bytes())
    (envs / "a.yaml").write_text(GOOD)
    write_scripts(tmp_path)
    assert post_deploy_problems(envs) == []
    (envs / "a.post-deploy.sh").write_text("#!/usr/bin/env bash\npip install something\n")
    (envs / "gone.post-deploy.sh").write_text((envs / "encodec.post-deploy.sh").read_text())
    problems = post_deploy_problems(envs)
    assert len(problems) == 2, problems
    assert "a.post-deploy.sh: not written from the registry" in problems[0]
    assert "gone.post-deploy.sh: no env file of that name" in problems[1]


def test_unresolvable_pin_and_real_conflict_on_pypi(tmp_path):
    """Against the real index: a version that does not exist, and audiotools next to protobuf 4."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "bad.yaml").write_text(GOOD.replace("numpy==2.4.6", "numpy==0.0.999") +
                                                "      - descript-audiotools==0.7.2\n      - protobuf==4.25.3\n")
    report = check_envs(tmp_path / "envs", online=True, cache_dir=tmp_path / "cache")
    if report.online.startswith("not checked"):
        pytest.skip(f"PyPI {report.online}")
    problems = report.envs[0].problems
    assert any("numpy==0.0.999 does not resolve" in p for p in problems), problems
    assert any("descript-audiotools==0.7.2 requires protobuf" in p for p in problems), problems
