"""Evaluation sets in their published layouts, per-system EER subsets, Table V aggregation and the heatmap."""
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from codecfake.cm import evalsets
from codecfake.cm.report import (
    POOLED,
    evaluate,
    heatmap,
    quality_filter,
    taxonomy_level,
    training_classes,
)


def write_wav(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(1600, dtype=np.float32), 16000)


def test_cosg_reader_takes_taxonomy_from_table_iv(tmp_path):
    lines = ["VALLE v_001 - - bonafide", "VALLE v_002 - - spoof", "NS3 n_001 - - spoof", "SINGLECODEC s_9 - spoof"]
    for line in lines:
        system, key = line.split()[:2]
        write_wav(tmp_path / "CoSG" / system / f"{key}.wav")
    (tmp_path / "protocol.txt").write_text("\n".join(lines) + "\n")
    table = evalsets.cosg(tmp_path / "CoSG", tmp_path / "protocol.txt").set_index("utt_id")
    assert table.loc["VALLE/v_002", ["QUA", "AUX", "DEC"]].tolist() == ["MVQ", "Trad", "TIME"]
    assert table.loc["NS3/n_001", "AUX"] == "Disent"
    assert table.loc["SINGLECODEC/s_9", ["QUA", "DEC"]].tolist() == ["SVQ", "FREQ"]
    assert table.loc["VALLE/v_001", "system"] == "VALLE"  # a system's own bona fide prompts
    (tmp_path / "bad.txt").write_text("NOTASYSTEM x - - spoof\n")
    with pytest.raises(evalsets.EvalSetError, match="unknown CoSG system 'NOTASYSTEM'"):
        evalsets.cosg(tmp_path / "CoSG", tmp_path / "bad.txt")
    (tmp_path / "missing.txt").write_text("VALLE nothere - - spoof\n")
    with pytest.raises(evalsets.EvalSetError, match="1 of 1 audio files are missing"):
        evalsets.cosg(tmp_path / "CoSG", tmp_path / "missing.txt")


def test_asvspoof_readers(tmp_path):
    for name in ("LA_T_1", "LA_T_2", "T_0000000001", "T_0000000002"):
        write_wav(tmp_path / "flac" / f"{name}.wav")
        (tmp_path / "flac" / f"{name}.wav").rename(tmp_path / "flac" / f"{name}.flac")
    (tmp_path / "la.txt").write_text("LA_0079 LA_T_1 - - bonafide\nLA_0079 LA_T_2 - A01 spoof\n")
    la = evalsets.asvspoof2019(tmp_path / "flac", tmp_path / "la.txt")
    assert la["system"].tolist() == ["bonafide", "A01"] and la["domain"].unique().tolist() == ["ASVspoof2019"]
    (tmp_path / "a5.txt").write_text("T_4850 T_0000000001 F - - - - bonafide bonafide -\n"
                                     "T_4850 T_0000000002 F - - - AC3 A05 spoof -\n")
    five = evalsets.asvspoof5(tmp_path / "flac", tmp_path / "a5.txt")
    assert five["label"].tolist() == ["bonafide", "spoof"] and five["system"].tolist() == ["bonafide", "A05"]


def test_folder_reader(tmp_path):
    write_wav(tmp_path / "set/bonafide/a.wav")
    write_wav(tmp_path / "set/spoof/SYS1/b.wav")
    write_wav(tmp_path / "set/spoof/c.wav")
    table = evalsets.folder(tmp_path / "set", domain="mine")
    assert sorted(table["system"]) == ["SYS1", "bonafide", "spoof"]
    with pytest.raises(evalsets.EvalSetError, match="expected bonafide/ and spoof/"):
        evalsets.folder(tmp_path / "empty")


def scores_table(rng, systems, shared_bonafide=True, n=8):
    rows = []
    for system, shift in systems.items():
        for i in range(n):
            rows.append({"utt_id": f"{system}_{i}", "label": "spoof", "system": system,
                         "score": rng.normal(-shift, 0.1),
                         "source_utt": f"u{i}", "speaker": f"s{i % 2}", "QUA": "MVQ", "AUX": "Trad",
                         "DEC": "FREQ" if system.startswith("F") else "TIME"})
            if not shared_bonafide:
                rows.append({"utt_id": f"{system}_b{i}", "label": "bonafide", "system": system,
                             "score": rng.normal(1.0, 0.1), "source_utt": f"{system}_b{i}", "speaker": "-",
                             "QUA": "REAL", "AUX": "REAL", "DEC": "REAL"})
    if shared_bonafide:
        rows += [{"utt_id": f"b{i}", "label": "bonafide", "system": "bonafide", "score": rng.normal(1.0, 0.1),
                  "source_utt": f"u{i}", "speaker": f"s{i % 2}", "QUA": "REAL", "AUX": "REAL", "DEC": "REAL"}
                 for i in range(n)]
    table = pd.DataFrame(rows)
    return table.assign(bonafide_probability=1 / (1 + np.exp(-2 * table["score"])))


