"""Self-supervised speech front-ends (wav2vec 2.0 / XLS-R, WavLM) from transformers, fine-tuned or frozen.

Pretrained weights come from the hub at a pinned commit only, through a cache folder the `fetch_ssl_weights`
rule fills on a machine with internet; with HF_HUB_OFFLINE=1 a missing cache fails at once with what to do.
A checkpoint stores the front-end's full architecture (`architecture()`), so scoring rebuilds it offline and
loads the fine-tuned weights without the hub.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from codecfake.download import DownloadFailed, hub_file, require_commit
from codecfake.errors import UserError


class SSLWeightsUnavailable(UserError):
    pass


def _classes(kind: str):
    from transformers import Wav2Vec2Config, Wav2Vec2Model, WavLMConfig, WavLMModel

    classes = {"wav2vec2": (Wav2Vec2Config, Wav2Vec2Model), "wavlm": (WavLMConfig, WavLMModel)}
    if kind not in classes:
        raise ValueError(f"unknown SSL front-end kind {kind!r}; known: {', '.join(classes)}")
    return classes[kind]


def check_revision(name: str, revision: str | None) -> str:
    try:
        return require_commit(revision, f"SSL front-end {name}")
    except DownloadFailed as err:
        raise SSLWeightsUnavailable(f"{err}; set arch.ssl.revision in the cm config") from err


#: The files `from_pretrained` reads: the config and one of the weight formats (safetensors preferred).
FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


def fetch(name: str, revision: str, cache_dir: str | Path) -> list[str]:
    """Download config and weights of `name` at `revision` into cache_dir (run where there is internet), each
    checked against the digest the hub publishes at that commit (codecfake.download's policy)."""
    from huggingface_hub import HfApi

    check_revision(name, revision)
    try:
        listed = {info.path for info in HfApi().get_paths_info(name, list(FILES), revision=revision)}
        wanted = ["config.json", "model.safetensors" if "model.safetensors" in listed else "pytorch_model.bin"]
        return [str(hub_file(name, file, revision, cache_dir=cache_dir)) for file in wanted]
    except SSLWeightsUnavailable:
        raise
    except Exception as err:
        raise SSLWeightsUnavailable(f"could not fetch {name}@{revision} into {cache_dir}: "
                                    f"{type(err).__name__}: {err}") from err


class SSLFrontend(nn.Module):
    """Waveform (B, samples) -> hidden states (B, hidden, frames) of the last (or `layer`-th) layer.

    Without `layer`: the model's output (`last_hidden_state`, which for pre-LayerNorm models such as XLS-R and
    WavLM-large includes the encoder's final LayerNorm, as fairseq's `features_only` output that
    SSL_Anti-spoofing fine-tunes). With `layer` N: `hidden_states[N]`, the output of the N-th transformer layer
    without the final LayerNorm, as Codecfake extracts it; only the first N layers are built (a frozen layer-5
    front-end costs a fifth of the full model) and the final LayerNorm is dropped. `normalize_input` standardises
    each waveform (Codecfake's Wav2Vec2FeatureExtractor does; SSL_Anti-spoofing feeds it raw).
    `config` overrides the architecture (random weights when `pretrained` is null).
    """

    def __init__(self, kind: str, pretrained: str | None = None, revision: str | None = None,
                 config: dict | None = None, layer: int | None = None, freeze: bool = False,
                 normalize_input: bool = True, cache_dir: str | None = None):
        super().__init__()
        config_class, model_class = _classes(kind)
        overrides = dict(config or {})
        if layer:
            overrides["num_hidden_layers"] = int(layer)
        if pretrained:
            check_revision(pretrained, revision)
            try:
                self.model = model_class.from_pretrained(pretrained, revision=revision, cache_dir=cache_dir,
                                                         **overrides)
            except OSError as err:
                raise SSLWeightsUnavailable(
                    f"SSL front-end {pretrained}@{revision} is not in the cache {cache_dir} and cannot be downloaded "
                    f"({type(err).__name__}). Run `snakemake fetch_ssl_weights` (or `codecfake fetch ssl-weights`) "
                    f"where there is internet, or give arch.ssl.config with pretrained: null for a random-weight "
                    f"test run.") from err
        else:
            self.model = model_class(config_class.from_dict(overrides))
        if layer and self.model.config.do_stable_layer_norm:
            self.model.encoder.layer_norm = nn.Identity()  # applied after the last kept layer: not hidden_states[N]
        self.kind = kind
        self.layer = layer
        self.freeze = freeze
        self.normalize_input = normalize_input
        self.out_features = self.model.config.hidden_size
        if freeze:
            self.model.requires_grad_(False)
            self.model.eval()

    def architecture(self) -> dict:
        """Arguments that rebuild this front-end offline (weights then come from the CM checkpoint)."""
        return {"kind": self.kind, "pretrained": None, "revision": None, "config": self.model.config.to_dict(),
                "layer": self.layer, "freeze": self.freeze, "normalize_input": self.normalize_input}

    def frames(self, samples: int) -> int:
        return int(self.model._get_feat_extract_output_lengths(samples))

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.model.eval()  # a frozen front-end keeps dropout off whatever the CM's mode
        return self

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if self.normalize_input:  # Wav2Vec2FeatureExtractor's do_normalize: (x - mean) / sqrt(population var + 1e-7)
            wave = ((wave - wave.mean(dim=-1, keepdim=True))
                    / torch.sqrt(wave.var(dim=-1, keepdim=True, correction=0) + 1e-7))
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            hidden = self.model(wave).last_hidden_state
        return hidden.transpose(1, 2)
