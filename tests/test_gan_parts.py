"""GAN building blocks: configs, networks, losses, penalties and DiffAugment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from artkit.errors import UsageError
from artkit.nn.diffaugment import diff_augment, parse_policy
from artkit.nn.gan_losses import LOSSES, make_loss
from artkit.nn.penalties import gradient_penalty, r1_penalty
from artkit.registry import params_from
from artkit_gan.configs import LOSS_NAMES, DCGANConfig, MLPGANConfig
from artkit_gan.nn_networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)


def make_pair(kind: str, resolution: int, channels: int, **kw):
    """A small G/D pair (tests stay fast; the architecture is the same at full width)."""
    if kind == "mlp":
        cfg = MLPGANConfig(resolution=resolution, channels=channels, z_dim=16, hidden=64, **kw)
        return cfg, MLPGenerator(cfg), MLPDiscriminator(cfg)
    cfg = DCGANConfig(resolution=resolution, channels=channels, z_dim=16, width=0.125, **kw)
    return cfg, DCGANGenerator(cfg), DCGANDiscriminator(cfg)


CASES = [(kind, res, ch) for kind in ("mlp", "dcgan") for res in (32, 64) for ch in (1, 3, 4)] + [
    ("dcgan", 128, 3)
]


# -- networks -------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "res", "ch"), CASES)
def test_shapes_range_and_gradients(kind, res, ch):
    torch.manual_seed(0)
    cfg, G, D = make_pair(kind, res, ch)
    z = torch.randn(3, cfg.z_dim)
    x = G(z)
    assert x.shape == (3, ch, res, res)
    assert x.abs().max() <= 1.0
    logits = D(x)
    assert logits.shape == (3,)
    logits.sum().backward()
    for name, p in [*G.named_parameters(), *D.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("kind", "res", "ch"), [c for c in CASES if c[1] == 32])
def test_channels_last_matches_contiguous(kind, res, ch):
    torch.manual_seed(0)
    cfg, G, D = make_pair(kind, res, ch)
    G.eval(), D.eval()  # no batch statistics or power iteration: outputs are comparable
    z = torch.randn(2, cfg.z_dim)
    x = G(z)
    ref = D(x)
    G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    x_cl = G(z)
    torch.testing.assert_close(x_cl, x, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        D(x.contiguous(memory_format=torch.channels_last)), ref, atol=1e-5, rtol=1e-4
    )


@pytest.mark.parametrize(("kind", "ch"), [("mlp", 1), ("dcgan", 3), ("dcgan", 4)])
def test_bf16_autocast_on_cpu(kind, ch):
    torch.manual_seed(0)
    cfg, G, D = make_pair(kind, 32, ch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = G(torch.randn(2, cfg.z_dim))
        logits = D(diff_augment(x))
        loss = make_loss("bce").g_loss(logits)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in G.parameters())


@pytest.mark.parametrize("d_norm", ["batch", "spectral", "none"])
def test_discriminator_norms(d_norm):
    torch.manual_seed(0)
    _, _, D = make_pair("dcgan", 32, 3, d_norm=d_norm)
    names = [n for n, _ in D.named_modules()]
    assert any("parametrizations" in n for n in names) == (d_norm == "spectral")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == (d_norm == "batch")
    first = D.net[0]
    assert not isinstance(D.net[1], torch.nn.BatchNorm2d)  # never right after the first conv
    assert first.in_channels == 3
    out = D(torch.rand(4, 3, 32, 32) * 2 - 1)
    assert out.shape == (4,)


def test_dcgan_init_and_width():
    cfg = DCGANConfig(resolution=32, width=0.5, d_norm="none")
    G = DCGANGenerator(cfg)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in convs] == [128, 64, 32]  # 256/128/64 halved
    assert abs(convs[0].weight.std().item() - 0.02) < 0.002
    bn = next(m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert abs(bn.weight.mean().item() - 1.0) < 0.01


def test_torch_compile_smoke():
    torch.manual_seed(0)
    _, _, D = make_pair("dcgan", 32, 4)  # spectral norm: in-place power iteration under compile
    g = torch.Generator().manual_seed(1)
    compiled = torch.compile(lambda x: D(diff_augment(x, generator=g)), backend="aot_eager")
    loss = make_loss("hinge").d_loss(compiled(torch.rand(2, 4, 32, 32)), torch.zeros(2))
    loss.backward()
    assert torch.isfinite(loss)


# -- losses ---------------------------------------------------------------------


def test_loss_names_match_configs():
    assert tuple(LOSSES) == LOSS_NAMES
    with pytest.raises(UsageError, match="hinge"):
        make_loss("hing")


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_signs_and_scalars(name):
    loss = make_loss(name)
    hi, lo = torch.full((8,), 3.0), torch.full((8,), -3.0)
    good, bad = loss.d_loss(hi, lo), loss.d_loss(lo, hi)
    assert good.ndim == 0 and torch.isfinite(good) and good < bad
    g = [loss.g_loss(torch.full((8,), v)).item() for v in (-2.0, -1.0, 0.0, 0.5)]
    assert g == sorted(g, reverse=True) and len(set(g)) == 4
    assert loss.needs_gradient_penalty == (name == "wgan-gp")


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_are_float32_and_stable(name):
    loss = make_loss(name)
    real = torch.tensor([1000.0, -1000.0, 0.5]).bfloat16()
    fake = torch.tensor([-1000.0, 1000.0, -0.5]).bfloat16()
    for value in (loss.d_loss(real, fake), loss.g_loss(fake, real)):
        assert value.dtype == torch.float32 and value.ndim == 0 and torch.isfinite(value)


def _linear_critic(w: torch.Tensor):
    return lambda x: x.flatten(1) @ w


@pytest.mark.parametrize(("norm", "expected"), [(1.0, 0.0), (2.0, 10.0)])
def test_gradient_penalty_for_linear_critic(norm, expected):
    w = torch.randn(3 * 8 * 8, dtype=torch.float64)
    w = w / w.norm() * norm
    real, fake = (
        torch.randn(4, 3, 8, 8, dtype=torch.float64),
        torch.randn(4, 3, 8, 8, dtype=torch.float64),
    )
    gp = gradient_penalty(_linear_critic(w), real, fake, weight=10.0)
    assert gp.item() == pytest.approx(expected, abs=1e-5)


def test_gradient_penalty_trains_the_critic():
    torch.manual_seed(0)
    cfg, G, D = make_pair("dcgan", 32, 3)
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    gp = gradient_penalty(D, real, G(torch.randn(2, cfg.z_dim)))
    gp.backward()
    weights = [
        p for n, p in D.named_parameters() if "bias" not in n
    ]  # biases have no say in grad D
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_r1_penalty_for_linear_critic():
    w = torch.randn(3 * 8 * 8, dtype=torch.float64)
    x = torch.randn(5, 3, 8, 8, dtype=torch.float64).requires_grad_(True)
    r1 = r1_penalty(_linear_critic(w)(x), x, gamma=4.0)
    assert r1.item() == pytest.approx(4.0 / 2 * w.pow(2).sum().item())
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(_linear_critic(w)(x.detach()), x.detach(), gamma=1.0)


# -- DiffAugment ----------------------------------------------------------------


@pytest.mark.parametrize("ch", [1, 3, 4])
def test_diff_augment_is_seeded_and_shape_preserving(ch):
    x = torch.rand(4, ch, 16, 16) * 2 - 1

    def run(seed):
        return diff_augment(x, generator=torch.Generator().manual_seed(seed))

    a, b, c = run(0), run(0), run(1)
    assert a.shape == x.shape
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_diff_augment_leaves_alpha_colour_alone():
    x = torch.rand(4, 4, 16, 16) * 2 - 1
    out = diff_augment(x, "color", generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 3], x[:, 3])
    assert not torch.equal(out[:, :3], x[:, :3])


def test_diff_augment_gradients_flow():
    x = (torch.rand(3, 3, 16, 16) * 2 - 1).requires_grad_(True)
    diff_augment(x, generator=torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_pixels_and_pads_with_zero():
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    out = diff_augment(x, "translation", generator=torch.Generator().manual_seed(0))
    assert out.min() >= x.min() and out.max() <= x.max()
    assert not torch.equal(out, x)
    # Every output pixel is either a zero from the border or an input pixel.
    values = set(x.flatten().tolist()) | {0.0}
    assert set(out.flatten().tolist()) <= values


def test_cutout_zeros_a_half_size_square():
    x = torch.ones(8, 1, 16, 16)
    out = diff_augment(x, "cutout", generator=torch.Generator().manual_seed(0))
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert (zeros > 0).all() and (zeros <= 64).all()  # at most 8x8, less when clipped by an edge


def test_parse_policy():
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    assert parse_policy("") == () and parse_policy("none") == ()
    assert diff_augment(torch.zeros(1, 3, 8, 8), "") is not None
    with pytest.raises(UsageError, match="known: color, translation, cutout"):
        parse_policy("color,flip")


# -- configs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (DCGANConfig, {"resolution": 48}),
        (DCGANConfig, {"channels": 2}),
        (DCGANConfig, {"width": 0}),
        (DCGANConfig, {"d_norm": "layer"}),
        (DCGANConfig, {"z_dim": 0}),
        (MLPGANConfig, {"channels": 2}),
        (MLPGANConfig, {"resolution": 1000}),
        (MLPGANConfig, {"hidden": 1}),
        (MLPGANConfig, {"hidden": 8193}),
        (DCGANConfig, {"grey": "yes"}),
    ],
)
def test_config_validation(cls, bad):
    (field,) = bad
    with pytest.raises(UsageError, match=field) as info:
        cls(**bad)
    assert "\n" not in str(info.value)


def test_configs_become_typed_params():
    params = {p.name: p for p in params_from(DCGANConfig)}
    assert params["d_norm"].choices == ("batch", "spectral", "none")
    assert params["width"].type is float and params["resolution"].default == 64
    assert all(p.help for p in params.values())
    assert [p.default for p in params_from(MLPGANConfig)] == [32, 1, 100, 1024]


def test_configs_import_without_torch():
    code = "import sys, artkit_gan.configs; assert 'torch' not in sys.modules, 'torch imported'"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