def test_evaluate_uses_each_systems_bonafide():
    rng = np.random.default_rng(0)
    shared = scores_table(rng, {"T1": 3.0, "F1": -3.0})
    eer, confusion = evaluate(shared, "cm", "CoRS_eval", "source_utt", 50, 5)
    by_system = eer.set_index("system")
    assert list(by_system.index) == ["F1", "T1", POOLED]
    assert by_system.loc["T1", "n_bonafide"] == 8 and by_system.loc["T1", "n_spoof"] == 8
    assert by_system.loc["T1", "eer"] == 0.0 and by_system.loc["F1", "eer"] == 1.0  # not folded to 0
    assert by_system.loc[POOLED, "n_spoof"] == 16
    assert (confusion["bonafide_as_bonafide"] + confusion["bonafide_as_spoof"]).tolist() == [8, 8, 8]
    assert confusion.set_index("system").loc["T1", ["bonafide_as_bonafide", "spoof_as_spoof"]].tolist() == [8, 8]
    _, doubtful = evaluate(shared.assign(bonafide_probability=0.4), "cm", "CoRS_eval", "source_utt", 50, 5)
    assert doubtful["bonafide_as_spoof"].tolist() == [8, 8, 8]  # decisions read P(bona fide), not the logit
    own = scores_table(rng, {"T1": 3.0, "F1": 3.0}, shared_bonafide=False)
    eer, _ = evaluate(own, "cm", "CoSG", "system", 50, 5)
    assert eer.set_index("system").loc["T1", "n_bonafide"] == 8  # only T1's own prompts
    assert eer.set_index("system").loc[POOLED, "n_bonafide"] == 16


def test_taxonomy_level_means_and_standard_errors():
    rng = np.random.default_rng(1)
    table = scores_table(rng, {"T1": 3.0, "T2": 3.0, "F1": -3.0})
    train_time = pd.DataFrame({"label": ["bonafide", "spoof"], "QUA": ["REAL", "MVQ"], "AUX": ["REAL", "Trad"],
                               "DEC": ["REAL", "TIME"]})
    train_mixed = pd.concat([train_time, pd.DataFrame([{"label": "spoof", "QUA": "MVQ", "AUX": "Trad",
                                                         "DEC": "FREQ"}])], ignore_index=True)
    classes = {"a": training_classes(train_time), "b": training_classes(train_mixed)}
    assert classes["a"]["DEC"] == "TIME" and classes["b"]["DEC"] == "mixed"
    result = taxonomy_level({("a", "CoRS_eval"): table, ("b", "CoRS_eval"): table}, classes)
    dec = result[result["attribute"] == "DEC"].set_index(["train_class", "eval_class"])
    assert dec.loc[("TIME", "TIME"), "mean_eer"] == 0.0 and dec.loc[("TIME", "TIME"), "n_pairs"] == 2
    assert dec.loc[("TIME", "FREQ"), "mean_eer"] == 1.0 and np.isnan(dec.loc[("TIME", "FREQ"), "se_eer"])
    qua = result[result["attribute"] == "QUA"].set_index(["train_class", "eval_class"])
    values = np.array([0.0, 0.0, 1.0] * 2)  # both CMs trained on MVQ: 2 CMs x 3 systems
    assert qua.loc[("MVQ", "MVQ"), "n_pairs"] == 6 and qua.loc[("MVQ", "MVQ"), "n_cms"] == 2
    assert qua.loc[("MVQ", "MVQ"), "mean_eer"] == pytest.approx(values.mean())
    assert qua.loc[("MVQ", "MVQ"), "se_eer"] == pytest.approx(values.std(ddof=1) / np.sqrt(6))


