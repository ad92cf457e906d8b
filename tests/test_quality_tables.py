"""Dataset statistics (Table II), metric aggregation, figures and the report's table views."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from codecfake.quality.aggregate import aggregate, summarize
from codecfake.quality.figures import metric_bars
from codecfake.quality.stats import dataset_stats
from codecfake.quality.table_views import table_html


def write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, sep="\t", index=False)
    return str(path)


def test_stats_count_utterances_hours_durations_and_rejects(tmp_path):
    manifest = pd.DataFrame({"subset": ["bonafide"] * 3 + ["Encodec_6b24k"] * 2,
                             "duration": [1.0, 2.0, 4.5, 1.0, 2.0]})
    rejects = pd.DataFrame({"subset": ["bonafide", "Encodec_6b24k", "Encodec_6b24k", "Encodec_6b24k"],
                            "reason": ["empty: 0 samples", "too short: 100 samples", "too short: 90 samples",
                                       "unreadable: LibsndfileError: x"]})
    empty_rejects = tmp_path / "rejects_dev.tsv"
    empty_rejects.write_text("source_utt\tspeaker\tsplit\tsubset\tsource_path\treason\n")
    table = dataset_stats({"train": write(manifest, tmp_path / "m.tsv"),
                           "dev": write(manifest.iloc[:0], tmp_path / "m_dev.tsv")},
                          {"train": write(rejects, tmp_path / "r.tsv"), "dev": str(empty_rejects)},
                          ["Encodec_6b24k", "DAC24"])
    rows = table.set_index(["split", "subset"])
    bonafide = rows.loc["train", "bonafide"]
    assert bonafide["utterances"] == 3 and bonafide["hours"] == pytest.approx(7.5 / 3600, abs=1e-6)
    assert (bonafide["min_s"], bonafide["mean_s"], bonafide["max_s"]) == (1.0, 2.5, 4.5)
    assert bonafide["rejects"] == 1 and bonafide["reject_reasons"] == "empty: 1"
    encodec = rows.loc["train", "Encodec_6b24k"]
    assert encodec["rejects"] == 3 and encodec["reject_reasons"] == "too short: 2; unreadable: 1"
    assert rows.loc["train", "DAC24"]["utterances"] == 0  # a configured codec with no output still has its row
    total = rows.loc["train", "all"]
    assert total["utterances"] == 5 and total["rejects"] == 4 and total["max_s"] == 4.5
    assert rows.loc["dev", "all"]["utterances"] == 0 and rows.loc["dev", "all"]["rejects"] == 0


def test_summary_is_the_student_t_interval_of_the_mean():
    values = np.array([1.0, 2.0, 4.0, 5.0, np.nan])
    summary = summarize(values)
    half = scipy_stats.t.ppf(0.975, 3) * np.std(values[:4], ddof=1) / 2
    assert summary["n"] == 4 and summary["mean"] == 3.0
    assert summary["ci95_low"] == pytest.approx(3.0 - half) and summary["ci95_high"] == pytest.approx(3.0 + half)
    assert np.isnan(summarize(np.array([2.0]))["std"])


def scores() -> pd.DataFrame:
    rows = []
    for split in ("dev", "eval"):
        for subset, base in (("bonafide", 3.5), ("Encodec_6b24k", 2.5), ("vocos_encodec_6", 2.0)):
            for i in range(4):
                rows.append({"utt_id": f"{subset}{i}", "source_utt": f"u{i}", "speaker": "p1", "split": split,
                             "subset": subset, "duration": "1.0", "dnsmos_ovrl": base + 0.1 * i,
                             "pesq_wb": np.nan if subset == "bonafide" else base - 1,
                             "utmos": base, "utmos_weights": "random (untrained; NOT a quality score)"})
    return pd.DataFrame(rows)


def test_aggregate_gives_one_row_per_split_and_subset_with_taxonomy():
    table = aggregate(scores())
    assert list(zip(table["split"], table["subset"])) == [
        (s, c) for s in ("dev", "eval") for c in ("bonafide", "Encodec_6b24k", "vocos_encodec_6")]
    row = table.set_index(["split", "subset"]).loc["dev", "vocos_encodec_6"]
    assert (row["family"], row["QUA"], row["AUX"], row["DEC"]) == ("Vocos", "Mvq", "None", "Freq")
    assert row["dnsmos_ovrl_mean"] == pytest.approx(2.15) and row["files"] == 4
    bonafide = table.set_index(["split", "subset"]).loc["dev", "bonafide"]
    assert bonafide["pesq_wb_n"] == 0 and np.isnan(bonafide["pesq_wb_mean"])
    assert table["utmos_weights"].str.startswith("random").all()


def test_metric_figure_is_drawn_and_marks_random_utmos(tmp_path):
    table = aggregate(scores())
    metric_bars(table, "dnsmos_ovrl", tmp_path / "dnsmos.png")
    metric_bars(table, "utmos", tmp_path / "utmos.png")
    image = plt.imread(tmp_path / "dnsmos.png")
    assert image.shape[0] > 200 and image.shape[1] > 400 and image[..., :3].std() > 0.05
    red = plt.imread(tmp_path / "utmos.png")[..., :3]
    assert ((red[..., 0] > 0.9) & (red[..., 1] < 0.2) & (red[..., 2] < 0.2)).sum() > 50  # the red warning title


def test_table_view_shows_every_row_and_keeps_the_none_class(tmp_path):
    path = write(aggregate(scores()), tmp_path / "metrics.tsv")
    page = table_html(path, "metrics")
    assert page.count("<tr") == 1 + 6 and "<td>None</td>" in page and "6 rows" in page
