"""Mimi (Défossez et al. 2024, Kyutai's Moshi codec) through transformers' MimiModel.

The `moshi` package pins torch < 2.10 and huggingface-hub < 1.0, so it cannot share an environment with
transformers 5; transformers' port loads the same released weights (hub kyutai/mimi). Follows its documented usage:
`model.encode(input_values[B, 1, T], num_quantizers=n).audio_codes`, then `model.decode(audio_codes).audio_values`,
cut back to the input's length (the last 12.5 Hz frame is padded). `settings.num_quantizers` is the number of RVQ
codebooks kept: the first is the semantic (WavLM-distilled) one.
"""
from __future__ import annotations

import torch

from codec_wrappers._feature_codebooks import codebooks_like
from codec_wrappers._transformers_codec import TransformersCodecWrapper, quantizer_input


class MimiWrapper(TransformersCodecWrapper):
    model_class = "MimiModel"
    config_class = "MimiConfig"

    @property
    def hop_length(self) -> int:
        arch = self.entry.architecture_params()
        return round(arch["sampling_rate"] / arch["frame_rate"])

    def randomize(self, model, seed):
        """Fill the zero codebooks of the semantic and the acoustic RVQ around their own input projections of the
        encoder's latents on a seeded probe. Codebooks cache their normalised table on first use: drop that cache."""
        latents = quantizer_input(model, 2 * self.sample_rate, seed)
        split = model.quantizer
        for index, rvq in enumerate((split.semantic_residual_vector_quantizer,
                                     split.acoustic_residual_vector_quantizer)):
            with torch.no_grad():
                features = (rvq.input_proj(latents) if rvq.input_proj is not None else latents)[0].T
            first = rvq.layers[0].codebook
            books = codebooks_like(features, (len(rvq.layers), *first.embed_sum.shape), seed + index)
            for layer, book in zip(rvq.layers, books):
                layer.codebook.embed_sum.copy_(book)
                layer.codebook.cluster_usage.fill_(1.0)
                layer.codebook._embed = None

    def codec(self, wav):
        codes = self.model.encode(wav.unsqueeze(1), num_quantizers=self.settings["num_quantizers"]).audio_codes
        return self.model.decode(codes).audio_values[:, 0, : wav.shape[-1]]


WRAPPER = MimiWrapper
