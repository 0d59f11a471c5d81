"""``artkit.nn.small_conv``: small-map convs as one matrix product, equal to the stock layers.

Values and every gradient (input, weight, bias) are compared with ``F.conv2d`` /
``F.conv_transpose2d`` on the same weights, on small maps (the matrix path) and
larger ones (the stock path), in both memory formats and under bf16 autocast.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artkit.nn import small_conv
from artkit.nn.small_conv import Conv4x4s2, ConvTranspose4x4s2, SeedConvTranspose, stock_layers

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True, params=["matrix", "weight"])
def path(request, monkeypatch):
    """Small layers here, so the channel thresholds are lifted (one test keeps them):
    every test runs once with the whole layer as matrix products on 4x4 maps (8x8 ones
    stock), once with only the weight gradient so on 4x4 and 8x8 maps."""
    if request.param == "matrix":
        monkeypatch.setattr(small_conv, "MIN_CHANNELS_PRODUCT", 1)
        monkeypatch.setattr(small_conv, "WEIGHT_MATRIX_FROM", {})
    else:
        monkeypatch.setattr(small_conv, "MIN_CHANNELS_PRODUCT", 10**9)
        monkeypatch.setattr(small_conv, "WEIGHT_MATRIX_FROM", {4: 1, 8: 1})
    return request.param


def _grads(layer: nn.Module, x: torch.Tensor, fn, bf16: bool):
    x = x.clone().requires_grad_()
    with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        y = fn(layer, x)
    g = torch.linspace(-1, 1, y.numel()).view(y.shape)
    (y.float() * g).sum().backward()
    return y.float(), x.grad, layer.weight.grad, layer.bias.grad


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("side", [4, 8])  # the small side: 4 takes the matrix path, 8 does not
@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("bf16", [False, True])
def test_equal_to_the_stock_layer_with_gradients(transposed, side, fmt, bf16, path):
    torch.manual_seed(0)
    layer = ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5)
    layer.to(memory_format=fmt)
    nn.init.normal_(layer.bias)
    stock = ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5)
    stock.load_state_dict(layer.state_dict())
    stock_layers(stock)
    assert type(stock) is (nn.ConvTranspose2d if transposed else nn.Conv2d)
    x = torch.randn(3, 6, *(2 * (side if transposed else 2 * side,)))
    x = x.contiguous(memory_format=fmt)
    expected = path if side == 4 or path == "weight" else "stock"
    assert small_conv._path(x, side, layer) == expected

    def call(m, x):
        return m(x)

    ours, theirs = _grads(layer, x, call, bf16), _grads(stock, x, call, bf16)
    out = 2 * side if transposed else side
    assert ours[0].shape == (3, 5, out, out)
    tol = 3e-2 if bf16 else 1e-5
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert torch.allclose(a.float(), b.float(), rtol=tol, atol=tol * b.abs().max().item())
    # the weight's gradient keeps the weight's layout, as the optimisers expect
    assert layer.weight.grad.stride() == layer.weight.stride()


@pytest.mark.parametrize("transposed", [False, True])
def test_a_weight_gradient_gathered_in_parts_is_the_whole(transposed, monkeypatch, path):
    """A batch's im2col rows are gathered a few images at a time; the sum is the same."""
    monkeypatch.setattr(small_conv, "GATHER_NUMBERS", 1)  # one image at a time
    torch.manual_seed(0)
    layer = ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5)
    stock = stock_layers(ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5))
    stock.load_state_dict(layer.state_dict())
    x = torch.randn(5, 6, *((4, 4) if transposed else (8, 8)))

    def call(m, x):
        return m(x)

    ours, theirs = _grads(layer, x, call, False)[2], _grads(stock, x, call, False)[2]
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_state_dicts_are_the_stock_layers():
    conv, ref = Conv4x4s2(3, 4, bias=False), nn.Conv2d(3, 4, 4, 2, 1, bias=False)
    ref.load_state_dict(conv.state_dict())  # the same keys and shapes
    up, ref_up = ConvTranspose4x4s2(4, 3), nn.ConvTranspose2d(4, 3, 4, 2, 1)
    up.load_state_dict(ref_up.state_dict())
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(conv(x), ref(x), atol=1e-6)
    assert torch.allclose(up(conv(x)), ref_up(ref(x)), atol=1e-5)


