"""MaskGCT (Wang et al. 2024, Amphion models/tts/maskgct) through Amphion's own classes and inference functions.

The stages are Amphion's MaskGCT_Inference_Pipeline's, called as its `maskgct_inference` calls them: w2v-BERT 2.0
layer-17 features of the 16 kHz prompt -> semantic codec codes -> text-to-semantic masked transformer (the prompt's
and the target's phones from Amphion's G2P) -> semantic-to-acoustic (one-layer then full model) -> acoustic codec
decoder at 24 kHz, given the acoustic codes of the prompt at 24 kHz. Only reading the prompt from a file is not
Amphion's: the prompt arrives as a 16 kHz array and is resampled to 24 kHz as `librosa.load(path, sr=24000)` does.
tests/parity/test_maskgct.py checks this against `maskgct_inference` itself.

Amphion is not a package: the env puts its pinned commit (the entry's `upstream:`) on the path, and its MaskGCT
code opens resource files relative to the Amphion root at import and build time, so both run from there. Its G2P
imports the Mandarin and Japanese front ends (and `LangSegment`) at import: the Mandarin one opens a lexicon and an
ONNX model that the Amphion tree does not ship, the Japanese one needs pyopenjtalk, and PyPI's LangSegment does not
import. Those three modules are replaced by stand-ins that refuse their languages; English, French, German and
Korean go through Amphion's G2P unchanged (phonemizer with espeak-ng, a system library: Debian's `espeak-ng`, or the
file PHONEMIZER_ESPEAK_LIBRARY names).
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from cosg_wrappers.base import PROMPT_RATE, GeneratorWrapper, Prompt

#: Languages whose G2P Amphion's tree runs offline (cleaners.cjekfd_cleaners without the zh and ja front ends).
LANGUAGES = ("en", "fr", "de", "ko")
#: The parts of the model, as maskgct_inference builds them.
PARTS = ("semantic_model", "semantic_codec", "codec_encoder", "codec_decoder", "t2s_model", "s2a_model_1layer",
         "s2a_model_full")
#: Checkpoint key (registry entry) -> the part its safetensors file loads into (maskgct_inference's pairs).
CHECKPOINTS = {"semantic_codec": "semantic_codec", "acoustic_codec_encoder": "codec_encoder",
               "acoustic_codec_decoder": "codec_decoder", "t2s_model": "t2s_model",
               "s2a_model_1layer": "s2a_model_1layer", "s2a_model_full": "s2a_model_full"}
STATS = "models/tts/maskgct/ckpt/wav2vec2bert_stats.pt"


def amphion_root() -> Path | None:
    """The Amphion tree on the path (its top-level `models` holding tts/maskgct), or None."""
    spec = importlib.util.find_spec("models")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        root = Path(folder).parent
        if (root / "models" / "tts" / "maskgct" / "maskgct_utils.py").is_file():
            return root
    return None


@contextmanager
def in_amphion_root():
    """Run with the Amphion tree as working folder (its MaskGCT code opens files relative to it)."""
    root = amphion_root()
    if root is None:
        raise ImportError("Amphion (open-mmlab/Amphion, models/tts/maskgct) is not on the path: run in "
                          "envs/maskgct.yaml")
    previous = os.getcwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(previous)


def _refusing(module: str, function: str, language: str) -> types.ModuleType:
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"MaskGCT G2P for {language} is not available offline ({module} is a stand-in); "
                                  f"languages here: {', '.join(LANGUAGES)}")

    stand_in = types.ModuleType(module)
    setattr(stand_in, function, refuse)
    return stand_in


@cache
def maskgct_utils() -> types.ModuleType:
    """Amphion's models.tts.maskgct.maskgct_utils, imported once from the Amphion root with the stand-ins above."""
    lang_segment = _refusing("LangSegment", "getTexts", "language detection ('auto')")
    lang_segment.setfilters = lambda filters: None  # PhonemeBpeTokenizer sets its filters at construction
    stand_ins = {"LangSegment": lang_segment,
                 "models.tts.maskgct.g2p.g2p.mandarin": _refusing("mandarin", "chinese_to_ipa", "zh"),
                 "models.tts.maskgct.g2p.g2p.japanese": _refusing("japanese", "japanese_to_ipa", "ja")}
    with in_amphion_root():
        for name, module in stand_ins.items():
            sys.modules.setdefault(name, module)
        return importlib.import_module("models.tts.maskgct.maskgct_utils")


