"""Wrapper == Amphion's own MaskGCT inference (models/tts/maskgct at the pinned commit), same seeded weights.

The reference is built as maskgct_inference.py builds it: Amphion's builders (maskgct_utils.build_*) make the
networks, `safetensors.torch.load_model` loads them from files written from the wrapper's random weights,
w2v-BERT and its feature extractor come through `from_pretrained` (pointed at a folder of the same weights instead
of the hub), and `MaskGCT_Inference_Pipeline.maskgct_inference` runs on a prompt file with its own default settings
(none passed here), under the same torch seed. The output must be bit-identical. One step is not in
maskgct_inference.py: on the CPU the acoustic decoder's ISTFT window needs storage of its own before
`load_model` (cosg_wrappers.maskgct.own_storage; the script's move to cuda:0 does that). The registry's released
architecture must be Amphion's config/maskgct.json.

Also here (MaskGCT's file formats): the tiny model written as the released files are (safetensors, w2v-BERT's
config and feature-extractor JSON, lock records as `fetch` writes them, the entry as if every file were `lock: true`)
loads through the pretrained path to the same generator; and a pickle planted where a checkpoint, a w2v-BERT file or
the feature statistics are read is refused with nothing in it run.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import soundfile
import torch

from codecfake import generator_registry, weights
from codecfake.generation import load_generator
from codecfake.synthetic_speech import utterance
from cosg_wrappers.base import Prompt
from tests.test_weights import Marker

ENTRY = generator_registry.get("MaskGCT")
if ENTRY.unavailable():
    pytest.skip(ENTRY.unavailable(), allow_module_level=True)

PROMPT_TEXT = "please call stella and ask her to bring these things"
TARGET_TEXT = "six spoons of fresh snow peas and five thick slabs of blue cheese"
PROMPT = Prompt(utterance(np.random.default_rng(0), 2.0), PROMPT_TEXT, TARGET_TEXT)


@pytest.fixture(scope="module")
def generator():
    torch.set_num_threads(1)
    return load_generator("MaskGCT", weights="random", seed=0)


def test_registry_architecture_is_amphions_config():
    from cosg_wrappers.maskgct import in_amphion_root

    with in_amphion_root() as root:
        released = json.loads((root / "models/tts/maskgct/config/maskgct.json").read_text())["model"]
    assert ENTRY.architecture["maskgct"] == released


def test_matches_amphion_maskgct_inference(generator, tmp_path):
    import safetensors.torch
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

    from cosg_wrappers.maskgct import hparams, maskgct_utils, own_storage

    wrapper = generator
    assert wrapper.sample_rate == 24000  # maskgct_inference.py writes its output at 24000 Hz
    parts = wrapper.model.parts
    w2v = tmp_path / "w2v-bert-2.0"
    parts["semantic_model"].save_pretrained(w2v, safe_serialization=True)
    wrapper.model.processor.save_pretrained(w2v)
    files = {name: tmp_path / f"{name}.safetensors" for name in
             ("semantic_codec", "codec_encoder", "codec_decoder", "t2s_model", "s2a_model_1layer", "s2a_model_full")}
    for name, path in files.items():
        save_safetensors(parts[name], path)

    utils = maskgct_utils()
    cfg = hparams(ENTRY.random_architecture["maskgct"])
    device = torch.device("cpu")
    semantic_model = Wav2Vec2BertModel.from_pretrained(w2v).eval()
    semantic_codec = utils.build_semantic_codec(cfg.semantic_codec, device)
    codec_encoder, codec_decoder = utils.build_acoustic_codec(cfg.acoustic_codec, device)
    own_storage(codec_decoder)  # what maskgct_inference's move to cuda:0 does before loading (a CPU run needs it)
    t2s_model = utils.build_t2s_model(cfg.t2s_model, device)
    s2a_model_1layer = utils.build_s2a_model(cfg.s2a_model.s2a_1layer, device)
    s2a_model_full = utils.build_s2a_model(cfg.s2a_model.s2a_full, device)
    for model, name in ((semantic_codec, "semantic_codec"), (codec_encoder, "codec_encoder"),
                        (codec_decoder, "codec_decoder"), (t2s_model, "t2s_model"),
                        (s2a_model_1layer, "s2a_model_1layer"), (s2a_model_full, "s2a_model_full")):
        safetensors.torch.load_model(model, str(files[name]))
    from_pretrained = SeamlessM4TFeatureExtractor.from_pretrained
    with mock.patch.object(utils.SeamlessM4TFeatureExtractor, "from_pretrained",
                           lambda name, **kwargs: from_pretrained(w2v if name == "facebook/w2v-bert-2.0" else name)):
        pipeline = utils.MaskGCT_Inference_Pipeline(
            semantic_model, semantic_codec, codec_encoder, codec_decoder, t2s_model, s2a_model_1layer,
            s2a_model_full, wrapper.model.semantic_mean, wrapper.model.semantic_std, device)

    audio = utterance(np.random.default_rng(3), 2.5)
    prompt_wav = tmp_path / "prompt.wav"
    soundfile.write(prompt_wav, audio, 16000, subtype="FLOAT")  # librosa.load gives these samples back exactly
    torch.manual_seed(0)
    expected = pipeline.maskgct_inference(str(prompt_wav), PROMPT_TEXT, TARGET_TEXT)
    (got,) = wrapper.generate([Prompt(audio, PROMPT_TEXT, TARGET_TEXT)])
    assert got.shape == expected.shape and np.sqrt(np.mean(expected ** 2)) > 1e-4
    np.testing.assert_array_equal(got, expected)


# -- released-format files and planted pickles ------------------------------------------------------------------
def save_safetensors(module: torch.nn.Module, path) -> None:
    """A network's weights as a safetensors file (copies: safetensors refuses views, e.g. the ISTFT window)."""
    import safetensors.torch

    safetensors.torch.save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()},
                                str(path))