@pytest.mark.parametrize("transposed", [False, True])
def test_double_backward_matches_the_stock_layer(transposed):
    """R1 and WGAN-GP differentiate a gradient: its weight gradient must be the stock one."""
    torch.manual_seed(0)
    layer = ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5)
    stock = stock_layers(ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5))
    stock.load_state_dict(layer.state_dict())
    x = torch.randn(3, 6, *((4, 4) if transposed else (8, 8)))

    def penalty(m):
        xi = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(m(xi).tanh().sum(), xi, create_graph=True)
        g.pow(2).sum().backward()
        return m.weight.grad

    assert torch.allclose(penalty(layer), penalty(stock), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("path", ["matrix"], indirect=True)
def test_only_wide_layers_take_the_matrix_path(monkeypatch):
    monkeypatch.setattr(small_conv, "MIN_CHANNELS_PRODUCT", 256 * 256)
    calls = []
    monkeypatch.setattr(small_conv._Conv, "apply", lambda *a: calls.append(a) or a[0])
    Conv4x4s2(128, 256)(torch.zeros(1, 128, 8, 8))  # stock: oneDNN is as fast there
    assert calls == []
    Conv4x4s2(256, 256)(torch.zeros(1, 256, 8, 8))
    Conv4x4s2(256, 256)(torch.zeros(1, 256, 16, 16))  # an 8x8 output: stock
    assert len(calls) == 1


@pytest.mark.parametrize("path", ["weight"], indirect=True)
def test_narrower_layers_on_small_maps_take_only_their_weight_gradient(monkeypatch):
    monkeypatch.setattr(small_conv, "MIN_CHANNELS_PRODUCT", 256 * 256)
    monkeypatch.setattr(small_conv, "WEIGHT_MATRIX_FROM", {4: 32 * 64, 8: 64 * 128})

    def path(layer, side_in):
        x = torch.zeros(1, layer.in_channels, side_in, side_in)
        small = side_in if isinstance(layer, nn.ConvTranspose2d) else side_in // 2
        return small_conv._path(x, small, layer)

    assert path(Conv4x4s2(64, 128), 8) == "weight"  # a 32 px quarter-width DCGAN's D
    assert path(ConvTranspose4x4s2(128, 64), 4) == "weight"  # ... and its G
    assert path(Conv4x4s2(256, 512), 8) == "matrix"
    assert path(Conv4x4s2(16, 64), 8) == "stock"  # too narrow
    assert path(Conv4x4s2(64, 128), 16) == "weight"  # an 8x8 output
    assert path(Conv4x4s2(32, 64), 16) == "stock"  # measured slower there
    assert path(Conv4x4s2(128, 256), 32) == "stock"  # 16x16: the gather outgrows the caches
    with torch.no_grad():  # sampling: no weight gradient to make faster
        assert path(Conv4x4s2(64, 128), 8) == "stock"
    frozen = Conv4x4s2(64, 128).requires_grad_(False)  # D in the generator's step
    assert path(frozen, 8) == "stock"


@pytest.mark.parametrize("transposed", [False, True])
def test_a_spectral_normed_layer_iterates_once_per_call_as_the_stock_one(transposed, path):
    """Choosing the path must not read the weight: each read of a spectral-normed one is a
    power iteration, which would advance its singular vectors twice a call."""
    from torch.nn.utils.parametrizations import spectral_norm

    torch.manual_seed(0)
    layer = spectral_norm(ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5))
    stock = ConvTranspose4x4s2(6, 5) if transposed else Conv4x4s2(6, 5)
    stock = spectral_norm(stock_layers(stock))
    stock.load_state_dict(layer.state_dict())
    x = torch.randn(3, 6, *((4, 4) if transposed else (8, 8)))
    assert small_conv._path(x, 4, layer) == path
    for _ in range(2):
        (layer(x).square().sum() + stock(x).square().sum()).backward()
    for name in ("_u", "_v"):
        ours = getattr(layer.parametrizations.weight[0], name)
        theirs = getattr(stock.parametrizations.weight[0], name)
        assert torch.allclose(ours, theirs, atol=1e-6), name
    assert torch.allclose(
        layer.parametrizations.weight.original.grad,
        stock.parametrizations.weight.original.grad,
        rtol=1e-4,
        atol=1e-6,
    )


@pytest.mark.parametrize("kernel", [4, (4, 8)])  # a square seed map, and a 32x64 model's
@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("bf16", [False, True])
def test_a_seed_map_from_a_1x1_latent_is_the_stock_transposed_conv(kernel, fmt, bf16):
    torch.manual_seed(0)
    layer = SeedConvTranspose(7, 5, kernel).to(memory_format=fmt)
    nn.init.normal_(layer.bias)
    stock = stock_layers(SeedConvTranspose(7, 5, kernel))
    assert type(stock) is nn.ConvTranspose2d
    stock.load_state_dict(layer.state_dict())  # the same keys and shapes
    z = torch.randn(3, 7, 1, 1)

    def call(m, x):
        return m(x)

    ours, theirs = _grads(layer, z, call, bf16), _grads(stock, z, call, bf16)
    assert ours[0].shape == (3, 5, *((4, 4) if kernel == 4 else kernel))
    tol = 3e-2 if bf16 else 1e-5
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert torch.allclose(a.float(), b.float(), rtol=tol, atol=tol * b.abs().max().item())
    assert layer.weight.grad.stride() == layer.weight.stride()
    # a channels-last network gets a channels-last map, so its BatchNorm stays on one layout
    with torch.no_grad():
        assert layer(z).is_contiguous(memory_format=fmt)


def test_a_seed_layer_on_a_larger_map_is_the_stock_layer():
    torch.manual_seed(0)
    layer = SeedConvTranspose(4, 3, 3, stride=2)
    stock = stock_layers(SeedConvTranspose(4, 3, 3, stride=2))
    stock.load_state_dict(layer.state_dict())
    for x in (torch.randn(2, 4, 1, 1), torch.randn(2, 4, 5, 5)):
        assert torch.allclose(layer(x), stock(x), atol=1e-6)
