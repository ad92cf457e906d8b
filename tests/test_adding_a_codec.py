"""A throwaway 32nd codec family added as codecfake/resources/codecs/README.md says (one wrapper module, one env file,
one registry entry, nothing else), in a copy of the project, and run there through the whole registry, pin, released-
configuration, env, post-deploy and contract suites (every test of those files, not a selection): a codec outside the
paper's 31 needs no edit to any list, table or test. Its entry names an `upstream:` as a GitHub-only family's does,
and its env's post-deploy script is then written from that entry: no fourth file.

The toy family is a small convolutional autoencoder with a residual VQ, defined in its wrapper module (a real family
imports its upstream package instead). A second copy whose decoder ignores the codes must FAIL the contract: the
contract, not only the toy, is what this test checks.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from codecfake import RESOURCES
from tests.conftest import REPO

#: The project folders and files a copy needs to import the registry and the wrappers and run the suites below.
#: The registry folder, wherever codecfake.RESOURCES puts it in this checkout.
REGISTRY = (RESOURCES / "codecs").relative_to(REPO)
COPIED = tuple(dict.fromkeys(("codecfake", "codec_wrappers", "cosg_wrappers", REGISTRY.parts[0], "envs", "tests",
                              "configs", "requirements", "rules", "benchmarks")))
FILES = ("pyproject.toml", "config.schema.yaml", "config.yaml", "Snakefile")
#: Every suite that checks each registered codec, run whole: the registry and its pins, the released
#: configurations, the env files, checkpoint verification and loading, the codec contract.
SUITES = ("tests/test_registry.py", "tests/test_registry_pins.py", "tests/test_released_configs.py",
          "tests/test_envcheck.py", "tests/test_post_deploy.py", "tests/test_weights.py",
          "tests/test_no_code_executing_loads.py", "tests/test_codec_contract.py")
NAME = "toy_16k"
#: The toy's source, as a GitHub-only family's entry names it (the toy's model is in its wrapper: nothing is fetched).
UPSTREAM = ("example", "toycodec", "0123456789abcdef0123456789abcdef01234567")

WRAPPER = '''
"""Toy codec (test only): strided convolutions, a two-layer Euclidean residual VQ, transposed convolutions."""
import torch

from codec_wrappers._random_weights import (balance_gains, balance_through_codec, residual_codebooks,
                                            speech_like_probe)
from codec_wrappers.base import CodecWrapper


class Toy(torch.nn.Module):
    def __init__(self, dim, size, layers, stride):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Conv1d(1, dim, 2 * stride, stride, stride // 2), torch.nn.ELU(),
                                           torch.nn.Conv1d(dim, dim, 3, 1, 1))
        self.codebooks = torch.nn.Parameter(torch.zeros(layers, size, dim), requires_grad=False)
        self.decoder = torch.nn.Sequential(torch.nn.Conv1d(dim, dim, 3, 1, 1), torch.nn.ELU(),
                                           torch.nn.ConvTranspose1d(dim, 1, 2 * stride, stride, stride // 2))

    def quantize(self, latents):
        residual, out = latents.transpose(1, 2), 0
        for book in self.codebooks:
            chosen = book[torch.cdist(residual, book[None]).argmin(-1)]
            out, residual = out + chosen, residual - chosen
        return out.transpose(1, 2)


class ToyWrapper(CodecWrapper):
    requires = ("torch",)

    @property
    def hop_length(self):
        return self.entry.architecture_params()["stride"]

    def build(self, arch):
        return Toy(**arch)

    def load_pretrained(self, arch, files):
        raise NotImplementedError("the toy has no released weights")

    @torch.no_grad()
    def randomize(self, model, seed):
        probe = speech_like_probe(self.sample_rate, seed)
        done = balance_gains(model.encoder, lambda: model.encoder(probe))
        frames = model.encoder(probe)[0].T
        model.codebooks.copy_(residual_codebooks(frames, *model.codebooks.shape[:2], seed))
        balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        latents = self.model.quantize(self.model.encoder(wav[:, None]))
        return self.model.decoder(DECODER_INPUT(latents))[:, 0, : wav.shape[-1]]


DECODER_INPUT = lambda codes: codes  # noqa: E731
WRAPPER = ToyWrapper
'''

ENV = """\
# Toy codec (test only).
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.11
  - pip=24.2
  - pip:
      - torch==2.13.0
      - numpy==2.4.6
      - pyyaml==6.0.3
      - soundfile==0.14.0
      - soxr==1.1.0
