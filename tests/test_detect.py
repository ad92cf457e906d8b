"""`codecfake detect` on our own checkpoints: the spec travels in the file, eval mode, first crop repeat-padded."""
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from codecfake.cli import main
from codecfake.cm.models import build_model, offline_spec
from codecfake.cm.presets import resolve
from tests.cm_fixtures import one_thread  # noqa: F401 (autouse)

TINY = {"sinc": {"filters": 12, "kernel": 32}, "encoder": [[1, 4], [4, 8], [8, 8]], "gat_dims": [8, 8]}
CROP = 8000


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    spec = resolve("aasist", TINY, {"crop_samples": CROP})
    model = build_model(spec)
    path = tmp_path / "model.pt"
    torch.save({"spec": offline_spec(model, spec), "model": model.state_dict(), "epoch": 1}, path)
    return path, model.eval()


def test_our_checkpoint_scores_the_repeat_padded_first_crop(checkpoint, tmp_path, capsys):
    path, model = checkpoint
    short = np.sin(np.arange(3000) / 7.0).astype(np.float32) * 0.5  # 3000 samples: tiled to 8000
    sf.write(tmp_path / "short.wav", short, 16000, subtype="FLOAT")
    assert main(["detect", "--checkpoint", str(path), "--json", str(tmp_path / "short.wav")]) == 0
    result = json.loads(capsys.readouterr().out)
    padded = torch.from_numpy(np.tile(short, 3)[:CROP])[None]
    with torch.no_grad():
        expected = model(padded)[0]
    assert result["logits"] == pytest.approx(expected.tolist(), abs=1e-6)
    assert result["bonafide_index"] == 1
    assert result["score"] == pytest.approx(torch.log_softmax(expected.double(), 0)[1].item(), abs=1e-6)  # log P
    assert result["bonafide_probability"] == pytest.approx(torch.softmax(expected.double(), 0)[1].item())


def test_model_name_must_match_our_checkpoint(checkpoint, tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(100, dtype=np.float32), 16000)
    assert main(["detect", "--model", "mel-lcnn", "--checkpoint", str(checkpoint[0]), str(tmp_path / "a.wav")]) == 2
    assert "is a checkpoint of aasist, not mel_lcnn" in capsys.readouterr().err
    assert main(["detect", "--model", "nonsense", "--checkpoint", str(checkpoint[0]), str(tmp_path / "a.wav")]) == 2
    assert "unknown model 'nonsense'" in capsys.readouterr().err


def _as_reference_module(monkeypatch, cls):
    """`cls` pickled under the reference's module name `model` (as Codecfake's released files name theirs)."""
    import sys
    import types

    module = types.ModuleType("model")
    cls.__module__, cls.__qualname__, module.W2VAASIST = "model", "W2VAASIST", cls
    monkeypatch.setitem(sys.modules, "model", module)


def test_a_listed_data_parallel_module_is_read_by_allowlist_and_unwrapped(tmp_path, monkeypatch):
    """Codecfake's vocoder_w2v2aasist file is a pickled nn.DataParallel around model.W2VAASIST: read with the
    classes as inert records (none imported or run), its `module.` prefix dropped; a listed sha256 does not let a
    file name anything else."""
    import hashlib

    from codecfake import checkpoint
    from codecfake.errors import UserError

    class W2VAASIST(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.LL = torch.nn.Linear(4, 2)

    _as_reference_module(monkeypatch, W2VAASIST)
    torch.manual_seed(0)
    inner = W2VAASIST()
    path = tmp_path / "anti-spoofing_feat_model.pt"
    torch.save(torch.nn.DataParallel(inner), path)
    listed = {hashlib.sha256(path.read_bytes()).hexdigest()}
    monkeypatch.setattr(checkpoint, "entry_for_digest", lambda digest: (
        ("reference", {"format": "pickled_module", "model": "w2v2_aasist"}) if digest in listed else None))
    read = checkpoint.read_checkpoint(path)
    assert read.released_name == "reference" and set(read.state) == {"LL.weight", "LL.bias"}
    assert all(torch.equal(read.state[k], v) for k, v in inner.state_dict().items())

    class Planted:
        def __reduce__(self):
            return open, (str(tmp_path / "ran"), "w")

    inner.LL.planted = Planted()
    torch.save(torch.nn.DataParallel(inner), path)
    listed.add(hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(UserError, match=f"{path}: not a released reference module that loads without running code"):
        checkpoint.read_checkpoint(path)
    assert not (tmp_path / "ran").exists()
