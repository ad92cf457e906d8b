"""The registry entries' architectures equal the configurations the released checkpoints ship with.

Each case reads the REAL released configuration, not the registry: from the upstream repository at the commit the
registry pins (../shared/upstream/<owner>-<repo>-<commit>.tar.gz; skipped where that copy is absent), or, for
hub-only configs, values copied from the hub file page at the pinned revision. `_released_config.check` is the
wrappers' own gate before loading a checkpoint, so a registry edit that drifts from a release fails here.
"""
from __future__ import annotations

import hashlib
import json
import tarfile

import pytest
import yaml

from codec_wrappers import _released_config
from codecfake import registry
from tests.conftest import REPO

#: The steering checkout's shared/ (next to the main checkout, or two levels up from a helper's worktree).
UPSTREAM = next((root / "shared" / "upstream" for root in (REPO, REPO.parent, REPO.parent.parent)
                 if (root / "shared" / "upstream").is_dir()), REPO / "shared" / "upstream")


def upstream_file(owner: str, repo: str, commit: str, path: str) -> str:
    archive = UPSTREAM / f"{owner}-{repo}-{commit}.tar.gz"
    if not archive.exists():
        pytest.skip(f"{archive} is absent")
    with tarfile.open(archive) as tar:
        return tar.extractfile(f"{repo}-{commit}/{path}").read().decode()


def registry_file_path(name: str, key: str) -> list[str]:
    """Owner, repository, commit and path of a registry source pinned as a raw.githubusercontent URL at a commit."""
    url = registry.get(name).weights[key]["url"]
    return url.removeprefix("https://raw.githubusercontent.com/").split("/", 3)


#: Vocos: config.yaml of charactr/vocos-encodec-24khz, unchanged since 79e727a (hub commit page), init_args only.
VOCOS_RELEASED = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.EncodecFeatures",
                          "init_args": {"encodec_model": "encodec_24khz", "bandwidths": [1.5, 3.0, 6.0, 12.0],
                                        "train_codebooks": False}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 128, "dim": 384, "intermediate_dim": 1152, "num_layers": 8,
                               "adanorm_num_embeddings": 4}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 384, "n_fft": 1280, "hop_length": 320, "padding": "same"}},
}
#: SNAC 44 kHz: config.json of hubertsiuzdak/snac_44khz as set by e715b4f "update model weights and config (v1.0)"
#: (hub commit page), the values that commit shows.
SNAC44_RELEASED = {"sampling_rate": 44100, "encoder_dim": 64, "encoder_rates": [2, 3, 8, 8], "decoder_dim": 1536,
                   "decoder_rates": [8, 8, 3, 2], "attn_window_size": 32, "codebook_size": 4096, "codebook_dim": 8,
                   "vq_strides": [8, 4, 2, 1]}


def pinned_config_text(name: str) -> str:
    """The registry's pinned config file as the upstream copy holds it; its sha256 must be the registry's."""
    text = upstream_file(*registry_file_path(name, "config"))
    assert hashlib.sha256(text.encode()).hexdigest() == registry.get(name).weights["config"]["sha256"], name
    return text

#: SpeechTokenizer: speechtokenizer_hubert_avg/config.json of fnlp/SpeechTokenizer (48 lines added by 793c3ac), as
#: its copies on the hub show it; the model keys only.
SPEECHTOKENIZER_RELEASED = {"n_filters": 64, "strides": [8, 5, 4, 2], "dimension": 1024, "semantic_dimension": 768,
                            "bidirectional": True, "dilation_base": 2, "residual_kernel_size": 3,
                            "n_residual_layers": 1, "lstm_layers": 2, "activation": "ELU", "codebook_size": 1024,
                            "n_q": 8, "sample_rate": 16000}


def json_config(name):
    return json.loads(pinned_config_text(name))


def yaml_config(name):
    return yaml.safe_load(pinned_config_text(name))


CASES = {
    # name: (the released configuration, as the wrapper selects it; registry keys it does not carry)
    "HiFi_Codec_16k_320d_large_universal": (lambda: json_config("HiFi_Codec_16k_320d_large_universal"), ()),
    "ticodec_1g1r": (lambda: json_config("ticodec_1g1r"), ()),
    "ticodec_1g2r": (lambda: json_config("ticodec_1g2r"), ()),
    "ticodec_1g4r": (lambda: json_config("ticodec_1g4r"), ()),
    "llm_codec": (lambda: yaml_config("llm_codec")["generator"]["config"],
                  ("local_embedding_shape", "global_embedding_shape")),
    "wavtokenizer_small_320_24k_4096": (lambda: yaml_config("wavtokenizer_small_320_24k_4096")["model"]["init_args"],
                                        ()),
    "languagecodec": (lambda: yaml_config("languagecodec")["model"]["init_args"], ()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_registry_architecture_equals_released_config(name):
    released_fn, left_out = CASES[name]
    arch = {k: v for k, v in registry.get(name).architecture_params().items() if k not in left_out}
    _released_config.check(name, arch, released_fn(), "upstream release")


def test_vocos_architecture_equals_hub_config():
    """The entry's `encodec` key holds the EnCodec architecture, which config.yaml does not carry: EnCodec 24 kHz's,
    as its own entry writes it."""
    arch = registry.get("vocos_encodec_6").architecture_params()
    assert arch.pop("encodec") == registry.get("Encodec_6b24k").architecture_params()
    assert _released_config.differences(arch, VOCOS_RELEASED) == {}


def test_snac_44khz_architecture_equals_hub_config():
    arch = registry.get("snac_44khz").architecture_params()
    found = _released_config.differences(SNAC44_RELEASED, arch)
    assert found == {}, found


def test_speechtokenizer_architecture_equals_hub_config():
    arch = registry.get("SpeechTokenizer_hubert_avg").architecture_params()
    _released_config.check("SpeechTokenizer_hubert_avg", arch, SPEECHTOKENIZER_RELEASED, "hub config.json")
    assert set(arch) == set(SPEECHTOKENIZER_RELEASED)


def test_check_names_a_drifted_value():
    arch = registry.get("ticodec_1g1r").architecture_params()
    drifted = dict(json_config("ticodec_1g1r"), upsample_rates=[8, 5, 4, 2, 2])
    with pytest.raises(ValueError, match="upsample_rates"):
        _released_config.check("ticodec_1g1r", arch, drifted, "edited copy")