def released_files(generator, weights_dir: Path):
    """The tiny model written as its released files would be (safetensors, w2v-BERT's config and feature extractor
    JSON), at the paths codecfake.weights expects, each locked as `fetch` records a download; and the entry as if
    every file were `lock: true` (its architecture the tiny one)."""
    from cosg_wrappers import maskgct

    locked = {key: {name: spec[name] for name in ("hub", "revision", "file")} | {"lock": True}
              for key, spec in ENTRY.weights.items()}
    tiny = dataclasses.replace(ENTRY, architecture=ENTRY.random_architecture, weights=locked)
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


def test_released_files_load_to_the_same_generator(generator, tmp_path, monkeypatch):
    """The pretrained path (verified safetensors files, Amphion's loaders) gives back the model it was written from."""
    from cosg_wrappers import maskgct

    tiny, _, stats = released_files(generator, tmp_path)
    monkeypatch.setattr(maskgct, "STATS", str(stats))
    monkeypatch.setattr(generator_registry, "get", lambda name: tiny)
    loaded = load_generator(ENTRY.name, weights="pretrained", seed=0, weights_dir=tmp_path)
    np.testing.assert_array_equal(loaded.generate([PROMPT])[0], generator.generate([PROMPT])[0])


@pytest.mark.parametrize("planted", ["t2s_model", "w2v_bert_model", "w2v_bert_preprocessor", "statistics"])
def test_a_planted_pickle_runs_nothing(generator, tmp_path, monkeypatch, planted):
    from safetensors import SafetensorError

    from codec_wrappers._checkpoints import UnsafeCheckpoint
    from cosg_wrappers import maskgct

    tiny, paths, stats = released_files(generator, tmp_path)
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
        load_generator(ENTRY.name, weights="pretrained", seed=0, weights_dir=tmp_path)
    assert not marker.exists(), f"loading {target.name} ran code: {refused.value}"