def test_quality_filter_and_heatmap(tmp_path):
    rng = np.random.default_rng(2)
    table = scores_table(rng, {"T1": 3.0})
    quality = pd.DataFrame({"utt_id": table["utt_id"], "utmos": np.linspace(1, 5, len(table))})
    kept = quality_filter(table, quality, "utt_id", "utmos", 3.5)
    assert len(kept) == (quality["utmos"] > 3.5).sum()
    eer, _ = evaluate(table, "cm", "CoRS_eval", None, 0, 5)
    heatmap(eer, ["CoRS_eval"], tmp_path / "heatmap.png")
    assert (tmp_path / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fetch_archive_unpacks_a_wrapped_cosg_release(tmp_path):
    """The archive already downloaded (checksum verified, no network): unpacked so root holds the systems."""
    import zipfile

    from codecfake.download import ChecksumMismatch, sha256_of

    write_wav(tmp_path / "src/VALLE/v_1.wav")
    (tmp_path / "src/protocol.txt").write_text("VALLE v_1 - - spoof\n")
    (tmp_path / "data").mkdir()

    def place_archive():
        with zipfile.ZipFile(tmp_path / "data/CoSG.zip", "w") as archive:
            archive.write(tmp_path / "src/VALLE/v_1.wav", "CodecFake+/VALLE/v_1.wav")
            archive.write(tmp_path / "src/protocol.txt", "CodecFake+/protocol.txt")

    place_archive()
    root, url = tmp_path / "data/CoSG", "https://example.invalid/release/CoSG.zip"
    with pytest.raises(ChecksumMismatch):
        evalsets.fetch_archive(url, root, "0" * 64)
    assert not (tmp_path / "data/CoSG.zip").exists(), "the one checksum policy deletes a file that fails it"
    place_archive()
    evalsets.fetch_archive(url, root, sha256_of(tmp_path / "data/CoSG.zip"))
    assert evalsets.cosg(root, root / "protocol.txt")["utt_id"].tolist() == ["VALLE/v_1"]
    with pytest.raises(evalsets.EvalSetError, match="already exists"):
        evalsets.fetch_archive(url, root)


def test_cors_set_from_published_protocol_and_flat_folder(tmp_path):
    """CoRS_ALL.txt lines (`SPK UTT - - label`, one with the published `spoofs` typo) + all_data_16k/{UTT}.wav|flac."""
    lines = ["p227 p227_260_snac_24khz - - spoof", "p227 p227_260 - - bonafide",
             "p228 p228_241_vocos_encodec_6 - - spoofs", "p228 p228_241_vocos_encodec_12 - - spoof",
             "p228 p228_241 - - bonafide"]
    folder = tmp_path / "all_data_16k"
    for index, line in enumerate(lines):
        utt = line.split()[1]
        path = folder / f"{utt}.{'flac' if index % 2 else 'wav'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.zeros(1600, dtype=np.float32), 16000)
    (tmp_path / "CoRS_ALL.txt").write_text("\n".join(lines) + "\n")
    spec = {"format": "cors_published", "root": str(folder), "protocol": str(tmp_path / "CoRS_ALL.txt")}
    table = evalsets.load("CoRS_published", spec).set_index("utt_id")
    assert table.loc["p227_260_snac_24khz", ["system", "source_utt", "QUA", "AUX", "DEC"]].tolist() == \
        ["snac_24khz", "p227_260", "MVQ", "Trad", "TIME"]
    assert table.loc["p228_241_vocos_encodec_12", ["system", "source_utt", "DEC"]].tolist() == \
        ["vocos_encodec_12", "p228_241", "FREQ"]
    assert table.loc["p228_241_vocos_encodec_6", "label"] == "spoof"
    assert table.loc["p227_260", ["label", "system", "QUA"]].tolist() == ["bonafide", "bonafide", "REAL"]
    assert table.loc["p227_260", "path"].endswith("all_data_16k/p227_260.flac")
    assert (table["domain"] == "CoRS_published").all()
    with pytest.raises(evalsets.EvalSetError, match="needs `protocol`"):
        evalsets.load("CoRS_published", {**spec, "protocol": None})
    (tmp_path / "unknown.txt").write_text("p227 p227_260_NotACodec - - spoof\n")
    with pytest.raises(evalsets.EvalSetError, match="no registered codec"):
        evalsets.cors_published(folder, tmp_path / "unknown.txt")


def test_cosg_protocol_with_an_extra_field_is_an_error_not_a_shift(tmp_path):
    from codecfake.protocols import ProtocolError

    write_wav(tmp_path / "CoSG/VALLE/v_1.wav")
    (tmp_path / "p.txt").write_text("VALLE v_1 - MVQ spoof\nVALLE v_2 - MVQ extra spoof\n")
    with pytest.raises(ProtocolError, match="p.txt line 2: 6 fields"):
        evalsets.cosg(tmp_path / "CoSG", tmp_path / "p.txt")
