"""BigCodec (Xin et al. 2024, single-codebook low-bitrate speech codec) through the authors' `vq` modules.

BigCodec is GitHub-only and has no setup.py: its env puts the pinned commit on the import path
(the entry's `upstream:`). Follows the authors' inference.py: `CodecEncoder()` / `CodecDecoder()` loaded from
bigcodec.pt's `CodecEnc` / `generator` entries, the waveform right-padded by `200 - T % 200` samples (a whole extra
hop when T is already a multiple), `vq_emb = encoder(wav[B, 1, T])`, `vq_post_emb, codes, _ = decoder(vq_emb,
vq=True)`, `decoder(vq_post_emb, vq=False)`; the output is cut back to the input's length.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from codec_wrappers._feature_codebooks import codebooks_like
from codec_wrappers._random_weights import balance_gains, balance_through_codec, speech_like_probe
from codec_wrappers.base import CodecWrapper


class BigCodecWrapper(CodecWrapper):
    requires = ("vq",)

    @property
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["encoder"]["up_ratios"]).prod())

    def build(self, arch):
        from vq.codec_decoder import CodecDecoder
        from vq.codec_encoder import CodecEncoder

        return torch.nn.ModuleDict({"encoder": CodecEncoder(**arch["encoder"]),
                                    "decoder": CodecDecoder(**arch["decoder"])})

    def load_pretrained(self, arch, files):
        model = self.build(arch)
        # As inference.py loads it; read through CodecWrapper.load's checkpoint_loads() (weights only, allowlist).
        checkpoint = torch.load(files["model"], map_location="cpu")
        model["encoder"].load_state_dict(checkpoint["CodecEnc"])
        model["decoder"].load_state_dict(checkpoint["generator"])
        return model

    def randomize(self, model, seed):
        """An untrained encoder's projected latents nearly share one direction, so the cosine lookup picks a handful
        of the 8192 random codes: draw the codebook around those latents on a seeded probe."""
        probe = speech_like_probe(self.sample_rate, seed)
        with torch.no_grad():  # gains balanced before and after (codec_wrappers._random_weights)
            done = balance_gains(model["encoder"], lambda: model["encoder"](probe))
            latents = model["encoder"](probe)
            for layer in model["decoder"].quantizer.layers:
                features = F.normalize(layer.in_proj(latents.transpose(1, 2))[0], dim=-1)
                book = layer.codebook.weight
                book.copy_(codebooks_like(features, (1, *book.shape), seed)[0])
            balance_through_codec(self, model, probe, skip=done)

    def codec(self, wav):
        padded = F.pad(wav, (0, self.hop_length - wav.shape[-1] % self.hop_length))
        vq_emb = self.model["encoder"](padded.unsqueeze(1))
        vq_post_emb, _codes, _loss = self.model["decoder"](vq_emb, vq=True)
        return self.model["decoder"](vq_post_emb, vq=False)[:, 0, : wav.shape[-1]]


WRAPPER = BigCodecWrapper
