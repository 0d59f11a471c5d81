"""artkit.nn.batch_norm: running statistics recomputed for the weights as they are."""

from __future__ import annotations

import torch
from torch import nn

from artkit.nn.batch_norm import recalibrate_batch_norm


def test_recalibration_keeps_the_plain_average_of_fresh_batches():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU()).eval()
    net[1].running_mean.fill_(5.0)  # stale statistics, as after many weight updates
    inputs = torch.randn(1000, 4) * 3 + 1
    batches = iter(inputs.split(100))
    assert recalibrate_batch_norm(net, lambda n: next(batches), inputs=1000, batch_size=100)
    hidden = net[0](inputs).detach()
    assert torch.allclose(net[1].running_mean, hidden.mean(0), atol=1e-5)
    # the average of the ten batches' unbiased variances
    per_batch = torch.stack([b.var(0) for b in hidden.split(100)]).mean(0)
    assert torch.allclose(net[1].running_var, per_batch, rtol=1e-4)
    assert net[1].momentum == 0.1 and not net.training  # restored


def test_recalibration_without_batch_norm_changes_nothing():
    net = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert not recalibrate_batch_norm(net, lambda n: torch.randn(n, 4), inputs=64)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
