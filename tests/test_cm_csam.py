"""CSAM: exact per-batch domain composition; SAM moves the weights and leaves BN running stats alone on pass 2."""
from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn

from codecfake.cm.csam import SAM, DomainBatchSampler, apportion, frozen_bn_stats


@pytest.mark.parametrize("sizes,batch", [((300, 100), 14), ((1000, 37), 16), ((7, 5), 4), ((50, 50), 10)])
def test_every_batch_has_exactly_the_configured_composition(sizes, batch):
    domains = np.array(["CoRS"] * sizes[0] + ["ASVspoof2019"] * sizes[1])
    np.random.default_rng(0).shuffle(domains)
    sampler = DomainBatchSampler(domains, batch, seed=3)
    total = sum(sizes)
    for name, size in zip(["CoRS", "ASVspoof2019"], sizes):
        assert abs(sampler.composition[name] - batch * size / total) < 1
    assert sum(sampler.composition.values()) == batch
    for epoch in range(2):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == -(-total // batch)
        seen = Counter()
        for indices in batches:
            assert len(indices) == batch
            assert Counter(domains[indices].tolist()) == Counter(sampler.composition)
            seen.update(indices)
        covered = set(seen)
        for name in ("CoRS", "ASVspoof2019"):  # each domain is drawn without replacement until used up
            members = set(np.flatnonzero(domains == name).tolist())
            assert len(members & covered) == min(len(members), sampler.composition[name] * len(batches))


def test_sampler_is_seeded():
    domains = ["a"] * 30 + ["b"] * 10
    first, second = DomainBatchSampler(domains, 8, seed=1), DomainBatchSampler(domains, 8, seed=1)
    assert list(first) == list(second)
    first.set_epoch(1)
    assert list(first) != list(second)


def test_apportion():
    assert apportion([2, 1], 6) == [4, 2]
    assert apportion([1000, 1], 4) == [3, 1]  # every domain keeps a slot
    with pytest.raises(ValueError):
        apportion([1, 1, 1], 2)
    with pytest.raises(ValueError, match="two domains"):
        DomainBatchSampler(["a"] * 5, 2)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, x):
        return self.net(x)


def test_sam_step_moves_params_and_freezes_bn_stats_on_second_pass():
    torch.manual_seed(0)
    model = Tiny().train()
    bn = model.net[1]
    base = torch.optim.Adam(model.parameters(), lr=1e-2)
    sam = SAM(model.parameters(), base, rho=0.05)
    x, y = torch.randn(16, 6), torch.randint(0, 2, (16,))
    weights = [p.detach().clone() for p in model.parameters()]
    stats = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())

    nn.functional.cross_entropy(model(x), y).backward()
    after_first = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
    assert not torch.equal(after_first[0], stats[0]) and after_first[2] == stats[2] + 1  # pass 1 updates BN
    assert sam.ascend()
    perturbed = [p.detach().clone() for p in model.parameters()]
    step = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(perturbed, weights)))
    assert step == pytest.approx(0.05, rel=1e-4)  # the ascent step has norm rho
    base.zero_grad()
    with frozen_bn_stats(model):
        nn.functional.cross_entropy(model(x), y).backward()
    assert torch.equal(bn.running_mean, after_first[0]) and torch.equal(bn.running_var, after_first[1])
    assert bn.num_batches_tracked == after_first[2]
    assert bn.track_running_stats  # restored after the pass
    sam.descend_back()
    assert all(torch.allclose(p, w) for p, w in zip(model.parameters(), weights))  # back at w before the step
    base.step()
    assert any(not torch.equal(p, w) for p, w in zip(model.parameters(), weights))


def test_sam_gradient_differs_from_plain_gradient():
    """The update direction is the gradient at w + e, not at w."""
    torch.manual_seed(1)
    model = Tiny().train()
    x, y = torch.randn(16, 6), torch.randint(0, 2, (16,))
    nn.functional.cross_entropy(model(x), y).backward()
    plain = [p.grad.clone() for p in model.parameters()]
    sam = SAM(model.parameters(), torch.optim.SGD(model.parameters(), lr=0.1), rho=0.5)
    sam.ascend()
    model.zero_grad()
    with frozen_bn_stats(model):
        nn.functional.cross_entropy(model(x), y).backward()
    sam.descend_back()
    assert any(not torch.allclose(p.grad, g) for p, g in zip(model.parameters(), plain))
