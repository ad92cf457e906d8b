"""SoCodec (Guo et al. 2024, semantic-ordered multi-stream codec) through the authors' task API.

SoCodec is GitHub-only and has no setup.py: its env puts the pinned commit on the import path
(the entry's `upstream:`). Follows the authors' example.py: `build_task(Config(config).task, 'eval')` with the
`NeuralCodec` task, the analyzer (StagedVQVAE, checkpoint loaded non-strictly: it holds no HuBERT weights) and the
BigVGAN mel vocoder; analysis `task({'wav', 'wav_length'}, mode='speech_tokenization')` gives 4 token streams and a
speaker embedding, synthesis `task({'token', 'token_length', 'spk'}, mode='speech_reconstruction')['wav']`.
example.py prepends 0.5 s of silence "for causal convolutions" and keeps it in the output: the wrapper does the same
and declares it as `delay_samples`, which the job removes.

The analyzer's constructor loads its frozen HuBERT (fairseq, chinese-hubert-large) from the fixed relative path
ckpts/chinese-hubert-large-fairseq-ckpt.pt, so the model is built inside a folder holding that file. A random build
has no such file: there, fairseq's checkpoint loader is replaced by a freshly initialised fairseq HubertModel of the
same configuration (the registry entry's architecture), the model that checkpoint would load into.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F

from codec_wrappers._checkpoints import checkpoint_loads
from codec_wrappers._workdir import working_directory
from codec_wrappers.base import CodecWrapper

#: Silence example.py prepends (0.5 s at 16 kHz).
PREPENDED_SILENCE = 8000
#: Where socodec.utils.hubert reads the HuBERT checkpoint from, relative to the working directory.
HUBERT_PATH = Path("ckpts/chinese-hubert-large-fairseq-ckpt.pt")


class SoCodecWrapper(CodecWrapper):
    requires = ("socodec", "fairseq", "omegaconf", "torchaudio")
    delay_samples = PREPENDED_SILENCE

    @property
    def hop_length(self) -> int:
        return int(self.entry.architecture_params()["analyzer"]["n_samples_per_token"])

    def _task(self, arch: dict, checkpoints: dict[str, Path] | None):
        """example.py's task, built in a temporary working directory that holds ckpts/ (with the HuBERT file when
        there is one)."""
        from socodec.tasks import build_task
        from socodec.utils.config import Config

        network = {"analyzer": dict(arch["analyzer"]), "vocoder": dict(arch["vocoder"])}
        if checkpoints is not None:
            network["analyzer"]["_ckpt"] = {"path": str(checkpoints["analyzer"]), "strict": False}
            network["vocoder"]["_ckpt"] = {"path": str(checkpoints["vocoder"]), "strict": True}
        config = Config({"task": {"_name": "NeuralCodec", "network": network}})
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / HUBERT_PATH).parent.mkdir()
            if checkpoints is not None:
                (Path(tmp) / HUBERT_PATH).symlink_to(Path(checkpoints["hubert"]).resolve())
            with working_directory(tmp), checkpoint_loads():
                return build_task(config.task, "eval")

    def build(self, arch):
        from fairseq.data import Dictionary
        from fairseq.models.hubert import HubertConfig, HubertModel
        from fairseq.tasks.hubert_pretraining import HubertPretrainingConfig
        from omegaconf import OmegaConf

        labels = Dictionary()
        for index in range(500):
            labels.add_symbol(str(index))
        hubert = HubertModel(HubertConfig(**arch["hubert"]), HubertPretrainingConfig(**arch["hubert_task"]), [labels])
        saved_cfg = OmegaConf.create({"task": {"normalize": arch["hubert_task"]["normalize"]}})
        with mock.patch("socodec.utils.hubert.checkpoint_utils.load_model_ensemble_and_task",
                        return_value=([hubert], saved_cfg, None)):
            return self._task(arch, None)

    def load_pretrained(self, arch, files):
        return self._task(arch, files)

    def codec(self, wav):
        audio = F.pad(wav, (PREPENDED_SILENCE, 0))
        lengths = torch.full((audio.shape[0],), audio.shape[-1], dtype=torch.long, device=audio.device)
        analysis = self.model({"wav": audio, "wav_length": lengths}, mode="speech_tokenization")
        synthesis = {key: analysis[key] for key in ("token", "token_length", "spk")}
        return self.model(synthesis, mode="speech_reconstruction")["wav"]


WRAPPER = SoCodecWrapper
