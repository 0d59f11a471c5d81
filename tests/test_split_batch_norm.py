"""``artkit.nn.split_batch_norm``: one discriminator call on real + fake, normalised apart.

Inside ``separate_parts`` a :class:`SplitBatchNorm2d` must do exactly what two calls of
the stock layer do: the same outputs, gradients, running statistics and batch count,
and the same R1 penalty gradients through a whole DCGAN discriminator.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artkit.nn.adversarial import d_logits
from artkit.nn.split_batch_norm import SplitBatchNorm2d, separate_parts, splits_batches

pytestmark = pytest.mark.usefixtures("one_thread")


def _pair(channels: int = 5) -> tuple[SplitBatchNorm2d, nn.BatchNorm2d]:
    torch.manual_seed(0)
    ours = SplitBatchNorm2d(channels)
    nn.init.normal_(ours.weight)
    nn.init.normal_(ours.bias)
    stock = nn.BatchNorm2d(channels)
    stock.load_state_dict(ours.state_dict())  # the same keys: checkpoints load either way
    return ours, stock


@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("sizes", [(4, 4), (3, 5)])
def test_parts_are_normalised_as_two_stock_calls(fmt, sizes):
    ours, stock = _pair()
    x = (torch.randn(sum(sizes), 5, 6, 6) * 3 + 1).contiguous(memory_format=fmt)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(x.shape)
    with separate_parts(ours, sizes):
        y = ours(a)
    y_ref = torch.cat([stock(part) for part in b.split(sizes)])
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    assert torch.allclose(y, y_ref, atol=1e-6)
    assert torch.allclose(a.grad, b.grad, atol=1e-6)
    for name in ("weight", "bias"):
        assert torch.allclose(getattr(ours, name).grad, getattr(stock, name).grad, atol=1e-5)
    for name in ("running_mean", "running_var"):
        assert torch.allclose(getattr(ours, name), getattr(stock, name), atol=1e-6)
    assert ours.num_batches_tracked.item() == stock.num_batches_tracked.item() == 2
    # and the parts differ from one batch's statistics: the test could fail
    whole = nn.BatchNorm2d(5)
    whole.load_state_dict(_pair()[1].state_dict())
    assert not torch.allclose(y, whole(x), atol=1e-3)


def test_outside_the_context_and_in_eval_it_is_the_stock_layer():
    ours, stock = _pair()
    x = torch.randn(6, 5, 4, 4) * 2
    assert torch.allclose(ours(x), stock(x), atol=1e-6)  # one batch, one set of statistics
    ours.eval(), stock.eval()
    with separate_parts(ours, (3, 3)):
        assert torch.allclose(ours(x), stock(x), atol=1e-6)


def test_the_context_is_undone_and_checks_the_sizes():
    ours, _ = _pair()
    with pytest.raises(ValueError, match="not in parts"), separate_parts(ours, (2, 2)):
        ours(torch.randn(5, 5, 2, 2))
    assert ours.parts is None


def _discriminator() -> nn.Module:
    from artkit_gan.configs import DCGANConfig
    from artkit_gan.nn_networks import DCGANDiscriminator

    return DCGANDiscriminator(DCGANConfig(resolution=32, channels=3, d_norm="batch", width=0.0625))


def test_a_dcgan_discriminator_judges_real_and_fake_in_one_call_as_in_two():
    torch.manual_seed(0)
    one, two = _discriminator(), _discriminator()
    two.load_state_dict(one.state_dict())
    assert splits_batches(one)
    real, fake = torch.rand(6, 3, 32, 32) * 2 - 1, torch.randn(6, 3, 32, 32).tanh()
    calls = []
    hook = one.net[0].register_forward_hook(lambda m, i, o: calls.append(len(i[0])))

    def r1_and_loss(D, separate_in_two: bool):
        x = real.clone().requires_grad_()
        if separate_in_two:
            r, f = D(x), D(fake)
        else:  # as d_logits does it, R1 or not (with R1 it makes two calls)
            with separate_parts(D, (6, 6)):
                logits = D(torch.cat([x, fake]))
            r, f = logits[:6], logits[6:]
        (grad,) = torch.autograd.grad(r.sum(), x, create_graph=True)
        loss = nn.functional.softplus(-r).mean() + nn.functional.softplus(f).mean()
        (loss + grad.pow(2).sum()).backward()  # an R1 penalty: double backward through D
        return r, f

    r1, f1 = r1_and_loss(one, separate_in_two=False)
    r2, f2 = r1_and_loss(two, separate_in_two=True)
    hook.remove()
    assert calls == [12]  # one call on both batches
    assert torch.allclose(r1, r2, atol=1e-5) and torch.allclose(f1, f2, atol=1e-5)
    for (name, p1), p2 in zip(one.named_parameters(), two.parameters(), strict=True):
        scale = p2.grad.abs().max().item()  # float32 sums in another order: relative to the largest
        assert torch.allclose(p1.grad, p2.grad, rtol=1e-4, atol=1e-5 * scale), name
    for b1, b2 in zip(one.buffers(), two.buffers(), strict=True):
        assert torch.allclose(b1.float(), b2.float(), atol=1e-6)


def test_d_logits_makes_one_call_unless_r1_differentiates_the_real_images():
    D = _discriminator()
    calls = []
    D.net[0].register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    real, fake = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    d_logits(D, real, fake, separate=True)
    assert calls == [8]
    calls.clear()
    d_logits(D, real.requires_grad_(), fake, separate=True)
    assert calls == [4, 4]


def test_a_discriminator_with_stock_batch_norm_is_still_called_twice():
    D = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(1))
    calls = []
    D[0].register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    assert not splits_batches(D)
    d_logits(D, torch.randn(2, 3, 5, 5), torch.randn(3, 3, 5, 5), separate=True)
    assert calls == [2, 3]
