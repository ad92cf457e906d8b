"""Released reference countermeasures load into our networks with strict=True and give the reference code's logits.

Expected numbers were produced once outside the repository by the reference code itself (clovaai/aasist @ a04c986,
xieyuankun/Codecfake @ 72c32e2, run in /tmp on the same inputs, torch 2.13 CPU); only the numbers are kept here.
The released files live in ../shared/reference-cm/ next to the repository (or $CODECFAKE_REFERENCE_CM); tests
that need them skip, saying so, where the folder is absent.
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codecfake.checkpoint import read_checkpoint
from codecfake.cli import main
from codecfake.cm.models import build_model
from codecfake.cm.presets import resolve
from codecfake.cm.released import released as released_models
from codecfake.errors import UserError
from tests.cm_fixtures import one_thread  # noqa: F401 (autouse)

REFERENCE = Path(os.environ.get("CODECFAKE_REFERENCE_CM",
                                Path(__file__).resolve().parents[1] / ".." / "shared" / "reference-cm"))
SPEECH = Path("/usr/share/codec2/raw/speech_orig_16k.wav")  # Debian codec2-examples: 10.8 s, 16 kHz PCM16
TOLERANCE = 1e-4

needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(),
                                     reason=f"released reference weights not found at {REFERENCE}")

#: clovaai Model(conf)(x)[1] on x = default_rng(0).standard_normal((2, 64600)) * 0.1 (float32), and the bona fide
#: logit of its evaluation path (sf.read, data_utils.pad to 64,600, Tensor) on the two clips.
CLOVAAI = {
    "aasist": {"file": "clovaai-aasist/AASIST.pth", "parameters": 297_866,
               "random": [[2.4550352096557617, -2.652393102645874], [2.592191696166992, -2.819972038269043]],
               "speech_orig_16k": 1.1350398063659668, "short": -6.2130126953125},
    "aasist_l": {"file": "clovaai-aasist/AASIST-L.pth", "parameters": 85_306,
                 "random": [[4.7074151039123535, -4.167866230010986], [3.7004570960998535, -3.379422187805176]],
                 "speech_orig_16k": 0.9961777329444885, "short": -3.171945095062256},
}


def random_input() -> torch.Tensor:
    return torch.from_numpy((np.random.default_rng(0).standard_normal((2, 64600)) * 0.1).astype(np.float32))


def write_short_clip(path: Path) -> Path:
    """1.25 s (shorter than the 64,600-sample crop: repeat-padded), PCM16 16 kHz; the recipe of the reference run."""
    rng = np.random.default_rng(12345)
    t = np.arange(20000) / 16000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 220 * t * (1 + t)) + 0.05 * rng.standard_normal(20000), 16000,
             subtype="PCM_16")
    return path


@pytest.mark.parametrize("name", sorted(CLOVAAI))
def test_clovaai_parameter_count(name):
    model = build_model(resolve(name))
    assert sum(p.numel() for p in model.parameters()) == CLOVAAI[name]["parameters"]


@needs_reference
@pytest.mark.parametrize("name", sorted(CLOVAAI))
def test_clovaai_weights_give_the_reference_logits(name):
    model = build_model(resolve(name)).eval()
    state = torch.load(REFERENCE / CLOVAAI[name]["file"], map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        logits = model(random_input())
    assert (logits - torch.tensor(CLOVAAI[name]["random"])).abs().max() <= TOLERANCE


@needs_reference
@pytest.mark.parametrize("name", sorted(CLOVAAI))
def test_detect_scores_files_as_clovaai_evaluates(name, tmp_path, capsys):
    clips = {"short": write_short_clip(tmp_path / "short.wav")}
    if SPEECH.is_file():
        clips["speech_orig_16k"] = SPEECH
    assert main(["detect", "--model", name.replace("_", "-"), "--checkpoint", str(REFERENCE / CLOVAAI[name]["file"]),
                 "--json", "--threads", "1", *map(str, clips.values())]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in results] == [str(p) for p in clips.values()]
    for clip, result in zip(clips, results):
        assert abs(result["logits"][1] - CLOVAAI[name][clip]) <= TOLERANCE  # the logit clovaai writes
        assert result["bonafide_index"] == 1
        assert result["score"] == pytest.approx(torch.log_softmax(torch.tensor(result["logits"]), 0)[1].item(),
                                                abs=1e-6)  # the score: log P(bona fide)
    if not SPEECH.is_file():
        pytest.skip(f"{SPEECH} absent (apt-get install codec2-examples): only the short clip was checked")


@needs_reference
def test_wrong_network_for_the_file_fails_clearly(tmp_path, capsys):
    clip = str(write_short_clip(tmp_path / "short.wav"))
    released = REFERENCE / CLOVAAI["aasist_l"]["file"]
    assert main(["detect", "--model", "aasist", "--checkpoint", str(released), clip]) == 2
    assert "is the released aasist_l_asvspoof2019" in capsys.readouterr().err
    unknown = tmp_path / "retrained.pth"  # the same tensors under another digest: only the shapes can tell
    state = torch.load(released, map_location="cpu", weights_only=True)
    torch.save({"epoch": 7, "state_dict": {f"module.{key}": value for key, value in state.items()}},
               unknown)  # as a training script saves an nn.DataParallel model
    assert main(["detect", "--model", "aasist-l", "--checkpoint", str(unknown), "--json", clip]) == 0
    assert abs(json.loads(capsys.readouterr().out)["logits"][1] - CLOVAAI["aasist_l"]["short"]) <= TOLERANCE
    assert main(["detect", "--model", "aasist", "--checkpoint", str(unknown), clip]) == 2
    assert "does not fit the AASIST" in capsys.readouterr().err
    assert main(["detect", "--model", "aasist-asvspoof2019", "--checkpoint", str(unknown), clip]) == 2
    err = capsys.readouterr().err  # a released name with another file: which model, which sha256, what to do
    assert f"{unknown} is not the released aasist_asvspoof2019" in err and "None" not in err
    assert released_models()["aasist_asvspoof2019"]["sha256"] in err and "--model aasist" in err


@needs_reference
def test_pickled_module_is_not_unpickled_unless_its_sha256_is_released(tmp_path):
    tampered = tmp_path / "model.pt"
    shutil.copy(REFERENCE / "codecfake/codec_mellcnn.pt", tampered)
    with open(tampered, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(UserError, match="not unpickled"):
        read_checkpoint(tampered)
    assert read_checkpoint(REFERENCE / "codecfake/codec_mellcnn.pt").released_name == "mel_lcnn_codecfake"


#: Codecfake's released modules (torch.load of the file with its model.py) on fixed inputs: the W2V2-AASIST
#: back-ends on hidden = default_rng(1).standard_normal((2, 1, 1024, 201)) (XLS-R states as main_train feeds them),
#: the Mel-LCNNs on torchaudio MelSpectrogram(n_mels=80, n_fft=512, hop_length=128) of random_input(), transposed to
#: time x mel as main_train does (feat.transpose(2, 3)). SSL_Anti-spoofing's Model back-end (@ 4acaa61, its fairseq
#: front-end swapped for these hidden states) loads the W2V2-AASIST files strictly and gives the same numbers.
CODECFAKE = {
    "codec_w2v2aasist.pt": ("w2v2_aasist", 447_242, [[-4.107244968414307, 4.124588966369629],
                                                     [-4.108556270599365, 4.125909328460693]]),
    "cotrain_w2v2aasist_CSAM.pt": ("w2v2_aasist", 447_242, [[16.90056610107422, -17.19010353088379],
                                                           [17.07497787475586, -17.3680362701416]]),
    # nn.DataParallel-wrapped (keys under `module.`); numbers of the reference W2VAASIST class holding the weights
    # read here (unwrapped), on the same input: the reference code loads the same file to the same logits.
    "vocoder_w2v2aasist.pt": ("w2v2_aasist", 447_242, [[-16.885013580322266, 16.901123046875],
                                                       [-16.842805862426758, 16.861621856689453]]),
    "codec_mellcnn.pt": ("mel_lcnn", 972_514, [[-6.5327863693237305, 4.6333088874816895],
                                               [-6.934999942779541, 4.922316074371338]]),
    "vocoder_mellcnn.pt": ("mel_lcnn", 972_514, [[-7.054234027862549, 7.956066131591797],
                                                 [-6.780977249145508, 7.649958610534668]]),
}
#: The back-end alone: its input is the XLS-R hidden states (B, 1024, frames).
BACKEND_ONLY = {"frontend": "features", "features": {"features": 1024}}


@needs_reference
@pytest.mark.parametrize("file", sorted(CODECFAKE))
def test_codecfake_released_modules_give_the_reference_logits(file):
    if not (REFERENCE / "codecfake" / file).is_file():
        pytest.skip(f"{REFERENCE / 'codecfake' / file} absent (xieyuankun/Codecfake @ 72c32e2, "
                    f"pretrained_model/vocoder_w2v2aasist/anti-spoofing_feat_model.pt)")
    preset, parameters, expected = CODECFAKE[file]
    checkpoint = read_checkpoint(REFERENCE / "codecfake" / file)
    assert checkpoint.released_entry["model"] == preset and checkpoint.released_entry["bonafide_index"] == 0
    if preset == "w2v2_aasist":
        model = build_model(resolve(preset, BACKEND_ONLY))
        inputs = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 1024, 201)).astype(np.float32))
    else:
        model = build_model(resolve(preset))
        inputs = random_input()
    model.load_state_dict(checkpoint.state, strict=True)
    assert sum(p.numel() for p in model.parameters()) == parameters
    with torch.no_grad():
        logits = model.eval()(inputs)
    assert (logits - torch.tensor(expected)).abs().max() <= TOLERANCE


@needs_reference
def test_released_preset_needs_no_checkpoint_and_checks_the_sha256(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clip = str(write_short_clip(tmp_path / "short.wav"))
    command = ["detect", "--model", "aasist-asvspoof2019", "--weights-dir", str(tmp_path / "w"), "--json", clip]
    assert main(command) == 2
    assert "downloads are off" in capsys.readouterr().err
    cached = tmp_path / "w" / "cm" / "aasist_asvspoof2019.pth"
    cached.parent.mkdir(parents=True)
    shutil.copy(REFERENCE / CLOVAAI["aasist_l"]["file"], cached)  # the wrong file under the preset's name
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "is not the released aasist_asvspoof2019" in err
    assert released_models()["aasist_asvspoof2019"]["sha256"] in err
    assert "Traceback" not in err and not cached.exists()
    shutil.copy(REFERENCE / CLOVAAI["aasist"]["file"], cached)
    assert main(command) == 0
    assert abs(json.loads(capsys.readouterr().out)["logits"][1] - CLOVAAI["aasist"]["short"]) <= TOLERANCE


@needs_reference
def test_released_w2v2_back_end_asks_for_its_xlsr_front_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["detect", "--model", "w2v2-aasist", "--checkpoint", str(REFERENCE / "codecfake/codec_w2v2aasist.pt"),
                 "--cache-dir", str(tmp_path), str(write_short_clip(tmp_path / "short.wav"))]) == 2
    assert "fetch_ssl_weights" in capsys.readouterr().err


@needs_reference
def test_every_released_model_loads_by_name(tmp_path, capsys, monkeypatch):
    """Each released file placed where `detect --model NAME` fetches it loads by name; the W2V2 ones then ask for
    their XLS-R front-end (not fetched here), the others score the clip. The DataParallel file is read by allowlist."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clip = str(write_short_clip(tmp_path / "short.wav"))
    files = {entry["sha256"]: path for path in REFERENCE.rglob("*.p*") if path.is_file()
             for entry in released_models().values() if entry["sha256"] == _sha256(path)}
    checked = []
    for name, entry in released_models().items():
        if entry["sha256"] not in files:
            continue
        cached = tmp_path / "w" / "cm" / f"{name}{Path(entry['url']).suffix}"
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(files[entry["sha256"]], cached)
        code = main(["detect", "--model", name.replace("_", "-"), "--weights-dir", str(tmp_path / "w"),
                     "--cache-dir", str(tmp_path / "hub"), "--json", clip])
        out, err = capsys.readouterr()
        if entry["model"].startswith("w2v2"):
            assert code == 2 and "fetch_ssl_weights" in err and "Traceback" not in err, (name, err)
        else:
            assert code == 0 and np.isfinite(json.loads(out)["score"]), (name, err)
        checked.append(name)
    assert {"aasist_asvspoof2019", "mel_lcnn_codecfake", "w2v2_aasist_codecfake"} <= set(checked)
    if "w2v2_aasist_asvspoof2019_codecfake" not in checked:
        pytest.skip(f"the DataParallel file is not under {REFERENCE}: checked {', '.join(checked)}")


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