"""

ENTRY = f"""\
{NAME}:
  id: Z
  family: Toy
  config: toy
  arch: C/C
  QUA: Mvq
  AUX: None
  DEC: Time
  wrapper: toycodec
  env: envs/toycodec.yaml
  upstream: {UPSTREAM[0]}/{UPSTREAM[1]}@{UPSTREAM[2]}
  sample_rate: 16000
  settings: {{}}
  architecture: {{dim: 32, size: 256, layers: 2, stride: 8}}
  weights:
    model: {{url: "https://example.invalid/toycodec.pt", lock: true}}
"""


def add_toy_family(tmp_path, decoder_input: str = "lambda codes: codes"):
    """A copy of the project with the toy family added through exactly the three places the guide lists."""
    copy = tmp_path / "project"
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "*.post-deploy.sh")  # as a checkout has them
    for folder in COPIED:
        shutil.copytree(REPO / folder, copy / folder, ignore=ignored)
    for name in FILES:
        shutil.copy(REPO / name, copy / name)
    added = {
        "codec_wrappers/toycodec.py": WRAPPER.replace("lambda codes: codes", decoder_input),
        "envs/toycodec.yaml": ENV,
        f"{REGISTRY}/toycodec.yaml": ENTRY,
    }
    for path, text in added.items():
        (copy / path).write_text(textwrap.dedent(text))
    return copy


def run(copy, *tests: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """pytest in the copy; returns the process and each test's outcome by node name (passed, failed, skipped)."""
    report = copy / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                           *tests], cwd=copy, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin",
                                                   "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=1200)
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = \
            "failed" if failed else "skipped" if case.find("skipped") is not None else "passed"
    return done, outcomes


def test_guide_lists_the_three_places():
    guide = (RESOURCES / "codecs" / "README.md").read_text()
    for place in ("codec_wrappers/<family>.py", "envs/<family>.yaml", "codecfake/resources/codecs/<family>.yaml"):
        assert place in guide, place
    assert "upstream:" in guide, "the guide says where a GitHub-only family's source is named"


@pytest.mark.slow  # the suites in a copy: the contract over every main-venv configuration (~80 s CPU)
def test_a_new_family_added_through_the_three_places_passes_every_suite(tmp_path):
    done, outcomes = run(add_toy_family(tmp_path / "good"), *SUITES)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    toy = {name: outcome for name, outcome in outcomes.items() if f"[{NAME}" in name}
    assert set(toy.values()) == {"passed"}, toy
    assert {  # the toy ran (not skipped) in each suite that parametrizes over registered configurations
        f"tests.test_registry::test_entry_is_complete[{NAME}]",
        f"tests.test_registry_pins::test_the_runtime_pin_check_accepts_every_registered_source[{NAME}-model]",
        f"tests.test_weights::test_wrong_bytes_under_the_right_name_are_refused_and_deleted[{NAME}]",
        f"tests.test_no_code_executing_loads::test_a_verified_planted_codec_checkpoint_is_refused[{NAME}-model]",
        f"tests.test_codec_contract::test_contract[{NAME}]",
        f"tests.test_codec_contract::test_random_weights_output_follows_the_input[{NAME}]",
        f"tests.test_post_deploy::test_each_github_only_entry_has_its_env_unpack_its_upstream[{NAME}]",
    } <= set(toy), sorted(toy)
    assert outcomes["tests.test_registry::test_the_papers_31_carry_table_iii_row_for_row"] == "passed"


@pytest.mark.slow  # one project copy and one interpreter start, no suite
def test_a_new_github_only_family_gets_its_post_deploy_script_from_its_entry(tmp_path):
    """What the Snakefile does when it is parsed, in the copy: the toy's env gets the script that unpacks the
    entry's `upstream`, though the copy, like a checkout, holds no post-deploy script at all."""
    copy = add_toy_family(tmp_path)
    assert not list((copy / "envs").glob("*.post-deploy.sh"))
    write = "from codecfake.post_deploy_scripts import write_scripts; write_scripts('.')"
    subprocess.run([sys.executable, "-c", write], cwd=copy, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
                   check=True)
    script = (copy / "envs" / "toycodec.post-deploy.sh").read_text()
    assert script.splitlines()[-1].endswith(f"/envs/post_deploy.py\" source {' '.join(UPSTREAM)}"), script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


@pytest.mark.slow
def test_the_contract_fails_a_family_whose_decoder_ignores_the_input(tmp_path):
    copy = add_toy_family(tmp_path / "bad", decoder_input="lambda codes: torch.ones_like(codes)")
    done, outcomes = run(copy, f"tests/test_codec_contract.py::test_contract[{NAME}]")
    assert outcomes == {f"tests.test_codec_contract::test_contract[{NAME}]": "failed"}, done.stdout[-3000:]
    assert "does not depend on the input" in done.stdout, done.stdout[-3000:]
