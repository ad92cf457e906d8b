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

from codec_wrappers.base import CodecWrapper


def read_audio(path):
    """What `torchaudio.load` returns: a [channels, samples] float tensor and the rate."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), rate


class SemantiCodecWrapper(CodecWrapper):
    requires = ("semanticodec",)

    @cached_property  # read once from the registry's architecture file
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
        from semanticodec.config import get_config
        from semanticodec.modules.decoder.latent_diffusion.util import instantiate_from_config
        from semanticodec.modules.encoder.encoder import AudioMAEConditionQuantResEncoder

        config, _, feature_dim, lstm_layers, _ = get_config(arch["token_rate"], arch["semantic_vocab_size"])
        with tempfile.TemporaryDirectory() as tmp:
            centroids, encoder, decoder = (Path(tmp, f) for f in ("centroids.npy", "encoder.ckpt", "decoder.ckpt"))
            np.save(centroids, torch.randn(arch["semantic_centroids"], feature_dim).numpy())
            torch.save(AudioMAEConditionQuantResEncoder(feature_dimension=feature_dim, lstm_layer=lstm_layers,
                                                        centroid_npy_path=str(centroids)).state_dict(), encoder)
            torch.save(instantiate_from_config(config["model"]).state_dict(), decoder)
            return self._semanticodec(arch, encoder, decoder, centroids)

    def load_pretrained(self, arch, files):
        return self._semanticodec(arch, files["encoder"], files["decoder"], files["centroids"])

    def load(self, *args, **kwargs):
        super().load(*args, **kwargs)
        self.model.device = self.device  # SemantiCodec moves its input to this device (it picks CUDA by itself)
        return self

    def codec(self, wav):
        from semanticodec import main

        decoded = []
        with tempfile.TemporaryDirectory() as tmp, mock.patch.object(main.torchaudio, "load", read_audio):
            for item in wav.cpu().numpy():
                path = str(Path(tmp, "utterance.wav"))
                sf.write(path, item, self.sample_rate, subtype="FLOAT")
                tokens = self.model.encode(path)
                waveform = torch.as_tensor(np.asarray(self.model.decode(tokens))).reshape(-1)
                decoded.append(waveform[: wav.shape[-1]])
        return torch.stack(decoded).to(wav.device)


WRAPPER = SemantiCodecWrapper