class MaskGCT(torch.nn.Module):
    """The seven networks of maskgct_inference and the w2v-BERT feature statistics, moved to a device together."""

    def __init__(self, parts: dict[str, torch.nn.Module], mean: torch.Tensor, std: torch.Tensor, processor):
        super().__init__()
        self.parts = torch.nn.ModuleDict(parts)
        self.register_buffer("semantic_mean", mean)
        self.register_buffer("semantic_std", std)
        self.processor = processor

    def pipeline(self, device: torch.device):
        """Amphion's MaskGCT_Inference_Pipeline over these networks. Its constructor fetches the feature extractor
        from the hub by name; here it gets the one built from the verified (or random-mode) configuration."""
        utils = maskgct_utils()
        with mock.patch.object(utils.SeamlessM4TFeatureExtractor, "from_pretrained", return_value=self.processor):
            return utils.MaskGCT_Inference_Pipeline(*(self.parts[name] for name in PARTS), self.semantic_mean,
                                                    self.semantic_std, device)


def own_storage(module: torch.nn.Module) -> torch.nn.Module:
    """Give every buffer that is a view (torch's periodic `hann_window` is a slice of a longer one: the acoustic
    decoder's ISTFT window) storage of its own, as moving the model to a GPU does. `safetensors.torch.load_model`
    refuses a model holding such a view, so maskgct_inference, which moves its networks to cuda:0 before loading,
    only loads on a GPU as written; on the CPU the networks need this first. Values are unchanged."""
    for sub in module.modules():
        for name, buffer in list(sub.named_buffers(recurse=False)):
            if buffer is not None and buffer.untyped_storage().nbytes() != buffer.nelement() * buffer.element_size():
                setattr(sub, name, buffer.clone())
    return module


def hparams(arch: dict):
    """A configuration dict as Amphion's builders read it (utils.util.JsonHParams, what load_config returns)."""
    maskgct_utils()
    from utils.util import JsonHParams

    return JsonHParams(**arch)


