"""Wrapper == AcademiCodec's own SoundStream inference script (yangdongchao/AcademiCodec at the pinned commit,
egs/Encodec_16k_320d/test.sh -> academicodec/models/encodec/test.py, which builds net3's `SoundStream`), on the same
seeded weights.

The script builds `SoundStream(n_filters=32, D=512, ...)` from its command line, loads a DDP state dict ("module."
keys, as training saves it) strictly, removes weight norm, and encodes/decodes every wav of a folder at `--target_bw`,
rescaling each output to a 0.99 peak where it exceeds it (`-r`). The checkpoint holds the wrapper's seeded random
weights with weight norm put back (weight_v = weight, weight_g = its norm), as training saved them; the wrapper then
loads that same file through its released-checkpoint path, so both sides remove weight norm from the same bytes (a
weight-norm round trip moves weights by ~1e-7, enough to flip a few of the 24 residual layers' codes). The script
runs with autograd on (no torch.no_grad), where the CPU LSTM takes another kernel than under inference mode (the
encoder output moves by ~1e-7 and a few codes of layers 17-24 flip, ~1e-4 at the output): the wrapper's `codec` is
run the same way here. The settings are test.sh's but the bandwidth, which is Codecfake's; all are written here
(never read from the registry).
"""
from __future__ import annotations

import hashlib

import torch

from codec_wrappers._checkpoints import mark_verified
from codecfake import codec_loading
from tests.parity import upstream

ROOT = upstream.source_or_skip("academicodec", "AcademiCodec")
RECIPE = ROOT / "egs" / "Encodec_16k_320d"
RATE = 16000  # test.sh: --sr=16000
RATIOS = ("8", "5", "4", "2")  # test.sh: --ratios 8 5 4 2 (hop 320)
BANDWIDTHS = ("1", "1.5", "2", "4", "6", "12")  # test.sh: --target_bandwidths (the last sets 24 quantizers)
TARGET_BW = "4"  # Codecfake's SoundStream (arXiv 2405.04880v1, Table I): 16 kHz, 4 kbps, 8 quantizers


def test_matches_inference_script(tmp_path, speech_16k):
    from academicodec.models.encodec.net3 import SoundStream

    wrapper = codec_loading.load("SoundStream_16k_320d", weights="random", seed=31)
    assert wrapper.sample_rate == RATE
    fresh = SoundStream(n_filters=32, D=512, ratios=[int(r) for r in RATIOS], sample_rate=RATE,
                        target_bandwidths=[float(b) for b in BANDWIDTHS]).state_dict()
    state = upstream.with_weight_norm(wrapper.model.state_dict(), fresh)
    checkpoint = tmp_path / "soundstream.pth"
    torch.save({f"module.{key}": value for key, value in state.items()}, checkpoint)
    wrapper.load(files={"model": mark_verified(checkpoint, hashlib.sha256(checkpoint.read_bytes()).hexdigest())})
    upstream.write_wav(tmp_path / "in" / "utt.wav", speech_16k, RATE)
    upstream.run_script(ROOT / "academicodec" / "models" / "encodec" / "test.py", f"--input={tmp_path / 'in'}",
                        f"--output={tmp_path / 'out'}", f"--resume_path={checkpoint}",
                        f"--sr={RATE}", "--ratios", *RATIOS, "--target_bandwidths", *BANDWIDTHS,
                        f"--target_bw={TARGET_BW}", "-r", cwd=RECIPE)
    reference = upstream.read_wav(tmp_path / "out" / "utt.wav", RATE)
    ours = wrapper.codec(torch.from_numpy(speech_16k)[None])[0].detach().numpy()  # autograd on, as the script
    upstream.assert_close_to_pcm16(ours, reference)
