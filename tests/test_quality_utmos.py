"""UTMOS22 strong learner: the released architecture, the batched scoring path (random weights: no quality claim),
and the checkpoint rules (pinned commit, sha256, fail fast offline)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
import torch

from codecfake.cli import main
from codecfake.errors import UserError
from codecfake.quality import utmos
from codecfake.quality.utmos_weights import UtmosUnavailable, checkpoint_path, fetch_checkpoint

REVISION = "4f2447e519df3b88567b45583d3500006729502b"
#: The schema's default pin of utmos_state_dict.pt (config.schema.yaml, quality.utmos.sha256).
FULL_SHA256 = "21b98001a7d5164d562a40d76aff80ae996deeabe4473c3a6786d1c591c2cc47"


def tiny_ssl():
    """wav2vec 2.0 with the real conv strides (50 frames/s) but one narrow transformer layer: fast to build."""
    from utmos_pytorch.wav2vec2 import Wav2Vec2Config

    return Wav2Vec2Config(conv_feature_layers="[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2",
                          encoder_layers=1, encoder_embed_dim=32, encoder_ffn_embed_dim=64,
                          encoder_attention_heads=2, conv_pos=16, conv_pos_groups=4)


@pytest.fixture(scope="module")
def tiny_model():
    return utmos.build_random(0, tiny_ssl())


@pytest.mark.slow
def test_released_state_dict_layout_loads_strictly_and_scores_like_upstream():
    """utmos-pytorch's own model (the layout its converted checkpoint is saved from) loads into ours with
    strict=True, and a batch of one scores exactly as its reference forward does."""
    from utmos_pytorch.utmos_torch import UTMOSModel

    torch.manual_seed(0)
    upstream = UTMOSModel().eval()
    ours = utmos.Utmos22Strong().eval()
    ours.load_state_dict(upstream.state_dict(), strict=True)
    wave = torch.randn(1, 16000) * 0.1
    with torch.inference_mode():
        reference = upstream(wave[:, None], torch.zeros(1, dtype=torch.int),
                             torch.full((1,), utmos.JUDGE_ID, dtype=torch.int)).mean(dim=1)[:, 0] * 2 + 3
        assert ours(wave, torch.tensor([16000])).item() == pytest.approx(reference.item(), abs=1e-5)


def test_head_is_the_strong_learner_layout(tiny_model):
    conditioner, head = tiny_model.output_layers
    assert conditioner.decoder_rnn.bidirectional and conditioner.decoder_rnn.hidden_size == 512
    assert conditioner.judge_embedding.num_embeddings == 3000
    assert tiny_model.feature_extractors[1].embedding.num_embeddings == 3
    assert [type(m).__name__ for m in head.net] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert head.net[0].out_features == 2048 and head.net[3].out_features == 1


def write_clips(folder, speech_16k) -> list[str]:
    rng = np.random.default_rng(0)
    clips = [speech_16k, speech_16k[:9000], 0.3 * rng.standard_normal(14000), speech_16k[4000:20000]]
    paths = []
    for index, clip in enumerate(clips):
        path = folder / f"clip{index}.wav"
        sf.write(path, np.clip(clip, -1, 1), 16000, subtype="PCM_16")
        paths.append(str(path))
    return paths


def test_batched_scores_keep_input_order_and_match_single_file_scores(tmp_path, speech_16k, tiny_model):
    paths = write_clips(tmp_path, speech_16k)
    single = utmos.score_files(tiny_model, paths, device="cpu", batch_items=1, batch_seconds=120)
    batched = utmos.score_files(tiny_model, paths, device="cpu", batch_items=4, batch_seconds=120)
    for path, score in zip(paths, single):  # batch of one == the model on that file alone
        wave = torch.from_numpy(sf.read(path, dtype="float32")[0])[None]
        with torch.inference_mode():
            assert score == pytest.approx(tiny_model(wave, torch.tensor([wave.shape[1]])).item(), abs=1e-5)
    assert np.all(np.isfinite(batched)) and len(set(np.round(single, 6))) == len(paths)
    # padding only reaches wav2vec's first GroupNorm: a small shift, never a reordering of files
    assert np.allclose(batched, single, atol=0.05)
    # batches are made by length, so the files' order must not change a score: each score follows its own file
    backwards = utmos.score_files(tiny_model, paths[::-1], device="cpu", batch_items=4, batch_seconds=120)[::-1]
    assert np.allclose(backwards, batched, atol=1e-6)


def test_scoring_refuses_audio_that_is_not_16k(tmp_path, tiny_model):
    path = tmp_path / "x.wav"
    sf.write(path, np.zeros(8000, np.float32), 8000)
    with pytest.raises(UserError, match="16 kHz"):
        utmos.score_files(tiny_model, [str(path)], device="cpu", batch_items=16, batch_seconds=120)


def test_offline_fetch_fails_fast_with_a_clear_message(tmp_path, capsys):
    start = time.perf_counter()
    code = main(["fetch", "utmos-weights", "--weights-dir", str(tmp_path), "--hub-repo", "Blinorot/UTMOS-PyTorch",
                 "--revision", REVISION, "--file", "utmos_state_dict.pt"])
    assert code == 2 and time.perf_counter() - start < 5
    err = capsys.readouterr().err
    assert "HF_HUB_OFFLINE=1" in err and "fetch_utmos_weights" in err and "Traceback" not in err


def test_unpinned_revision_and_wrong_file_are_refused(tmp_path):
    with pytest.raises(UtmosUnavailable, match="pinned 40-hex commit"):
        fetch_checkpoint(tmp_path, "Blinorot/UTMOS-PyTorch", "main", "utmos_state_dict.pt", None)
    cached = checkpoint_path(tmp_path, "Blinorot/UTMOS-PyTorch", REVISION, "utmos_state_dict.pt")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the checkpoint")
    with pytest.raises(UserError, match="does not match"):
        fetch_checkpoint(tmp_path, "Blinorot/UTMOS-PyTorch", REVISION, "utmos_state_dict.pt", FULL_SHA256)


def test_a_state_dict_that_is_not_utmos_is_refused(tmp_path):
    path = tmp_path / "partial.pt"
    torch.save({"feature_extractors.1.embedding.weight": torch.zeros(3, 128)}, path)
    with pytest.raises(UtmosUnavailable, match="missing"):
        utmos.load_pretrained(path)
