"""SemantiCodec (Liu et al. 2024) through the `semanticodec` package's `SemantiCodec` class.

As the README shows: `SemantiCodec(token_rate, semantic_vocab_size)`, `tokens = encode(filepath)`,
`waveform = decode(tokens)` (latent diffusion, so decoding is stochastic: seed torch for reproducible output).
The class only builds from a checkpoint directory (encoder.ckpt, decoder.ckpt, codebook_idx/.../*.npy) and only
encodes audio files, so the wrapper
- lays the verified files (or, for random weights, freshly initialised upstream modules) out as that directory;
- writes each utterance to a temporary float WAV and reads it through soundfile where upstream calls
  `torchaudio.load` (torchaudio >= 2.9 loads through torchcodec, which is not installed);
- trims the output, which upstream pads to whole 0.16 s AudioMAE patches, to the input length.
"""
from __future__ import annotations

import tempfile
from functools import cached_property
from pathlib import Path
from unittest import mock

import numpy as np
import soundfile as sf
import torch

from codec_wrappers._random_weights import BALANCED_LAYERS, balance_gains, speech_like_probe
from codec_wrappers.base import CodecWrapper


def read_audio(path):
    """What `torchaudio.load` returns: a [channels, samples] float tensor and the rate."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), rate


#: Factor on the UNet's cross-attention queries in random weights: with default initialisation the attention over the
#: tokens is nearly uniform (logits spread ~0.2), so every frame sees the same average of the whole window.
ATTENTION_SHARPNESS = 16.0


class SemantiCodecWrapper(CodecWrapper):
    requires = ("semanticodec",)

    @cached_property  # read once from the registry entry's architecture
    def hop_length(self) -> int:
        """Samples per token frame (a frame is one semantic and one acoustic token)."""
        return 2 * self.sample_rate // int(self.entry.architecture_params()["token_rate"])

    def _semanticodec(self, arch: dict, encoder: Path, decoder: Path, centroids: Path):
        from semanticodec import SemantiCodec
        from semanticodec.config import get_config

        with tempfile.TemporaryDirectory() as tmp:
            *_, centroid_path = get_config(arch["token_rate"], arch["semantic_vocab_size"], tmp)
            layout = {Path(tmp, "encoder.ckpt"): encoder, Path(tmp, "decoder.ckpt"): decoder,
                      Path(centroid_path): centroids}
            for link, target in layout.items():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(Path(target).resolve())
            return SemantiCodec(arch["token_rate"], arch["semantic_vocab_size"], checkpoint_path=tmp,
                                ddim_sample_step=self.settings["ddim_sample_step"],
                                cfg_scale=self.settings["cfg_scale"])

    def build(self, arch):
        """Upstream's SemantiCodec around freshly initialised upstream modules, assembled in place. Laying them out
        as a checkpoint folder for its constructor held every weight twice while it loaded (the state dict and the
        new module): at 0.35 kbps, whose residual LSTM alone has 1.51 G parameters, that build peaked at 15.7 GB.
        The attributes set are the ones its constructor sets; tests/parity/test_semanticodec.py checks the result
        against a model its constructor built from these weights."""
        from semanticodec import SemantiCodec
        from semanticodec.config import get_config
        from semanticodec.modules.decoder.latent_diffusion.util import instantiate_from_config
        from semanticodec.modules.encoder.encoder import AudioMAEConditionQuantResEncoder

        config, _, feature_dim, lstm_layers, _ = get_config(arch["token_rate"], arch["semantic_vocab_size"])
        with tempfile.TemporaryDirectory() as tmp:  # the encoder reads its centroid table from a file only
            centroids = Path(tmp, "centroids.npy")
            np.save(centroids, torch.randn(arch["semantic_centroids"], feature_dim).numpy())
            encoder = AudioMAEConditionQuantResEncoder(feature_dimension=feature_dim, lstm_layer=lstm_layers,
                                                       centroid_npy_path=str(centroids))
        model = SemantiCodec.__new__(SemantiCodec)
        torch.nn.Module.__init__(model)
        model.token_rate, model.stack_factor_K = arch["token_rate"], 100 / arch["token_rate"]
        model.ddim_sample_step, model.cfg_scale = self.settings["ddim_sample_step"], self.settings["cfg_scale"]
        model.device = self.device
        model.encoder, model.decoder = encoder, instantiate_from_config(config["model"])
        return model

    def load_pretrained(self, arch, files):
        return self._semanticodec(arch, files["encoder"], files["decoder"], files["centroids"])

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights). Untrained, the decoded audio was a
        function of the diffusion noise alone (silence and noise correlated 1.000, two speech inputs differed by
        0.5%), for three reasons, each undone here: the latent-diffusion UNet zero-initialises its output convolution
        and every residual and attention output projection (`zero_module`, as training starts), so it predicts zero
        noise whatever the tokens: those layers get PyTorch's default initialisation; its cross-attention over the
        tokens is nearly uniform: the queries are scaled by ATTENTION_SHARPNESS; and the VAE decoder and vocoder
        are bias-dominated: the whole decoder's gains are balanced through a short sampling of a speech-like
        probe's tokens (the encoder keeps upstream's initialisation: its tokens already follow the input)."""
        torch.manual_seed(seed)
        for layer in model.decoder.modules():
            if isinstance(layer, BALANCED_LAYERS) and not layer.weight.any():
                layer.reset_parameters()
        probe = speech_like_probe(self.sample_rate, seed)[0, 0]
        features = model.encoder.token_to_quantized_feature(self._tokens(model, probe))
        window = int(512 / model.stack_factor_K)
        features = torch.cat([features, -torch.ones(1, window - features.shape[1], features.shape[2])], dim=1)
        cross = [block.attn2 for block in model.decoder.modules() if hasattr(block, "attn2")]
        for attention in cross:
            attention.to_q.weight.mul_(ATTENTION_SHARPNESS)
        balance_gains(model.decoder, lambda: model.decoder.generate_sample(features, ddim_steps=2,
                                                                           unconditional_guidance_scale=1.0),
                      skip=[layer for attention in cross for layer in (attention.to_q, attention.to_k)])

    def load(self, *args, **kwargs):
        super().load(*args, **kwargs)
        self.model.device = self.device  # SemantiCodec moves its input to this device (it picks CUDA by itself)
        return self

    def _tokens(self, model, item: torch.Tensor) -> torch.Tensor:
        """`model.encode` of one waveform, through the audio file it requires."""
        from semanticodec import main

        with tempfile.TemporaryDirectory() as tmp, mock.patch.object(main.torchaudio, "load", read_audio):
            path = str(Path(tmp, "utterance.wav"))
            sf.write(path, item.cpu().numpy(), self.sample_rate, subtype="FLOAT")
            return model.encode(path)

    def codec(self, wav):
        decoded = []
        for item in wav:
            tokens = self._tokens(self.model, item)
            waveform = torch.as_tensor(np.asarray(self.model.decode(tokens))).reshape(-1)
            decoded.append(waveform[: wav.shape[-1]])
        return torch.stack(decoded).to(wav.device)


WRAPPER = SemantiCodecWrapper
