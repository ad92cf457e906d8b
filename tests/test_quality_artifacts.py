"""Residual-spectrogram analysis: pairs come from the taxonomy, and similar artifacts score as similar."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from scipy.signal import butter, lfilter

from codecfake import registry
from codecfake.quality.artifacts import analyse, choose_pairs, choose_utterances, pair_group, residual_db, similarity
from tests.conftest import SPEECH_SOURCES, speech

DEMO = ["Encodec_6b24k", "Encodec_24b24k", "vocos_encodec_6", "vocos_encodec_12", "DAC24"]


def test_each_taxonomy_relation_gives_its_group():
    base = registry.get("Encodec_6b24k")  # EnCodec, Mvq / None / Time
    other_family = replace(base, family="Other")
    assert pair_group(base, replace(base, protocol_name="x")) == "intra_family"
    assert pair_group(base, other_family) == "inter_family_same_taxonomy"
    assert pair_group(base, replace(other_family, QUA="Svq")) == "quantization"
    assert pair_group(base, replace(base, AUX="Sem")) == "auxiliary"
    assert pair_group(base, replace(other_family, DEC="Freq")) == "decoder"
    assert pair_group(base, replace(other_family, DEC="Freq", AUX="Sem")) is None  # two axes: says nothing


def test_demo_codecs_give_the_pairs_their_registry_taxonomy_implies():
    pairs = choose_pairs(DEMO)
    chosen = {group: {frozenset(p) for p in zip(rows["codec_a"], rows["codec_b"])}
              for group, rows in pairs.groupby("group")}
    assert chosen["intra_family"] == {frozenset({"Encodec_6b24k", "Encodec_24b24k"}),
                                      frozenset({"vocos_encodec_6", "vocos_encodec_12"})}
    assert chosen["inter_family_same_taxonomy"] == {frozenset({"Encodec_6b24k", "DAC24"}),
                                                    frozenset({"Encodec_24b24k", "DAC24"})}
    assert chosen["decoder"] == {frozenset({a, b}) for a in ("Encodec_6b24k", "Encodec_24b24k", "DAC24")
                                 for b in ("vocos_encodec_6", "vocos_encodec_12")}
    assert "quantization" not in chosen and "auxiliary" not in chosen
    assert (pairs["taxonomy_a"][pairs["group"] == "decoder"] != pairs["taxonomy_b"][pairs["group"] == "decoder"]).all()


@pytest.mark.parametrize("source", SPEECH_SOURCES)
def test_residual_of_identical_signals_is_zero_and_similarity_is_exact(source):
    clean = speech(source)
    residual = residual_db(clean, clean, 512, 128, 40.0)
    assert residual.shape[0] == 257 and np.all(residual == 0)
    lowpassed = lfilter(*butter(4, 0.3), clean).astype(np.float32)
    other = residual_db(lowpassed, clean, 512, 128, 40.0)
    assert np.abs(other).max() <= 40.0 and other.min() < -10  # removed highs: a negative residual, clipped
    assert similarity(other, other, 40.0) == pytest.approx((1.0, 1.0))
    noise = np.random.default_rng(0).uniform(-40, 40, other.shape)
    ssim, corr = similarity(other, noise, 40.0)
    assert ssim < 0.3 and abs(corr) < 0.1


def write_results(root, speech_16k):
    """Bona fide + three 'codecs': the EnCodec pair low-passes alike, Vocos adds a tone: known similarities."""
    rng = np.random.default_rng(1)
    rows = []
    for number in range(4):
        utt = f"p1_{number:03d}"
        clean = np.roll(speech_16k, number * 1000)
        versions = {"bonafide": clean,
                    "Encodec_6b24k": lfilter(*butter(6, 0.25), clean),
                    "Encodec_24b24k": lfilter(*butter(6, 0.27), clean) + 1e-4 * rng.standard_normal(len(clean)),
                    "vocos_encodec_6": clean + 0.05 * np.sin(np.arange(len(clean)) * 2 * np.pi * 3000 / 16000)}
        for subset, audio in versions.items():
            path = f"audio/{subset}/eval/{utt}_{subset}.wav"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / path, np.clip(audio, -1, 1), 16000, subtype="PCM_16")
            rows.append({"utt_id": f"{utt}_{subset}", "source_utt": utt, "subset": subset, "path": path})
    manifest = root / "manifest.tsv"
    pd.DataFrame(rows).to_csv(manifest, sep="\t", index=False)
    return manifest


@pytest.mark.parametrize("source", SPEECH_SOURCES)
def test_same_family_artifacts_are_more_alike_than_across_decoders(tmp_path, source):
    manifest = write_results(tmp_path, speech(source))
    codecs = ["Encodec_6b24k", "Encodec_24b24k", "vocos_encodec_6"]
    groups, pairs, examples, utt = analyse(manifest, tmp_path, codecs, count=3, seed=0)
    by_group = groups.set_index("group")
    assert by_group.loc["intra_family", "pairs"] == 1 and by_group.loc["decoder", "pairs"] == 2
    assert by_group.loc["intra_family", "utterances"] == 3 and set(pairs["utterances"]) == {3}
    assert by_group.loc["intra_family", "ssim_mean"] > by_group.loc["decoder", "ssim_mean"] + 0.2
    assert by_group.loc["intra_family", "corr_mean"] > by_group.loc["decoder", "corr_mean"] + 0.3
    assert by_group.loc["quantization", "pairs_used"] == "none among this run's codecs"
    assert by_group.loc["intra_family", "pairs_used"] == "Encodec_6b24k~Encodec_24b24k"
    assert set(examples) == set(codecs) and utt in {"p1_000", "p1_001", "p1_002", "p1_003"}


def test_utterances_are_those_every_codec_has_drawn_reproducibly():
    manifest = pd.DataFrame({"source_utt": ["a", "a", "b", "b", "c", "c", "c"],
                             "subset": ["bonafide", "X", "bonafide", "Y", "bonafide", "X", "Y"]})
    assert choose_utterances(manifest, ["X", "Y"], 5, 0) == ["c"]
    many = pd.DataFrame({"source_utt": [f"u{i}" for i in range(50) for _ in range(2)],
                         "subset": ["bonafide", "X"] * 50})
    drawn = choose_utterances(many, ["X"], 10, 3)
    assert len(drawn) == 10 and drawn == choose_utterances(many, ["X"], 10, 3) != choose_utterances(many, ["X"], 10, 4)
