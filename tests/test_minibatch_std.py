"""Minibatch standard deviation (:mod:`artkit.nn.minibatch_std`): contiguous groups, one channel."""

from __future__ import annotations

import pytest
import torch

from artkit.nn.minibatch_std import group_size, minibatch_std


@pytest.mark.parametrize(
    ("batch", "group", "size"), [(1, 4, 1), (2, 4, 2), (6, 4, 3), (7, 4, 1), (128, 4, 4)]
)
def test_group_size_is_the_largest_divisor_of_the_batch_up_to_the_group(batch, group, size):
    assert group_size(batch, group) == size


def test_each_row_gets_its_own_groups_spread():
    torch.manual_seed(0)
    same = torch.ones(1, 5, 4, 4).expand(4, 5, 4, 4)  # rows 0-3: one picture four times
    varied = torch.randn(4, 5, 4, 4) * 3  # rows 4-7: spread about 3
    out = minibatch_std(torch.cat([same, varied]), group=4)
    assert out.shape == (8, 6, 4, 4)
    assert torch.equal(out[:, :5], torch.cat([same, varied]))  # the features pass unchanged
    stat = out[:, 5]
    assert stat[:4].max() < 1e-3  # no spread in the first group
    expected = varied.var(dim=0, unbiased=False).add(1e-8).sqrt().mean()
    assert torch.allclose(stat[4:], expected.expand(4, 4, 4))
    assert (stat == stat[:, :1, :1]).all()  # one constant per row


def test_the_spread_keeps_layout_and_dtype_and_passes_gradients():
    x = torch.randn(8, 6, 4, 4).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = minibatch_std(x, group=4)
    assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=torch.channels_last)
    out[:, -1].sum().backward()  # only the spread channel: its gradient reaches every row
    assert x.grad is not None and x.grad.float().abs().sum() > 0
