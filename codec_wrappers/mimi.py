"""Mimi (Défossez et al. 2024, Kyutai's Moshi codec) through transformers' MimiModel.

The `moshi` package pins torch < 2.10 and huggingface-hub < 1.0, so it cannot share an environment with
transformers 5; transformers' port loads the same released weights (hub kyutai/mimi). Follows its documented usage:
`model.encode(input_values[B, 1, T], num_quantizers=n).audio_codes`, then `model.decode(audio_codes).audio_values`,
cut back to the input's length (the last 12.5 Hz frame is padded). `settings.num_quantizers` is the number of RVQ
codebooks kept: the first is the semantic (WavLM-distilled) one.
"""
from __future__ import annotations

from functools import partial

import torch

from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    balanced_quantizer_input,
    residual_codebooks,
    speech_like_probe,
)
from codec_wrappers._transformers_codec import TransformersCodecWrapper


class MimiWrapper(TransformersCodecWrapper):
    model_class = "MimiModel"
    config_class = "MimiConfig"

    @property
    def hop_length(self) -> int:
        arch = self.entry.architecture_params()
        return round(arch["sampling_rate"] / arch["frame_rate"])

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the layers before the quantizer
        on a speech-like probe, draw the zero codebooks of the semantic and the acoustic RVQ from their own input
        projections of the encoder's latents, balance the rest through encode/decode. Codebooks cache their
        normalised table on first use: drop that cache."""
        probe = speech_like_probe(self.sample_rate, seed)
        latents, done = balanced_quantizer_input(model, probe)
        split = model.quantizer
        for index, rvq in enumerate((split.semantic_residual_vector_quantizer,
                                     split.acoustic_residual_vector_quantizer)):
            if rvq.input_proj is not None:
                done |= balance_gains(rvq.input_proj, partial(rvq.input_proj, latents))
            features = (rvq.input_proj(latents) if rvq.input_proj is not None else latents)[0].T
            size = rvq.layers[0].codebook.embed_sum.shape[0]
            for layer, book in zip(rvq.layers, residual_codebooks(features, len(rvq.layers), size, seed + index)):
                layer.codebook.embed_sum.copy_(book)
                layer.codebook.cluster_usage.fill_(1.0)
                layer.codebook._embed = None
        balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        codes = self.model.encode(wav.unsqueeze(1), num_quantizers=self.settings["num_quantizers"]).audio_codes
        return self.model.decode(codes).audio_values[:, 0, : wav.shape[-1]]


WRAPPER = MimiWrapper