class MaskGCTWrapper(GeneratorWrapper):
    requires = ("models", "phonemizer", "transformers")

    @classmethod
    def unavailable(cls):
        """Also: Amphion's tree (another package's `models` may be importable) and espeak-ng, which Amphion's G2P
        loads at import."""
        reason = super().unavailable()
        if reason is None and amphion_root() is None:
            reason = "Amphion's models/tts/maskgct is not on the path"
        if reason is None:
            from phonemizer.backend import EspeakBackend

            reason = None if EspeakBackend.is_available() else "espeak-ng is not installed (apt-get install espeak-ng)"
        return reason

    def _networks(self, arch: dict, semantic_model: torch.nn.Module) -> dict[str, torch.nn.Module]:
        """maskgct_inference's networks, built by Amphion's builders from `arch` (maskgct.json's `model`)."""
        utils, cfg, cpu = maskgct_utils(), hparams(arch), torch.device("cpu")
        encoder, decoder = utils.build_acoustic_codec(cfg.acoustic_codec, cpu)
        return {"semantic_model": semantic_model,
                "semantic_codec": utils.build_semantic_codec(cfg.semantic_codec, cpu),
                "codec_encoder": encoder, "codec_decoder": own_storage(decoder),
                "t2s_model": utils.build_t2s_model(cfg.t2s_model, cpu),
                "s2a_model_1layer": utils.build_s2a_model(cfg.s2a_model.s2a_1layer, cpu),
                "s2a_model_full": utils.build_s2a_model(cfg.s2a_model.s2a_full, cpu)}

    def build(self, arch):
        """The tiny random architecture: w2v-BERT from its config class (17 layers or more: layer 17 is read),
        feature statistics of mean 0 and deviation 1 (the released ones are for the 1024-wide model)."""
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

        semantic = Wav2Vec2BertModel(Wav2Vec2BertConfig(**arch["semantic_model"])).eval()
        width = semantic.config.hidden_size
        networks = self._networks(arch["maskgct"], semantic)
        return MaskGCT(networks, torch.zeros(width), torch.ones(width),
                       SeamlessM4TFeatureExtractor(**arch["feature_extractor"]))

    def load_pretrained(self, arch, files):
        """The released model: w2v-BERT 2.0 and its feature extractor from their verified hub files (safetensors
        only), Amphion's feature statistics (read weights-only), and each MaskGCT network from its safetensors file
        with `safetensors.torch.load_model`, as maskgct_inference does."""
        import safetensors.torch
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

        folder = files["w2v_bert_model"].parent
        semantic = Wav2Vec2BertModel.from_pretrained(folder, use_safetensors=True, local_files_only=True).eval()
        processor = SeamlessM4TFeatureExtractor.from_json_file(files["w2v_bert_preprocessor"])
        networks = self._networks(arch["maskgct"], semantic)
        for key, part in CHECKPOINTS.items():
            safetensors.torch.load_model(networks[part], str(files[key]))
        with in_amphion_root():
            stats = torch.load(STATS)
        return MaskGCT(networks, stats["mean"], torch.sqrt(stats["var"]), processor)

    @torch.no_grad()
    def randomize(self, model, seed):
        """Amphion's adaptive RMS norms start as weight 0 / bias 1 (LlamaAdaptiveRMSNorm.__init__), but the Llama
        model's weight initialisation reaches the `to_weight` Linear inside them (only the norm itself is marked
        initialised); left so, the prompt voice did not change the output at all (relative difference 0, measured).
        Put them back to Amphion's own initial values."""
        norm_class = sys.modules["models.tts.maskgct.llama_nar"].LlamaAdaptiveRMSNorm
        for module in model.modules():
            if isinstance(module, norm_class):
                torch.nn.init.zeros_(module.to_weight.weight)
                torch.nn.init.ones_(module.to_weight.bias)

    def load(self, weights="pretrained", seed=0, device="cpu", files=None):
        super().load(weights, seed, device, files)
        self.pipeline = self.model.pipeline(self.device)
        return self

    def generate_one(self, prompt: Prompt) -> np.ndarray:
        """maskgct_inference's three steps on an in-memory prompt, with the entry's inference settings."""
        import librosa

        if prompt.language not in LANGUAGES:
            raise NotImplementedError(f"MaskGCT G2P for {prompt.language!r} is not available offline; languages "
                                      f"here: {', '.join(LANGUAGES)}")
        s = self.settings
        speech_16k = np.asarray(prompt.audio, dtype=np.float32)
        speech = librosa.resample(speech_16k, orig_sr=PROMPT_RATE, target_sr=self.sample_rate, res_type="soxr_hq")
        combine_semantic_code, _ = self.pipeline.text2semantic(
            speech_16k, prompt.prompt_text, prompt.language, prompt.target_text, prompt.language, s["target_len"],
            s["t2s_steps"], s["t2s_cfg"], s["t2s_rescale_cfg"])
        acoustic_code = self.pipeline.extract_acoustic_code(torch.tensor(speech).unsqueeze(0).to(self.device))
        _, audio = self.pipeline.semantic2acoustic(combine_semantic_code, acoustic_code, n_timesteps=s["s2a_steps"],
                                                   cfg=s["s2a_cfg"], rescale_cfg=s["s2a_rescale_cfg"])
        return audio


WRAPPER = MaskGCTWrapper
