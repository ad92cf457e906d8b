"""AudioDec (Wu et al. 2023, streaming causal codec + HiFi-GAN vocoder) through the authors' `AudioDec` class.

AudioDec is GitHub-only and has no setup.py: its env puts the pinned commit on the import path
(the entry's `upstream:`). Follows the authors' demoFile.py: `assign_model(settings.model)` names the encoder and
vocoder checkpoints under `exp/`, `AudioDec(...).load_transmitter(enc)` / `.load_receiver(enc, dec)` build them from
the `config.yml` beside each checkpoint (the vocoder reads its statistics from `stats/` relative to the working
directory), then `idx = tx_encoder.quantize(tx_encoder.encode(x[1, 1, T]))`, `y = decoder.decode(rx_encoder.lookup(
idx))[:, :, :T]`. CodecFake+'s "audiodec_24k_320d" is the LibriTTS 24 kHz pair (`libritts_v1`, hop 300).

The streaming convolutions keep each call's tail in one-utterance buffers. Every utterance starts as the CodecFake
pipeline's first file does ([79], AudioDecBenchmark vctk, base_codec/audiodec.py): the encoder from cleared
buffers (`reset_buffer`), the decoder in the state AudioDec's loader leaves it (warmed up on silence), one at a
time. The model is causal end to end, so zero padding after a shorter utterance leaves its output unchanged.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch
import yaml

from codec_wrappers import _released_config
from codec_wrappers._checkpoints import checkpoint_loads, mark_extracted
from codec_wrappers._feature_codebooks import codebooks_like
from codec_wrappers._random_weights import balance_gains, balance_through_codec, speech_like_probe
from codec_wrappers._workdir import working_directory
from codec_wrappers.base import CodecWrapper


class AudioDecWrapper(CodecWrapper):
    requires = ("utils", "models", "layers", "bin")
    causal = True

    @property
    def hop_length(self) -> int:
        return int(torch.tensor(self.entry.architecture_params()["encoder"]["generator_params"]["enc_strides"]).prod())

    def _checkpoints(self) -> dict[str, str]:
        """The encoder and vocoder checkpoints, relative to the AudioDec root, of the configured model."""
        from utils.audiodec import assign_model

        rate, encoder, decoder = assign_model(self.settings["model"])
        if rate != self.sample_rate:
            raise ValueError(f"{self.name}: AudioDec model {self.settings['model']!r} runs at {rate} Hz, "
                             f"the registry says {self.sample_rate}")
        return {"encoder": encoder, "decoder": decoder}

    def _from_root(self, root: Path) -> torch.nn.Module:
        """Load the configured model the way demoFile.py does, from a folder laid out like the AudioDec repo."""
        from utils.audiodec import AudioDec

        paths = self._checkpoints()
        with working_directory(root), checkpoint_loads(), contextlib.redirect_stdout(io.StringIO()):
            audiodec = AudioDec(tx_device="cpu", rx_device="cpu")
            audiodec.load_transmitter(paths["encoder"])
            audiodec.load_receiver(paths["encoder"], paths["decoder"])
        return torch.nn.ModuleDict({"tx_encoder": audiodec.tx_encoder, "rx_encoder": audiodec.rx_encoder,
                                    "decoder": audiodec.decoder})

    def build(self, arch):
        """Fresh upstream generators written as checkpoints in the repo layout, then loaded like released ones. The
        vocoder's statistics come from the AudioDec source tree."""
        from models.autoencoder.AudioDec import StreamGenerator as Encoder
        from models.vocoder.HiFiGAN import StreamGenerator as Vocoder

        source = Path(importlib.util.find_spec("utils.audiodec").origin).parents[1]
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            stats = arch["decoder"]["generator_params"]["stats"]
            (root / stats).parent.mkdir(parents=True)
            shutil.copyfile(source / stats, root / stats)
            with working_directory(root):
                generators = {"encoder": Encoder(**arch["encoder"]["generator_params"]),
                              "decoder": Vocoder(**arch["decoder"]["generator_params"])}
            for part, path in self._checkpoints().items():
                (root / path).parent.mkdir(parents=True)
                (root / path).with_name("config.yml").write_text(yaml.safe_dump(arch[part]))
                torch.save({"model": {"generator": generators[part].state_dict()}}, root / path)
            return self._from_root(root)

    def load_pretrained(self, arch, files):
        """The released exp.zip holds every AudioDec model: only the configured pair and their configs are unpacked,
        into a temporary repo layout with the vocoder's statistics file."""
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            stats = root / arch["decoder"]["generator_params"]["stats"]
            stats.parent.mkdir(parents=True)
            shutil.copyfile(files["stats"], stats)
            with zipfile.ZipFile(files["model"]) as archive:
                for part, path in self._checkpoints().items():
                    for wanted in (path, str(Path(path).with_name("config.yml"))):
                        _extract(archive, wanted, root)
                    released = yaml.safe_load((root / path).with_name("config.yml").read_text())
                    _released_config.check(self.name, arch[part], released, f"{files['model']}:{path}")
            return self._from_root(root)

    @torch.no_grad()
    def randomize(self, model, seed):
        """Input-dependent random weights (codec_wrappers._random_weights): balance the transmitter's encoder on a
        speech-like probe (the receiver's copy takes the same weights, as both load one checkpoint), draw the
        codebooks around its output (upstream's N(0, 1) codebooks lie so far from an untrained encoder's output
        that every frame maps to one code), balance the vocoder through encode/decode."""
        encoder = model["tx_encoder"]
        probe = speech_like_probe(self.sample_rate, seed)
        encoder.reset_buffer()
        balance_gains(encoder, lambda: encoder.encode(probe))
        encoder.reset_buffer()
        features = encoder.encode(probe)[0].T
        encoder.reset_buffer()
        model["rx_encoder"].load_state_dict(encoder.state_dict())
        layers = encoder.quantizer.codebook.layers
        books = codebooks_like(features, (len(layers), layers[0].n_embed, layers[0].dim), seed)
        for side in ("tx_encoder", "rx_encoder"):
            for layer, book in zip(model[side].quantizer.codebook.layers, books):
                layer.embed.copy_(book.T)
                layer.embed_avg.copy_(book.T)
            model[side].quantizer.initial()
        model["decoder"].reset_buffer()
        self._decoder_start = _stream_buffers(model["decoder"])  # codec() starts each item there
        balance_through_codec(self, model, probe, skip=[*model["tx_encoder"].modules(), *model["rx_encoder"].modules()])
        # As if these weights were a checkpoint saved in training (streaming buffers untouched, so zero) and read by
        # AudioDec's loader, which warms the receiver up on the codes of silence (load_receiver).
        for part in model.values():
            part.reset_buffer()
        model["decoder"].initial_decoder(model["rx_encoder"].initial_encoder(WARM_UP_SAMPLES, "cpu"))

    def load(self, *args, **kwargs):
        super().load(*args, **kwargs)
        # The quantizers keep a stacked copy of their codebooks outside the module's buffers: redo it on the device.
        # The decoder's streaming buffers are as AudioDec's loader (or randomize) left them: every utterance's start.
        for side in ("tx_encoder", "rx_encoder"):
            self.model[side].quantizer.initial()
        self._decoder_start = _stream_buffers(self.model["decoder"])
        return self

    def codec(self, wav):
        tx_encoder, rx_encoder, decoder = (self.model[k] for k in ("tx_encoder", "rx_encoder", "decoder"))
        outputs = []
        for item in wav:
            tx_encoder.reset_buffer()
            for module, buffer in self._decoder_start.items():
                module.pad_buffer = buffer.clone()
            x = item[None, None]
            idx = tx_encoder.quantize(tx_encoder.encode(x))
            outputs.append(decoder.decode(rx_encoder.lookup(idx))[0, 0, : x.size(-1)])
        return torch.stack(outputs)


WRAPPER = AudioDecWrapper
#: Samples of silence AudioDec's loader runs through a freshly loaded model (bin/stream.py receptive_length).
WARM_UP_SAMPLES = 8192


def _stream_buffers(model: torch.nn.Module) -> dict:
    """Each streaming convolution's carried input (`pad_buffer`), as it is now."""
    return {module: module.pad_buffer.clone() for module in model.modules()
            if isinstance(getattr(module, "pad_buffer", None), torch.Tensor)}


def _extract(archive: zipfile.ZipFile, path: str, root: Path) -> None:
    """Write the archive member named `path` (under any top folder) to root/path."""
    members = [name for name in archive.namelist() if name == path or name.endswith("/" + path)]
    if len(members) != 1:
        raise FileNotFoundError(f"expected one member {path!r} in {archive.filename}, found {members}")
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(members[0]) as source, open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)
    mark_extracted(archive.filename, target)
