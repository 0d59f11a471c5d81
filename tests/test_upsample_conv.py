"""``artkit.nn.upsample_conv``: upsampling + 3x3 conv computed on the small map equals the stock pair.

And ``stock_layers`` turns every artkit layer back, spectral-normed ones included, so
the benchmarks' references really are stock PyTorch; ``artkit.nn.layout.leading_rows``
slices a map with its gradient in the map's layout.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from artkit.nn.small_conv import Conv4x4s2, stock_layers
from artkit.nn.upsample_conv import UpsampleConv3x3, subpixel_kernel


def stock_pair(layer: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    return F.conv2d(up, layer.weight, layer.bias, padding=1)


def gradients(layer: nn.Module, x: torch.Tensor, fn) -> tuple[torch.Tensor, ...]:
    x = x.detach().requires_grad_(True)
    out = fn(layer, x)
    target = torch.linspace(0.5, 1.5, out.numel()).view(out.shape)  # not a constant gradient
    (out.float() * target).sum().backward()
    parametrized = parametrize.is_parametrized(layer, "weight")
    weight = layer.parametrizations.weight.original if parametrized else layer.weight
    grads = (out.detach(), x.grad, weight.grad.clone())
    grads += (layer.bias.grad.clone(),) if layer.bias is not None else ()
    layer.zero_grad(set_to_none=True)
    return grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("c_out", [1, 3, 4])
def test_small_map_path_equals_upsample_then_conv(bias, layout, c_out):
    torch.manual_seed(0)
    layer = UpsampleConv3x3(5, c_out, bias=bias)
    if bias:
        nn.init.normal_(layer.bias)
    x = torch.randn(3, 5, 6, 7).contiguous(memory_format=layout)  # not square, odd side
    ours = gradients(layer, x, lambda m, t: m(t))
    stock = gradients(layer, x, stock_pair)
    assert ours[0].shape == (3, c_out, 12, 14)
    for a, b in zip(ours, stock, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    if layout is torch.channels_last:  # a channels-last network stays channels-last
        assert layer(x).is_contiguous(memory_format=torch.channels_last)


def test_the_kernel_moves_each_tap_to_its_parity():
    weight = torch.arange(9.0).view(1, 1, 3, 3)  # taps 0..8, row-major
    kernel = subpixel_kernel(weight).view(2, 2, 3, 3)
    # an even row and even column read the small map's (-1, 0) rows and columns:
    # tap 0 alone at (-1, -1), taps 1 + 2 at (-1, 0), taps 3 + 6 at (0, -1), 4 5 7 8 at (0, 0)
    assert kernel[0, 0].tolist() == [[0, 3, 0], [9, 24, 0], [0, 0, 0]]
    # an odd row and odd column: taps 0 1 3 4 at (0, 0), 2 + 5 at (0, +1), 6 + 7 at
    # (+1, 0), tap 8 alone at (+1, +1)
    assert kernel[1, 1].tolist() == [[0, 0, 0], [0, 8, 7], [0, 13, 8]]
    assert kernel.sum((-1, -2)).tolist() == [[36.0, 36.0], [36.0, 36.0]]  # every tap once


def test_bf16_autocast_is_close_to_the_stock_pair():
    torch.manual_seed(1)
    layer = UpsampleConv3x3(24, 3)
    x = torch.randn(8, 24, 16, 16).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, stock = layer(x), stock_pair(layer, x)
    assert ours.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), stock.float(), rtol=0.05, atol=0.05)


def test_wider_layers_take_the_stock_pair():
    torch.manual_seed(2)
    layer = UpsampleConv3x3(4, 8)  # more outputs than a picture's: upsample, then conv
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(layer(x), stock_pair(layer, x))


def test_spectral_norm_iterates_once_per_call_as_on_the_stock_layer():
    torch.manual_seed(3)
    ours = spectral_norm(UpsampleConv3x3(6, 3))
    stock = spectral_norm(nn.Conv2d(6, 3, 3, 1, 1))
    stock.load_state_dict(ours.state_dict())
    x = torch.randn(4, 6, 8, 8)
    for _ in range(2):
        a = gradients(ours, x, lambda m, t: m(t))
        with torch.no_grad():
            up = F.interpolate(x, scale_factor=2, mode="nearest")
        b = gradients(stock, up, lambda m, t: m(t))
        torch.testing.assert_close(a[0], b[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(a[2:], b[2:], rtol=1e-4, atol=1e-4)  # sums of 256 pixels
    state = stock.state_dict()
    for key, value in ours.state_dict().items():  # u and v moved the same
        torch.testing.assert_close(value, state[key])


def test_stock_layers_turns_spectral_normed_layers_back_too():
    from artkit.checkpoint import build_model
    from artkit.nn.upsample_conv import StockUpsampleConv3x3

    torch.manual_seed(4)
    D = build_model("fastgan", {"resolution": 32, "width": 0.1875}).D.eval()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before = D(x, reconstruct=4)
    stock_layers(D)
    kinds = {
        type(m).__bases__[0] if "Parametrized" in type(m).__name__ else type(m) for m in D.modules()
    }
    assert not kinds & {Conv4x4s2, UpsampleConv3x3} and StockUpsampleConv3x3 in kinds
    assert nn.Conv2d in kinds  # the body's 4x4 convs, still spectral-normed
    with torch.no_grad():
        after = D(x, reconstruct=4)
    for a, b in zip(before, after, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_leading_rows_gives_the_gradient_in_the_maps_layout():
    from artkit.nn.layout import leading_rows

    torch.manual_seed(5)
    x = torch.randn(6, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    weights = torch.randn(2, 4, 3, 3)
    y = x.clone().requires_grad_(True)
    # autograd.grad, not .grad: a leaf's .grad is re-strided to the leaf's layout anyway
    (ours,) = torch.autograd.grad((leading_rows(y, 2) * weights).sum(), y)
    (stock,) = torch.autograd.grad((y[:2] * weights).sum(), y)
    torch.testing.assert_close(ours, stock)
    # aten's slice backward gives the default layout; this one the map's own
    assert not stock.is_contiguous(memory_format=torch.channels_last)
    assert ours.is_contiguous(memory_format=torch.channels_last)
    # differentiable twice (an R1 penalty differentiates D's input gradient)
    y = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((leading_rows(y, 3) ** 2).sum(), y, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), y)
    torch.testing.assert_close(gg[:3], torch.full_like(gg[:3], 2.0))
    assert gg[3:].abs().sum() == 0
