"""Wrapper == X-Codec's own inference.py (zhenye234/xcodec at the pinned commit) on the same seeded weights.

inference.py reads `<checkpoint folder>/config.yaml`, builds `SoundStream(**config.generator.config)`, loads the
checkpoint strictly, scales the input by `config.audio_norm_scale`, runs `encode(wav, target_bw=--bw)` and
`decode`, and saves the output clamped to +-0.99. The test gives it the repository's own training config
(config/codec_16k_6kbps_v3_vqdp.yaml: HuBERT-base teacher, audio_norm_scale 0.95) and a checkpoint of the wrapper's
random weights, and runs it unchanged in a subprocess, where three things are stood in for:
- `AutoModel.from_pretrained` (SoundStream's constructor fetches the HuBERT teacher) builds transformers'
  HubertModel from HubertConfig's defaults (facebook/hubert-base-ls960's) instead of downloading: the strict load
  then overwrites every one of its weights with the checkpoint's;
- torchaudio.load/save (PyPI's torchaudio cannot read or write files on CPU torch) read and write with soundfile,
  as 32-bit float so the comparison is not limited by 16-bit rounding;
- `.cuda()` returns its object (tests.parity.upstream's CPU shim).
Two input lengths: one where encode re-runs the acoustic encoder on the padded input (80 <= T mod 320 < 312), one
where it does not.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from codecfake import codec_loading
from tests.parity import upstream

ROOT = upstream.source_or_skip("models", "xcodec")
NAME = "xcodec_hubert_libirispeech"
BANDWIDTH = 4.0  # kbps: all 8 codebooks (0.5 kbps each, inference.py's comment: "4->nq 8")
LIMIT = 0.99  # inference.py's save_audio clamps to this
TOLERANCE = 1e-5

STAND_INS = """
import runpy, sys
import soundfile, torch, torchaudio, transformers

def load(path):
    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return torch.from_numpy(audio.T.copy()), rate

def save(path, wav, sample_rate, **kwargs):
    soundfile.write(str(path), wav.numpy().T, sample_rate, subtype="FLOAT")

torchaudio.load, torchaudio.save = load, save
transformers.AutoModel.from_pretrained = lambda *args, **kwargs: transformers.HubertModel(transformers.HubertConfig())
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


@pytest.fixture(scope="module")
def wrapper():
    return codec_loading.load(NAME, weights="random", seed=7)


@pytest.fixture(scope="module")
def checkpoint(wrapper, tmp_path_factory):
    folder = tmp_path_factory.mktemp("xcodec")
    (folder / "config.yaml").write_text((ROOT / "config" / "codec_16k_6kbps_v3_vqdp.yaml").read_text())
    torch.save(wrapper.model.state_dict(), folder / "xcodec_speech_hubert_librispeech.pth")
    return folder


@pytest.mark.parametrize("length", [22400 + 150, 22400 + 20])  # 22400 = 70 frames; + 150: re-encoded
def test_matches_inference_script(wrapper, checkpoint, length, tmp_path, speech_16k):
    wav = speech_16k[:length]
    assert len(wav) == length
    upstream.write_wav(tmp_path / "in.wav", wav, 16000)
    (tmp_path / "stand_ins.py").write_text(STAND_INS)
    upstream.run_script(tmp_path / "stand_ins.py", str(ROOT / "inference.py"), "--input", str(tmp_path / "in.wav"),
                        "--output", str(tmp_path / "out.wav"), "--resume_path",
                        str(checkpoint / "xcodec_speech_hubert_librispeech.pth"), "--bw", str(BANDWIDTH), cwd=ROOT)
    reference = upstream.read_wav(tmp_path / "out.wav", 16000)
    frames = -(-len(reference) // 320)
    assert len(reference) == frames * 320 and abs(len(reference) - length) < 320
    assert np.sqrt(np.mean(reference ** 2)) > 1e-3, "the reference output is (nearly) silent: nothing is compared"
    ours = wrapper.resynthesize(torch.from_numpy(wav)[None])[0].numpy()
    assert ours.shape == reference.shape
    error = np.abs(np.clip(ours, -LIMIT, LIMIT) - reference).max()
    assert error <= TOLERANCE, f"max |wrapper - inference.py| = {error:.3g}"


def test_pretrained_path_loads_the_same_model(wrapper, checkpoint, speech_16k):
    files = {"config": checkpoint / "config.yaml", "model": checkpoint / "xcodec_speech_hubert_librispeech.pth"}
    loaded = codec_loading.create(NAME)
    loaded.model = loaded.load_pretrained(wrapper.entry.architecture_params(), files).eval()
    wav = torch.from_numpy(speech_16k[:16000])[None]
    assert torch.equal(loaded.resynthesize(wav), wrapper.resynthesize(wav))


def test_pretrained_path_rejects_another_configuration(wrapper, checkpoint, tmp_path):
    text = (checkpoint / "config.yaml").read_text()
    assert "    D: 256\n" in text
    (tmp_path / "config.yaml").write_text(text.replace("    D: 256\n", "    D: 128\n"))
    files = {"config": tmp_path / "config.yaml", "model": checkpoint / "xcodec_speech_hubert_librispeech.pth"}
    with pytest.raises(ValueError, match="generator.D: registry 256, checkpoint 128"):
        codec_loading.create(NAME).load_pretrained(wrapper.entry.architecture_params(), files)


class _Planted:
    """Unpickling this would create the marker file: a checkpoint that runs code when fully unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_that_runs_code_is_refused(wrapper, checkpoint, tmp_path):
    marker = tmp_path / "ran"
    torch.save({"encoder.block.0.bias": torch.zeros(1), "payload": _Planted(marker)}, tmp_path / "evil.pth")
    files = {"config": checkpoint / "config.yaml", "model": tmp_path / "evil.pth"}
    with pytest.raises(ValueError, match="evil.pth is not a plain state dict"):
        codec_loading.create(NAME).load_pretrained(wrapper.entry.architecture_params(), files)
    assert not marker.exists()
