"""FACodec v2 (Ju et al. 2024, NaturalSpeech 3) through Amphion's ns3_codec classes.

Follows the Amphion README for FACodecEncoderV2 / FACodecDecoderV2: encode a [B, 1, T] batch, take its prosody
feature, quantize with `decoder(enc_out, prosody, eval_vq=False, vq=True)` (prosody, content and residual codes
plus a speaker embedding) and reconstruct with `decoder.inference(vq_post_emb, spk_embs)`. The encoder takes
whole 200-sample frames (its mel prosody feature must match the encoder's frame count): input is right-padded to
a multiple of the hop and the output trimmed back. Amphion is not a package: its top-level `models` is what the
README imports.
"""
from __future__ import annotations

from functools import cached_property

import torch
import torch.nn.functional as F

from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers.base import CodecWrapper


class FACodecWrapper(CodecWrapper):
    requires = ("models", "pyworld")  # pyworld: ns3_codec imports it; tells Amphion's `models` from HILCodec's

    @cached_property  # read once from the registry's architecture file
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["encoder"]["up_ratios"]).prod())

    def build(self, arch):
        from models.codec.ns3_codec import FACodecDecoderV2, FACodecEncoderV2

        return torch.nn.ModuleDict({"encoder": FACodecEncoderV2(**arch["encoder"]),
                                    "decoder": FACodecDecoderV2(**arch["decoder"])})

    def load_pretrained(self, arch, files):
        model = self.build(arch)
        with checkpoint_loads():
            for part in ("encoder", "decoder"):
                model[part].load_state_dict(torch.load(files[part]))
        return model

    def codec(self, wav):
        length = wav.shape[-1]
        x = F.pad(wav, (0, -length % self.hop_length)).unsqueeze(1)
        encoder, decoder = self.model["encoder"], self.model["decoder"]
        enc_out = encoder(x)
        prosody = encoder.get_prosody_feature(x)
        vq_post_emb, _, _, _, spk_embs = decoder(enc_out, prosody, eval_vq=False, vq=True)
        return decoder.inference(vq_post_emb, spk_embs).squeeze(1)[:, :length]


WRAPPER = FACodecWrapper
