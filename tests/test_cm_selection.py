"""Training-set selection on a synthetic CoRS split that uses all 31 codec configurations of the paper."""
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from codecfake import registry
from codecfake.cm import evalsets
from codecfake.cm.selection import SelectionError, protocol_text, select
from codecfake.protocols import MANIFEST_COLUMNS, read_protocol
from tests.conftest import REPO

#: The paper's 31 configurations: the schema's default codec list (the registry may hold more).
PAPERS_31 = yaml.safe_load((REPO / "config.schema.yaml").read_text())["properties"]["codecs"]["default"]


def taxonomy() -> pd.DataFrame:
    """Protocol name -> QUA/AUX/DEC (paper Table III) of the paper's 31 configurations, from their entries."""
    return pd.DataFrame([{"protocol_name": e.protocol_name, "QUA": e.QUA, "AUX": e.AUX, "DEC": e.DEC}
                         for e in map(registry.get, PAPERS_31)])


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    table = taxonomy()
    assert len(table) == 31
    labels = registry.protocol_labels()
    rng = np.random.default_rng(0)
    rows = []
    for speaker in ("p225", "p230", "p231", "p232"):
        for number in range(1, 31):
            utt = f"{speaker}_{number:03d}"
            rows.append({"utt_id": utt, "source_utt": utt, "speaker": speaker, "subset": "bonafide",
                         "label": "bonafide", "AUX": "REAL", "DEC": "REAL", "VQ": "REAL"})
            for codec in table.itertuples():
                if rng.random() < 0.05:  # a few resyntheses rejected, as in real runs
                    continue
                rows.append({"utt_id": f"{utt}_{codec.protocol_name}", "source_utt": utt, "speaker": speaker,
                             "subset": codec.protocol_name, "label": "spoof", "AUX": labels["AUX"][codec.AUX],
                             "DEC": labels["DEC"][codec.DEC], "VQ": labels["QUA"][codec.QUA]})
    manifest = pd.DataFrame(rows).assign(split="train", codec_id="-", family="-", samples="16000", duration="1.0",
                                         clipped="0", weights="random")
    manifest["path"] = "audio/" + manifest["subset"] + "/train/" + manifest["utt_id"] + ".wav"
    path = tmp_path_factory.mktemp("selection") / "cors_train.tsv"
    manifest[MANIFEST_COLUMNS].to_csv(path, sep="\t", index=False)
    return evalsets.cors(path, path.parent)


def spoof(selected):
    return selected[selected["label"] == "spoof"]


def test_single_codec(trials):
    selected = select(trials, {"strategy": "single", "codecs": ["DAC24"]}, seed=0)
    assert set(spoof(selected)["system"]) == {"DAC24"}
    assert (selected["label"] == "bonafide").sum() == 120
    assert len(spoof(selected)) == (trials["system"] == "DAC24").sum()


def test_union_of_listed_codecs(trials):
    codecs = ["languagecodec", "vocos_encodec_6", "vocos_encodec_12"]  # J, L1, L2
    selected = select(trials, {"strategy": "union", "codecs": codecs}, seed=0)
    assert set(spoof(selected)["system"]) == set(codecs)
    assert len(spoof(selected)) == trials["system"].isin(codecs).sum()
    assert len(spoof(select(trials, {"strategy": "union"}, seed=0))) == (trials["label"] == "spoof").sum()


@pytest.mark.parametrize("attribute", ["QUA", "AUX", "DEC"])
@pytest.mark.parametrize("scale", [1, 4])
def test_balanced_keeps_every_bonafide_and_classes_within_one(trials, attribute, scale):
    selected = select(trials, {"strategy": "balanced", "attribute": attribute, "scale": scale}, seed=0)
    classes = Counter(spoof(selected)[attribute])
    assert set(classes) == set(spoof(trials)[attribute])
    assert max(classes.values()) - min(classes.values()) <= 1, classes
    bonafide = selected[selected["label"] == "bonafide"]
    assert len(bonafide) == (trials["label"] == "bonafide").sum() == 120  # every bona fide kept
    per_utterance = spoof(selected).groupby("source_utt").size()
    assert set(per_utterance.index) == set(bonafide["source_utt"])  # every spoof pairs with its own bona fide
    assert (per_utterance == scale).all()


def published_size_trials(classes: dict[str, list[str]], attribute: str, sources: int = 42_965) -> pd.DataFrame:
    """A trial table the size of the published train split: every source has one resynthesis per codec."""
    utts = [f"s{n:05d}" for n in range(sources)]
    rows = [{"utt_id": u, "label": "bonafide", "source_utt": u, "system": "bonafide", attribute: "REAL"}
            for u in utts]
    for cls, codecs in classes.items():
        for codec in codecs:
            rows += [{"utt_id": f"{u}_{codec}", "label": "spoof", "source_utt": u, "system": codec, attribute: cls}
                     for u in utts]
    return pd.DataFrame(rows).assign(path="-", speaker="spk", domain="CoRS",
                                     **{a: "-" for a in ("QUA", "AUX", "DEC") if a != attribute})


