"""CSAM: batches and steps per epoch as the reference sampler makes them; SAM moves the weights and leaves BN
running stats alone on pass 2."""
import numpy as np
import pytest
import torch
from torch import nn

from codecfake.cm.csam import SAM, DomainBatchSampler, frozen_bn_stats


def codecfake_domains(sizes):
    """A co-training table: the codec domain first, then ASVspoof 2019 (the reference's ConcatDataset order)."""
    return np.array(["CoRS"] * sizes[0] + ["ASVspoof2019"] * sizes[1])


# From the reference CSAMSampler (xieyuankun/Codecfake @ 72c32e2, run outside the repo on a ConcatDataset of these
# sizes): steps per epoch = len(DataLoader), batches in one pass of its iterator, size of the pass's last batch,
# and the number of second-domain samples in each of the first 12 batches and over all full batches.
REFERENCE = [((300, 100), 14, 44, 21, 6, [3] * 10 + [4, 4], {3, 4}),
             ((740747, 25380), 128, 11576, 5743, 100, [4] * 12, {4, 5})]


@pytest.mark.parametrize("sizes,batch,steps,per_pass,last,first12,counts", REFERENCE)
def test_batches_are_composed_as_the_reference_composes_them(sizes, batch, steps, per_pass, last, first12, counts):
    domains = codecfake_domains(sizes)
    sampler = DomainBatchSampler(domains, batch, seed=3)
    assert len(sampler) == steps and sampler.batches_per_pass == per_pass
    batches = sampler._pass(0)
    assert len(batches) == per_pass and len(batches[-1]) == last
    second = [int(np.sum(domains[b] == "ASVspoof2019")) for b in batches]
    assert second[:12] == first12 and set(second[:-1]) == counts


def test_an_epoch_runs_the_reference_steps_over_a_stream_of_passes():
    domains = codecfake_domains((300, 100))
    sampler = DomainBatchSampler(domains, 14, seed=5)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        epochs.append(list(sampler))
    assert [len(e) for e in epochs] == [44, 44, 44]
    stream = [b for number in range(7) for b in sampler._pass(number)]
    assert [b for e in epochs for b in e] == stream[:132]  # epochs continue the stream (a resumed run too)
    for batches in (stream[:21], stream[21:42]):  # one pass: each domain drawn without replacement until used up
        flat = [i for b in batches for i in b]
        codec = [i for i in flat if domains[i] == "CoRS"]
        assert len(codec) == len(set(codec)) == 22 * 10 and len(flat) == 22 * 13


def test_a_domain_whose_share_floors_to_zero_is_an_error():
    """The reference would never draw it (1000 + 37 in batches of 16: int(16 * 37 / 1037) = 0)."""
    with pytest.raises(ValueError, match="no sample per round"):
        DomainBatchSampler(codecfake_domains((1000, 37)), 16)
    with pytest.raises(ValueError, match="two domains"):
        DomainBatchSampler(["a"] * 5, 2)


def test_sampler_is_seeded():
    domains = ["a"] * 30 + ["b"] * 10
    first, second = DomainBatchSampler(domains, 8, seed=1), DomainBatchSampler(domains, 8, seed=1)
    assert list(first) == list(second)
    first.set_epoch(1)
    assert list(first) != list(second)
    assert list(DomainBatchSampler(domains, 8, seed=2)) != list(second)


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
