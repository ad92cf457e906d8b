"""The contract every CoSG generator passes, over all registered generators, with seeded random weights.

Each generator runs in its own env (`make test-codecs` runs these tests there); elsewhere they skip, saying which env.
- contract: one float32 mono array per prompt, finite, not silent, at the entry's rate, of a plausible length (the
  prompt's speaking rate carried over: seconds per character of the target within a factor 2 of the prompt's), the
  same for a prompt alone and in a list (no state between utterances), the same under the same seed;
- input dependence, with the codec contract's margin for two speech inputs: another prompt voice, same texts,
  gives an output that differs by at least MIN_RELATIVE_DIFFERENCE of its level (0.84 measured, seed 0);
  a target text three times as long gives speech at least twice as long. With MaskGCT's random weights the text
  decides the duration (Amphion's rule: the prompt's phone rate) but hardly the content: at a fixed duration two
  texts gave outputs within 6 % of each other, so only the duration is checked. Without resetting the adaptive norms
  (MaskGCTWrapper.randomize) the prompt voice did not matter at all (difference 0): that check fails then.
A generator's released-format loading and its planted-pickle tests are its own (tests/parity/test_<name>.py).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from codecfake import generator_registry
from codecfake.generation import load_generator
from codecfake.synthetic_speech import utterance
from cosg_wrappers.base import PROMPT_RATE, Prompt
from tests.test_codec_contract import MIN_RELATIVE_DIFFERENCE

ENTRIES = list(generator_registry.generators().values())
PROMPT_TEXT = "please call stella and ask her to bring these things"
TARGET_TEXT = "six spoons of fresh snow peas"


@pytest.fixture(scope="module", params=ENTRIES, ids=lambda e: e.name)
def entry(request):
    reason = request.param.unavailable()
    if reason:
        pytest.skip(reason)
    return request.param


@pytest.fixture(scope="module")
def generator(entry):
    torch.set_num_threads(1)
    return load_generator(entry.name, weights="random", seed=0)


def prompt(seed: int = 0, target: str = TARGET_TEXT) -> Prompt:
    return Prompt(utterance(np.random.default_rng(seed), 2.0), PROMPT_TEXT, target)


def test_contract(entry, generator):
    first, second = prompt(0), prompt(1)
    together = generator.generate([first, second])
    alone = generator.generate([second])
    assert len(together) == 2 and generator.sample_rate == entry.sample_rate
    for out in together:
        assert out.dtype == np.float32 and out.ndim == 1 and np.isfinite(out).all()
        assert np.sqrt(np.mean(out ** 2)) > 1e-4, "silent output"
        seconds_per_char = len(out) / generator.sample_rate / len(TARGET_TEXT)
        prompt_rate = len(first.audio) / PROMPT_RATE / len(PROMPT_TEXT)
        assert 0.5 < seconds_per_char / prompt_rate < 2, f"{len(out) / generator.sample_rate:.2f} s of speech"
    np.testing.assert_array_equal(together[1], alone[0])
    again = load_generator(entry.name, weights="random", seed=0).generate([first])
    np.testing.assert_array_equal(together[0], again[0])


def test_random_weights_output_follows_the_prompt_and_the_text(generator):
    base, other_voice = generator.generate([prompt(0), prompt(1)])
    n = min(len(base), len(other_voice))
    difference = np.linalg.norm(base[:n] - other_voice[:n]) / np.linalg.norm(base[:n])
    assert difference >= MIN_RELATIVE_DIFFERENCE, f"another prompt voice: relative difference {difference:.3f}"
    (longer,) = generator.generate([prompt(0, target=" ".join([TARGET_TEXT] * 3))])
    assert len(longer) >= 2 * len(base), f"{len(longer)} samples for a text three times as long as {len(base)}'s"