@pytest.mark.parametrize("attribute,classes,expected", [
    ("AUX", {"Trad": ["a", "b"], "SEM": ["c", "d"], "Disent": ["e", "f"]}, [14_321, 14_322, 14_322]),
    ("DEC", {"TIME": ["a", "b"], "FREQ": ["c", "d"]}, [21_482, 21_483]),
])
def test_balanced_counts_match_the_published_lists(attribute, classes, expected):
    """The published train lists keep all 42,965 bona fide: AUX 14,322/14,321/14,322, DEC 21,483/21,482."""
    trials = published_size_trials(classes, attribute)
    selected = select(trials, {"strategy": "balanced", "attribute": attribute}, seed=3)
    assert (selected["label"] == "bonafide").sum() == 42_965
    assert sorted(Counter(spoof(selected)[attribute]).values()) == expected


def test_balanced_draws_the_codec_at_random_within_a_class():
    """Codec counts inside a class vary as independent uniform draws do (not round-robin's +-1)."""
    from scipy.stats import chisquare

    classes = {"Trad": ["a", "b", "c"], "SEM": ["d", "e", "f"], "Disent": ["g", "h", "i"]}
    trials = published_size_trials(classes, "AUX", sources=6000)
    spreads = []
    for seed in range(3):
        used = spoof(select(trials, {"strategy": "balanced", "attribute": "AUX"}, seed=seed))["system"]
        counts = used.value_counts()
        for codecs in classes.values():
            observed = counts.reindex(codecs).to_numpy()
            assert chisquare(observed).pvalue > 1e-4, observed  # consistent with uniform
            spreads.append(observed.max() - observed.min())
    assert max(spreads) > 2  # ~2000 uniform draws over 3 codecs: round-robin would never spread beyond 1


def test_balanced_is_seeded(trials):
    strategy = {"strategy": "balanced", "attribute": "DEC"}
    first = select(trials, strategy, seed=1)
    assert first.equals(select(trials, strategy, seed=1))
    assert not first.equals(select(trials, strategy, seed=2))


def test_balanced_selections_of_two_attributes_are_independent_draws():
    """With one seed, the AUX and QUA lists must not be one draw relabelled. A dev set of three codecs, one per AUX
    and per QUA class (as in a small run): per source utterance, the AUX class of its AUX-list spoof against the QUA
    class of its QUA-list spoof must fill the 3 x 3 table, as the published lists' pairings do (a shared random
    stream gave a permutation matrix: Disent->MVQ, SEM->SQ, Trad->SVQ, every other cell 0)."""
    codecs = {"x": ("Trad", "MVQ"), "y": ("SEM", "SVQ"), "z": ("Disent", "SQ")}
    utts = [f"p226_{n:03d}" for n in range(1, 736)]
    rows = [{"utt_id": u, "label": "bonafide", "source_utt": u, "system": "bonafide", "AUX": "REAL", "QUA": "REAL"}
            for u in utts]
    rows += [{"utt_id": f"{u}_{codec}", "label": "spoof", "source_utt": u, "system": codec, "AUX": aux, "QUA": qua}
             for u in utts for codec, (aux, qua) in codecs.items()]
    trials = pd.DataFrame(rows).assign(path="-", speaker="p226", domain="CoRS", DEC="-")
    picks = {}
    for attribute in ("AUX", "QUA"):
        selected = spoof(select(trials, {"strategy": "balanced", "attribute": attribute}, seed=0))
        assert sorted(Counter(selected[attribute]).values()) == [245, 245, 245]
        picks[attribute] = selected.set_index("source_utt")[attribute]
    table = pd.crosstab(picks["AUX"], picks["QUA"].reindex(picks["AUX"].index))
    assert ((table > 0).sum(axis=1) > 1).all(), table  # no row with a single class: not a permutation matrix
    assert (table > 0).to_numpy().sum() == 9 and table.to_numpy().min() > 245 / 6, table  # ~27 expected per cell


def test_external_union_and_protocol(trials, tmp_path):
    external = trials.head(6).assign(utt_id=lambda t: "LA_" + t["utt_id"], domain="ASVspoof2019",
                                     QUA="-", AUX="-", DEC="-")
    selected = select(trials, {"strategy": "single", "codecs": ["mini"]}, seed=0, externals=[external])
    assert (selected["domain"] == "ASVspoof2019").sum() == 6
    path = tmp_path / "train_protocol.txt"
    path.write_text(protocol_text(selected))
    protocol = read_protocol(path)
    assert list(protocol["utt_id"]) == list(selected["utt_id"])
    assert set(protocol.loc[protocol["label"] == "spoof", "VQ"]) <= {"MVQ", "-"}


@pytest.mark.parametrize("strategy,message", [
    ({"strategy": "single", "codecs": ["DAC24", "mini"]}, "exactly one codec"),
    ({"strategy": "union", "codecs": ["NotACodec"]}, "NotACodec"),
    ({"strategy": "balanced"}, "attribute"),
    ({"strategy": "balanced", "attribute": "DEC", "codecs": ["DAC24", "mini"]}, "at least two classes"),
    ({"strategy": "random"}, "unknown strategy"),
])
def test_bad_strategies_name_the_problem(trials, strategy, message):
    with pytest.raises(SelectionError, match=message):
        select(trials, strategy, seed=0)
