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
from codec_wrappers._random_weights import (
    balance_gains,
    balance_through_codec,
    fill_factorized_codebooks,
    speech_like_probe,
)
from codec_wrappers.base import CodecWrapper


class FACodecWrapper(CodecWrapper):
    requires = ("models", "pyworld")  # pyworld: ns3_codec imports it; tells Amphion's `models` from HILCodec's

    @cached_property  # read once from the registry entry's architecture
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

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the encoder, then the decoder's
        prosody and timbre branches, on a speech-like probe; draw each factorized quantizer's codebook from what it
        quantizes (prosody: the mel-prosody branch; content: the encoder output; residual: what those two leave);
        then balance the waveform generator through encode/decode. `timbre_linear` keeps its initial bias (gamma 1,
        beta 0): zeroing it would silence the generator's input."""
        model.eval()  # Amphion's ResidualVQ in training mode draws quantizer dropout
        encoder, decoder = model["encoder"], model["decoder"]
        probe = speech_like_probe(self.sample_rate, seed)
        x = F.pad(probe, (0, -probe.shape[-1] % self.hop_length))
        balance_gains(encoder, lambda: encoder(x))
        enc_out, prosody = encoder(x), encoder.get_prosody_feature(x)
        quantizers = list(decoder.quantizer.modules())
        balance_gains(decoder, lambda: decoder(enc_out, prosody, eval_vq=False, vq=True),
                      skip=[*quantizers, decoder.timbre_linear])
        prosody_input = decoder.melspec_encoder(decoder.melspec_linear(prosody.transpose(1, 2)), None, None)
        prosody_input = prosody_input.transpose(1, 2)
        fill_factorized_codebooks(decoder.quantizer[0].layers, prosody_input, seed)
        fill_factorized_codebooks(decoder.quantizer[1].layers, enc_out, seed + 1)
        explained = decoder.quantizer[0](prosody_input)[0] + decoder.quantizer[1](enc_out)[0]
        fill_factorized_codebooks(decoder.quantizer[2].layers, enc_out - explained, seed + 2)
        generator = set(decoder.model.modules())
        balance_through_codec(self, model, probe, skip=[m for m in model.modules() if m not in generator])

    def codec(self, wav):
        length = wav.shape[-1]
        x = F.pad(wav, (0, -length % self.hop_length)).unsqueeze(1)
        encoder, decoder = self.model["encoder"], self.model["decoder"]
        enc_out = encoder(x)
        prosody = encoder.get_prosody_feature(x)
        vq_post_emb, _, _, _, spk_embs = decoder(enc_out, prosody, eval_vq=False, vq=True)
        return decoder.inference(vq_post_emb, spk_embs).squeeze(1)[:, :length]


WRAPPER = FACodecWrapper
