"""Wrapper == Amphion's own MaskGCT inference (models/tts/maskgct at the pinned commit), same seeded weights.

The reference is built as maskgct_inference.py builds it: Amphion's builders (maskgct_utils.build_*) make the
networks, `safetensors.torch.load_model` loads them from files written from the wrapper's random weights,
w2v-BERT and its feature extractor come through `from_pretrained` (pointed at a folder of the same weights instead
of the hub), and `MaskGCT_Inference_Pipeline.maskgct_inference` runs on a prompt file with its own default settings
(none passed here), under the same torch seed. The output must be bit-identical. One step is not in
maskgct_inference.py: on the CPU the acoustic decoder's ISTFT window needs storage of its own before
`load_model` (cosg_wrappers.maskgct.own_storage; the script's move to cuda:0 does that). The registry's released
architecture must be Amphion's config/maskgct.json.
"""
from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
import soundfile
import torch

from codecfake import generator_registry
from codecfake.generation import load_generator
from codecfake.synthetic_speech import utterance
from cosg_wrappers.base import Prompt
from tests.test_cosg_generator import save_safetensors

ENTRY = generator_registry.get("MaskGCT")
if ENTRY.unavailable():
    pytest.skip(ENTRY.unavailable(), allow_module_level=True)

PROMPT_TEXT = "please call stella and ask her to bring these things"
TARGET_TEXT = "six spoons of fresh snow peas and five thick slabs of blue cheese"


def test_registry_architecture_is_amphions_config():
    from cosg_wrappers.maskgct import in_amphion_root

    with in_amphion_root() as root:
        released = json.loads((root / "models/tts/maskgct/config/maskgct.json").read_text())["model"]
    assert ENTRY.architecture["maskgct"] == released


def test_matches_amphion_maskgct_inference(tmp_path):
    import safetensors.torch
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

    from cosg_wrappers.maskgct import hparams, maskgct_utils, own_storage

    torch.set_num_threads(1)
    wrapper = load_generator("MaskGCT", weights="random", seed=0)
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
