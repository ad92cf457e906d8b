"""X-Codec (Ye et al. 2024, semantic + acoustic RVQ) through transformers' XcodecModel.

transformers ships the authors' checkpoints converted (hub hf-audio/xcodec-*) and the model without the original
repository's hidden HuBERT download and torchaudio import. Follows its documented usage: the feature extractor
pads each waveform to whole frames, `model.encode(input_values[B, 1, T], bandwidth).audio_codes`, then
`model.decode(audio_codes).audio_values`, cut back to the input's length as the model's own `forward` does.
`settings.bandwidth` (kbps, one of the model's target_bandwidths, 0.5 kbps per codebook) selects how many RVQ
codebooks are kept. `settings.input_scale` is the authors' inference.py step transformers leaves out: the waveform
times the training config's audio_norm_scale (0.95) before encoding; the output is not scaled back.
"""
from __future__ import annotations

import torch

from codec_wrappers._random_weights import balance_through_codec, residual_codebooks, speech_like_probe
from codec_wrappers._transformers_codec import TransformersCodecWrapper, balanced_quantizer_input


class XcodecWrapper(TransformersCodecWrapper):
    model_class = "XcodecModel"
    config_class = "XcodecConfig"

    @property
    def hop_length(self) -> int:
        ratios = self.entry.architecture_params()["acoustic_model_config"]["downsampling_ratios"]
        return int(torch.tensor(ratios).prod())

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the acoustic and semantic
        encoders on a speech-like probe, draw the zero RVQ codebooks from their fused embeddings, balance the rest
        through encode/decode."""
        probe = speech_like_probe(self.sample_rate, seed)
        latents, done = balanced_quantizer_input(model, probe)
        layers = model.quantizer.quantizers
        books = residual_codebooks(latents[0].T, len(layers), layers[0].codebook.embed.shape[0], seed)
        for layer, book in zip(layers, books):
            layer.codebook.embed.copy_(book)
            layer.codebook.embed_avg.copy_(book)
            layer.codebook.cluster_size.fill_(1.0)
        balance_through_codec(self, model, probe, skip=done)

    def feature_extractor(self):
        """The released models' preprocessor (DacFeatureExtractor, mono, right-padding to a whole 320-sample frame)."""
        from transformers import DacFeatureExtractor

        return DacFeatureExtractor(feature_size=1, sampling_rate=self.sample_rate, hop_length=self.hop_length)

    def codec(self, wav):
        scaled = wav * self.settings.get("input_scale", 1.0)
        inputs = self.feature_extractor()(raw_audio=list(scaled.cpu().numpy()), sampling_rate=self.sample_rate,
                                          return_tensors="pt")
        codes = self.model.encode(inputs["input_values"].to(self.device), bandwidth=self.settings["bandwidth"])
        return self.model.decode(codes.audio_codes).audio_values[:, 0, : wav.shape[-1]]


WRAPPER = XcodecWrapper
