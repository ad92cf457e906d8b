"""Every CM model builds from its preset with tiny overrides, runs forward/backward, and rebuilds offline."""
import time

import numpy as np
import pytest
import torch

from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.models.ssl_frontend import SSLFrontend, SSLWeightsUnavailable
from codecfake.cm.presets import model_names, resolve
from tests.cm_fixtures import one_thread  # noqa: F401 (autouse)

TINY_SSL = {"pretrained": None, "revision": None,
            "config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                       "conv_dim": [16, 16, 16], "conv_kernel": [10, 4, 4], "conv_stride": [5, 8, 8],
                       "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}}
TINY_AASIST = {"encoder": [[1, 4], [4, 8], [8, 8]], "gat_dims": [8, 8]}
TINY = {
    "aasist": {**TINY_AASIST, "sinc": {"filters": 12, "kernel": 32}},
    "aasist_l": {**TINY_AASIST, "sinc": {"filters": 12, "kernel": 32}},
    "w2v2_aasist": {**TINY_AASIST, "ssl": TINY_SSL, "projection": 24},
    "wavlm_aasist": {**TINY_AASIST, "ssl": {**TINY_SSL, "layer": 1}, "projection": 24},
    "w2v2_aasist_frozen": {**TINY_AASIST, "ssl": {**TINY_SSL, "layer": 1}, "projection": 24},
    "mel_lcnn": {"mel": {"n_mels": 32}},
    "w2v2_lcnn": {"ssl": {**TINY_SSL, "layer": 1}},
}
SAMPLES = 16000
#: LCNN flattens its map, so its input length is fixed by the crop.
TINY_TRAIN = {"crop_samples": SAMPLES}


def test_every_preset_has_a_tiny_test_config():
    assert sorted(TINY) == sorted(model_names())


@pytest.mark.parametrize("name", sorted(TINY))
def test_forward_backward(name):
    torch.manual_seed(0)
    model = build_model(resolve(name, TINY[name], TINY_TRAIN))
    model.train()
    logits = model(torch.randn(3, SAMPLES))
    assert logits.shape == (3, 2) and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 1])).backward()
    # wav2vec 2.0's mask embedding is used only by SpecAugment masking, which the presets turn off; AASIST's bn1
    # is the pre-activation the references compute and discard (pre_activation: false)
    unused = ("masked_spec_embed", ".bn1.weight", ".bn1.bias")
    trainable = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(unused)]
    assert trainable and all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)
    assert any(p.grad.abs().sum() > 0 for p in trainable)


def test_frozen_ssl_frontend_gets_no_gradient():
    spec = resolve("w2v2_lcnn", TINY["w2v2_lcnn"], TINY_TRAIN)
    assert spec["arch"]["ssl"]["freeze"] is True
    model = build_model(spec)
    model.train()
    assert not model.frontend.model.training  # dropout stays off in a frozen front-end
    model(torch.randn(2, SAMPLES)).sum().backward()
    assert all(p.grad is None for p in model.frontend.parameters())


def test_pre_activation_option_uses_bn1():
    spec = resolve("aasist", {**TINY["aasist"], "pre_activation": True}, TINY_TRAIN)
    model = build_model(spec)
    model(torch.randn(2, SAMPLES)).sum().backward()
    assert model.encoder[1][0].bn1.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", ["wav2vec2", "wavlm"])
def test_layer_n_is_hidden_states_n_without_the_final_layer_norm(kind):
    """XLS-R and WavLM-large are pre-LayerNorm models: hidden_states[N] (what Codecfake reads) is the N-th layer's
    raw output; the encoder's final LayerNorm only follows the last layer."""
    torch.manual_seed(0)
    config = {**TINY_SSL["config"], "do_stable_layer_norm": True}
    full = SSLFrontend(kind, config=config, normalize_input=False).eval()
    first = SSLFrontend(kind, config=config, layer=1, normalize_input=False).eval()
    missing, _ = first.load_state_dict(full.state_dict(), strict=False)
    assert missing == []
    wave = torch.randn(2, SAMPLES)
    with torch.no_grad():
        expected = full.model(wave, output_hidden_states=True).hidden_states[1].transpose(1, 2)
        assert torch.allclose(first(wave), expected, atol=1e-6)
        assert not torch.allclose(full(wave), full.model(wave, output_hidden_states=True).hidden_states[2]
                                  .transpose(1, 2), atol=1e-3)  # the model output does include the final norm


def test_input_normalisation_is_the_feature_extractors():
    from transformers import Wav2Vec2FeatureExtractor

    frontend = SSLFrontend("wav2vec2", config=TINY_SSL["config"], normalize_input=True).eval()
    seen = []
    frontend.model.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    wave = torch.randn(1, 4000) * 0.3 + 0.1
    frontend(wave)
    expected = Wav2Vec2FeatureExtractor(do_normalize=True)(wave[0].numpy(), sampling_rate=16000).input_values[0]
    assert np.allclose(seen[0][0].numpy(), expected, atol=1e-5)


def test_layer_keeps_only_the_first_layers():
    model = build_model(resolve("wavlm_aasist", TINY["wavlm_aasist"]))
    assert model.frontend.model.config.num_hidden_layers == 1


@pytest.mark.parametrize("name", ["w2v2_aasist", "mel_lcnn"])
def test_offline_spec_rebuilds_the_same_network(name):
    torch.manual_seed(0)
    spec = resolve(name, TINY[name], TINY_TRAIN)
    model = build_model(spec).eval()
    rebuilt = build_model(offline_spec(model, spec)).eval()
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(2, SAMPLES)
    with torch.no_grad():
        assert torch.allclose(model(x), rebuilt(x))


def test_pretrained_needs_a_pinned_revision():
    spec = resolve("w2v2_aasist", {"ssl": {"revision": "main"}})
    with pytest.raises(SSLWeightsUnavailable, match="not a pinned"):
        build_model(spec)


def test_pretrained_fails_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(SSLWeightsUnavailable, match="fetch_ssl_weights"):
        build_model(resolve("w2v2_aasist"), cache_dir=str(tmp_path))
    assert time.perf_counter() - started < 10


def test_presets_carry_the_papers_defaults():
    w2v2 = resolve("w2v2_aasist")
    assert w2v2["train"]["lr"] == 1e-6 and w2v2["train"]["weight_decay"] == 1e-4
    assert w2v2["train"]["batch_size"] == 14 and w2v2["train"]["rawboost"] == 5
    assert w2v2["arch"]["ssl"]["pretrained"] == "facebook/wav2vec2-xls-r-300m"
    assert w2v2["train"]["crop_samples"] == 64600
    assert resolve("aasist")["train"]["class_weights"] == {"spoof": 0.1, "bonafide": 0.9}
    assert resolve("aasist", train={"lr": 0.5})["train"]["lr"] == 0.5
