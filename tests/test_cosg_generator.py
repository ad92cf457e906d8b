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
- the weights loader refuses a planted pickle wherever a checkpoint, the w2v-BERT files or the feature statistics
  are read, and nothing in it runs (released-format files built from the tiny model, lock records written for them
  as `fetch` would, the entry as if every file were `lock: true`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from codecfake import generator_registry, weights
from codecfake.generation import load_generator
from codecfake.synthetic_speech import utterance
from cosg_wrappers.base import PROMPT_RATE, Prompt
from tests.test_codec_contract import MIN_RELATIVE_DIFFERENCE
from tests.test_weights import Marker

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


# -- planted pickles -----------------------------------------------------------------------------------------------
def save_safetensors(module: torch.nn.Module, path) -> None:
    """A network's weights as a safetensors file (copies: safetensors refuses views, e.g. the ISTFT window)."""
    import safetensors.torch

    safetensors.torch.save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()},
                                str(path))


def released_files(entry, generator, weights_dir: Path):
    """The tiny model written as its released files would be (safetensors, w2v-BERT's config and feature extractor
    JSON), at the paths codecfake.weights expects, each locked as `fetch` records a download; and the entry as if
    every file were `lock: true` (its architecture the tiny one)."""
    from cosg_wrappers import maskgct

    locked = {key: {name: spec[name] for name in ("hub", "revision", "file")} | {"lock": True}
              for key, spec in entry.weights.items()}
    tiny = dataclasses.replace(entry, architecture=entry.random_architecture, weights=locked)
    paths = {key: weights.local_path(tiny, spec, weights_dir) for key, spec in locked.items()}
    parts = generator.model.parts
    parts["semantic_model"].save_pretrained(paths["w2v_bert_model"].parent, safe_serialization=True)
    generator.model.processor.to_json_file(paths["w2v_bert_preprocessor"])
    for key, part in maskgct.CHECKPOINTS.items():
        paths[key].parent.mkdir(parents=True, exist_ok=True)
        save_safetensors(parts[part], paths[key])
    for key, path in paths.items():
        weights.write_record(weights_dir, path, locked[key], locked[key]["revision"], weights.verify(path, None))
    stats = weights_dir / "stats.pt"
    torch.save({"mean": generator.model.semantic_mean, "var": generator.model.semantic_std ** 2}, stats)
    return tiny, paths, stats


def test_released_files_load_to_the_same_generator(entry, generator, tmp_path, monkeypatch):
    """The pretrained path (verified safetensors files, Amphion's loaders) gives back the model it was written from."""
    from cosg_wrappers import maskgct

    tiny, _, stats = released_files(entry, generator, tmp_path)
    monkeypatch.setattr(maskgct, "STATS", str(stats))
    monkeypatch.setattr(generator_registry, "get", lambda name: tiny)
    loaded = load_generator(entry.name, weights="pretrained", seed=0, weights_dir=tmp_path)
    np.testing.assert_array_equal(loaded.generate([prompt(0)])[0], generator.generate([prompt(0)])[0])


@pytest.mark.parametrize("planted", ["t2s_model", "w2v_bert_model", "w2v_bert_preprocessor", "statistics"])
def test_a_planted_pickle_runs_nothing(entry, generator, tmp_path, monkeypatch, planted):
    from safetensors import SafetensorError

    from codec_wrappers._checkpoints import UnsafeCheckpoint
    from cosg_wrappers import maskgct

    tiny, paths, stats = released_files(entry, generator, tmp_path)
    marker = tmp_path / "ran"
    target = stats if planted == "statistics" else paths[planted]
    torch.save({"mean": Marker(marker), "var": torch.ones(1)}, target)
    if planted != "statistics":  # a lock record vouching for the planted file: it only detects change
        spec = tiny.weights[planted]
        weights.write_record(tmp_path, target, spec, spec["revision"], weights.verify(target, None))
    monkeypatch.setattr(maskgct, "STATS", str(stats))
    monkeypatch.setattr(generator_registry, "get", lambda name: tiny)
    # safetensors and JSON readers find no header in a pickle; the statistics reader (checkpoint_loads) refuses it
    with pytest.raises((SafetensorError, UnicodeDecodeError, UnsafeCheckpoint)) as refused:
        load_generator(entry.name, weights="pretrained", seed=0, weights_dir=tmp_path)
    assert not marker.exists(), f"loading {target.name} ran code: {refused.value}"
