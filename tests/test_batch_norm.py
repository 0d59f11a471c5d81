"""artkit.nn.batch_norm: running statistics recomputed for the weights as they are, and a
BatchNorm that equals the stock one where it takes its own path (channels-last, few channels)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artkit.nn import batch_norm
from artkit.nn.batch_norm import BatchNorm2d, recalibrate_batch_norm


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


@pytest.mark.parametrize("channels", [6, 12, 24])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_the_wide_path_equals_the_stock_layer(monkeypatch, channels, dtype, momentum):
    """Values, input / weight / bias gradients and running statistics, over two steps;
    small blocks, so the block loop runs several times."""
    monkeypatch.setattr(batch_norm, "BLOCK_NUMBERS", 1000)
    torch.manual_seed(0)
    ours = BatchNorm2d(channels, momentum=momentum)
    nn.init.normal_(ours.weight)
    nn.init.normal_(ours.bias)
    stock = nn.BatchNorm2d(channels, momentum=momentum)
    stock.load_state_dict(ours.state_dict())
    calls = []
    real = batch_norm._WideBatchNorm.apply
    monkeypatch.setattr(batch_norm._WideBatchNorm, "apply", lambda *a: calls.append(1) or real(*a))
    tol = 3e-2 if dtype == torch.bfloat16 else 1e-4
    for step in range(2):
        x = torch.randn(4, channels, 8, 6) * 3 + step  # a mean far from 0 as well
        x = x.to(dtype).contiguous(memory_format=torch.channels_last)
        grad = torch.randn(x.shape).to(dtype).contiguous(memory_format=torch.channels_last)
        outs = []
        for layer in (ours, stock):
            xi = x.clone().requires_grad_()
            y = layer(xi)
            y.backward(grad)
            outs.append((y.float(), xi.grad.float(), layer.weight.grad, layer.bias.grad))
            layer.weight.grad = layer.bias.grad = None
        for a, b in zip(*outs, strict=True):
            assert torch.allclose(a, b, rtol=tol, atol=tol * b.abs().max().item())
        assert outs[0][0].is_contiguous() is False  # channels-last in, channels-last out
    assert len(calls) == 2
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert torch.allclose(getattr(ours, name).float(), getattr(stock, name).float(), rtol=1e-4)


def test_the_stock_path_everywhere_else(monkeypatch):
    calls = []
    monkeypatch.setattr(batch_norm._WideBatchNorm, "apply", lambda *a: calls.append(a))
    layer = BatchNorm2d(12)
    cl = torch.randn(2, 12, 4, 4).contiguous(memory_format=torch.channels_last)
    layer(cl.contiguous())  # NCHW
    BatchNorm2d(16)(torch.randn(2, 16, 4, 4).contiguous(memory_format=torch.channels_last))
    layer.eval()(cl)  # running statistics: the stock layer
    assert calls == []
    assert set(layer.state_dict()) == set(nn.BatchNorm2d(12).state_dict())
