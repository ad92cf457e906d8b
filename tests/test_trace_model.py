"""Tracer heads and the multi-task loss: shapes, probabilities, fixed and learned head weights, class weights."""
import hashlib
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from codecfake.cm.presets import resolve
from codecfake.errors import UserError
from codecfake.trace.loss import MultiTaskLoss, balanced_class_weights, class_weight_table
from codecfake.trace.model import Tracer
from codecfake.trace.tasks import IGNORE, classes
from tests.cm_fixtures import one_thread  # noqa: F401 (autouse)
from tests.trace_fixtures import ARCH

VARIANTS = {"single": ["VQ"], "binary+one": ["binary", "DEC"], "all": ["binary", "VQ", "AUX", "DEC"],
            "taxonomy-only": ["VQ", "AUX", "DEC"]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_heads_have_their_class_counts_and_softmax_sums_to_one(variant):
    torch.manual_seed(0)
    model = Tracer(resolve("aasist", ARCH), VARIANTS[variant]).eval()
    with torch.no_grad():
        logits = model(torch.randn(3, 6000))
    assert list(logits) == VARIANTS[variant]
    sizes = {"binary": 2, "VQ": 4, "AUX": 4, "DEC": 3}
    for task, value in logits.items():
        assert value.shape == (3, sizes[task]) and len(classes(task)) == sizes[task]
        probabilities = torch.softmax(value.double(), dim=-1)
        assert torch.allclose(probabilities.sum(-1), torch.ones(3, dtype=torch.float64))
    assert classes("VQ")[0] == classes("AUX")[0] == classes("DEC")[0] == "REAL"


def test_tracer_rejects_non_aasist_trunks_and_unknown_tasks():
    with pytest.raises(UserError, match="AASIST"):
        Tracer(resolve("mel_lcnn", {"width": 0.25}), ["binary"])
    with pytest.raises(UserError, match="tasks"):
        Tracer(resolve("aasist", ARCH), ["binary", "codec"])


def _batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = {"binary": torch.randn(6, 2, generator=generator), "VQ": torch.randn(6, 4, generator=generator)}
    targets = torch.tensor([[1, 0], [0, 1], [0, 2], [0, 3], [1, 0], [0, 1]])
    return logits, targets


def test_fixed_weights_give_the_weighted_sum_of_cross_entropies():
    logits, targets = _batch()
    loss = MultiTaskLoss(["binary", "VQ"], head_weights={"binary": 0.25, "VQ": 2.0})
    total, per_head = loss(logits, targets)
    expected = 0.25 * F.cross_entropy(logits["binary"], targets[:, 0]) + 2.0 * F.cross_entropy(logits["VQ"],
                                                                                                 targets[:, 1])
    assert torch.isclose(total, expected)
    assert set(per_head) == {"binary", "VQ"}
    zero = MultiTaskLoss(["binary", "VQ"], head_weights={"VQ": 0.0})
    vq = logits["VQ"].clone().requires_grad_(True)
    zero({"binary": logits["binary"], "VQ": vq}, targets)[0].backward()
    assert torch.count_nonzero(vq.grad) == 0  # a head weighted 0 does not train
    with pytest.raises(UserError, match="head_weights"):
        MultiTaskLoss(["binary"], head_weights={"DEC": 1.0})


def test_class_weights_and_ignored_labels():
    logits, targets = _batch()
    weights = [0.0, 1.0, 3.0, 1.0]
    loss = MultiTaskLoss(["VQ"], class_weights={"VQ": weights})
    total, _ = loss({"VQ": logits["VQ"]}, targets[:, 1:])
    assert torch.isclose(total, F.cross_entropy(logits["VQ"], targets[:, 1], weight=torch.tensor(weights)))
    unknown = targets[:, 1:].clone()
    unknown[:3] = IGNORE
    total, _ = loss({"VQ": logits["VQ"]}, unknown)
    assert torch.isclose(total, F.cross_entropy(logits["VQ"][3:], targets[3:, 1], weight=torch.tensor(weights)))
    total, per_head = loss({"VQ": logits["VQ"]}, torch.full_like(unknown, IGNORE))
    assert float(total) == 0.0 and per_head == {}  # a batch with no labelled trial adds nothing, not NaN


def test_defaults_are_the_tracing_codes_weights():
    """CodecFake-Source-Tracing train.py: CrossEntropyLoss weights [0.1, 0.9] (binary), [0.1, 0.3, 0.3, 0.3]
    (AUX, VQ), [0.1, 0.45, 0.45] (DEC); head weights softmax of equal values = 1/K."""
    table = class_weight_table(["binary", "VQ", "AUX", "DEC"], "reference", np.zeros((1, 4), dtype=int))
    assert table == {"binary": [0.1, 0.9], "VQ": [0.1, 0.3, 0.3, 0.3], "AUX": [0.1, 0.3, 0.3, 0.3],
                     "DEC": [0.1, 0.45, 0.45]}
    logits, targets = _batch()
    loss = MultiTaskLoss(["binary", "VQ"], class_weights={k: table[k] for k in ("binary", "VQ")})
    expected = (F.cross_entropy(logits["binary"], targets[:, 0], weight=torch.tensor([0.1, 0.9]))
                + F.cross_entropy(logits["VQ"], targets[:, 1], weight=torch.tensor([0.1, 0.3, 0.3, 0.3]))) / 2
    assert torch.isclose(loss(logits, targets)[0], expected)


def test_score_without_a_binary_head_is_the_tracing_codes():
    """1 - (P_spoof,VQ * P_spoof,AUX * P_spoof,DEC)^(1/3), P_spoof = 1 - P(REAL): here (0.5 * 0.8 * 0.2)^(1/3)
    = 0.4309."""
    from codecfake.trace.predict import bonafide_score
    probabilities = {"VQ": np.array([[0.5, 0.5, 0.0, 0.0]]), "AUX": np.array([[0.2, 0.1, 0.3, 0.4]]),
                     "DEC": np.array([[0.8, 0.1, 0.1]])}
    assert np.exp(bonafide_score(probabilities)) == pytest.approx([1 - 0.43088694])
    assert bonafide_score({"binary": np.array([[0.25, 0.75]])}) == pytest.approx([np.log(0.75)])


def test_balanced_class_weights_invert_frequencies():
    assert balanced_class_weights(np.array([0, 1, 2, 0, 1, 2]), 4) == [1.0, 1.0, 1.0, 0.0]
    weights = balanced_class_weights(np.array([0, 1, 1, 1, IGNORE]), 2)
    assert weights[0] == pytest.approx(3 * weights[1]) and weights[0] * 1 + weights[1] * 3 == pytest.approx(4)
    table = class_weight_table(["binary", "DEC"], {"binary": {"bonafide": 0.9, "spoof": 0.1}, "DEC": "none"},
                               np.array([[1, 0], [0, 1]]))
    assert table == {"binary": [0.1, 0.9], "DEC": [1.0, 1.0, 1.0]}
    with pytest.raises(UserError, match="unknown class"):
        class_weight_table(["DEC"], {"DEC": {"SVQ": 2.0}}, np.array([[0]]))


def test_learned_weights_follow_uncertainty_weighting():
    logits, targets = _batch()
    loss = MultiTaskLoss(["binary", "VQ"], learnable=True)
    total, per_head = loss(logits, targets)
    assert torch.isclose(total, (per_head["binary"] + per_head["VQ"]) / 2)  # s_i = 0 at the start; w_i = 1/K
    # With the head losses held fixed, minimising over s_i gives s_i = log CE_i: the noisier head gets w_i / CE.
    optimizer = torch.optim.Adam(loss.parameters(), lr=0.05)
    for _ in range(600):
        optimizer.zero_grad()
        loss(logits, targets)[0].backward()
        optimizer.step()
    expected = {task: 0.5 / float(value) for task, value in per_head.items()}
    weights = loss.effective_weights()
    for task in expected:
        assert weights[task] == pytest.approx(expected[task], rel=0.02)
    assert (weights["VQ"] < weights["binary"]) == (per_head["VQ"] > per_head["binary"])


def test_w2v2_trunk_saves_and_reloads_offline(tmp_path):
    """A tracer on a (tiny, random) wav2vec 2.0 trunk: heads as on AASIST, and its checkpoint rebuilds without hub."""
    from codecfake.trace.model import checkpoint_payload, load_tracer
    from tests.test_cm_models import TINY

    torch.manual_seed(0)
    spec = resolve("w2v2_aasist", TINY["w2v2_aasist"])
    model = Tracer(spec, ["binary", "AUX"]).eval()
    wave = torch.randn(2, 8000)
    with torch.no_grad():
        before = model(wave)
    assert {task: tuple(v.shape) for task, v in before.items()} == {"binary": (2, 2), "AUX": (2, 4)}
    torch.save(checkpoint_payload(model, spec), tmp_path / "model.pt")
    loaded, stored = load_tracer(tmp_path / "model.pt", torch.device("cpu"))
    assert stored["arch"]["ssl"]["pretrained"] is None and stored["arch"]["ssl"]["config"]["hidden_size"] == 32
    with torch.no_grad():
        after = loaded(wave)
    for task in before:
        assert torch.allclose(before[task], after[task], atol=1e-5)


# From CodecFake-Source-Tracing's W2V2_AASIST_Model (@ 91516e0, model_type M1 / M2, run outside the repo with the
# SSL model stubbed out): sha256 of its sorted state-dict "name:shape" lines, and its parameter count.
REFERENCE_KEYS = {"M1": ("a6a034f654fa3730d869f4e9217f57123ee1c1da53481b5e9135a3dc82552009", 668, 712071),
                  "M2": ("1e433a5f0833c0ef688256e60703a1dbb3862ef92a1f291632a40de9ade70842", 527, 624063)}
# Its logits with every float tensor filled by `_fill` and the input of `_features` (same fill, same input).
REFERENCE_LOGITS = {"binary": [-0.251406, 0.093613], "AUX": [0.032151, -0.468817, 0.165585, 0.266818],
                    "DEC": [-0.0112, -0.203356, -0.009811], "VQ": [0.266458, 0.318795, 0.048732, 0.211572]}


def _reference_shaped_tracer(tasks):
    """W2V2-AASIST as the tracing code sizes it, on 1,024-dim features in place of XLS-R."""
    return Tracer(resolve("w2v2_aasist", {"frontend": "features", "features": {"features": 1024}}), tasks)


def _fill(model):
    state = model.state_dict()
    for name in sorted(state):
        value = state[name]
        if value.is_floating_point():
            noise = torch.randn(value.shape, generator=torch.Generator().manual_seed(zlib.crc32(name.encode())))
            value.copy_(noise.abs() + 0.5 if name.endswith("running_var") else 0.1 * noise)


def _features():
    return torch.randn(1, 1024, 120, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("variant, tasks", [("M1", ["binary", "VQ", "AUX", "DEC"]), ("M2", ["VQ", "AUX", "DEC"])])
def test_parameter_names_and_shapes_are_the_tracing_codes(variant, tasks):
    """One AASIST graph branch per task on a shared trunk: the reference's state dict loads with strict=True."""
    model = _reference_shaped_tracer(tasks)
    lines = sorted(f"{name}:{tuple(value.shape)}" for name, value in model.state_dict().items())
    digest, count, parameters = REFERENCE_KEYS[variant]
    assert len(lines) == count and sum(p.numel() for p in model.parameters()) == parameters
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == digest


def test_logits_equal_the_tracing_codes():
    model = _reference_shaped_tracer(["binary", "VQ", "AUX", "DEC"]).eval()
    _fill(model)
    with torch.no_grad():
        logits = model(_features())
    for task, expected in REFERENCE_LOGITS.items():
        assert torch.allclose(logits[task][0], torch.tensor(expected), atol=1e-5), task

