"""The ``shapegan`` model: its distance functions, its painter, and a short real training run.

The registry-wide checks (``tests/test_conformance.py``) already cover sampling,
determinism, checkpoint round trips and a two-step train; these tests pin what is
shapegan's own: each shape family's signed distance at points whose answer is
known, that a slot paints its shape in its colour where it says, that gradients
reach a shape's geometry through its edge, and that training on ``shapes`` moves
the samples towards the data.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import artkit
from artkit.checkpoint import build_model, load_model
from artkit.errors import UsageError
from artkit.train.recipe import Machine
from artkit_gan.configs import ShapeGANConfig
from artkit_gan.nn_shapegan import (
    FAMILIES,
    ShapePainter,
    arc_distance,
    box_distance,
    pie_distance,
    triangle_distance,
)
from artkit_gan.recipes import can_compile

pytestmark = pytest.mark.usefixtures("one_thread")


def _at(*xy: float) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor([xy[0]]), torch.tensor([xy[1]])


@pytest.mark.parametrize(
    ("point", "radius", "expected"),
    [
        ((0, 0), 0.0, -1.0),  # centre of the square of half-side 1: one unit from every side
        ((2, 0), 0.0, 1.0),
        ((2, 2), 0.0, math.sqrt(2)),  # nearest is the corner
        ((2, 2), 1.0, 2 * math.sqrt(2) - 1),  # radius 1: the unit disc
        ((0.5, 0), 1.0, -0.5),
    ],
)
def test_box_distance(point, radius, expected):
    one = torch.tensor([1.0])
    d = box_distance(*_at(*point), one, one, torch.tensor([radius]))
    assert d.item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(("point", "expected"), [((3, 0), 1.0), ((0, 1), 0.5), ((0, 0), -0.5)])
def test_a_long_box_is_as_far_as_it_looks_from_every_side(point, expected):
    """True distances, not a unit square stretched: the ends of a stroke stay sharp."""
    half_x, half_y, radius = torch.tensor([2.0]), torch.tensor([0.5]), torch.tensor([0.0])
    d = box_distance(*_at(*point), half_x, half_y, radius)
    assert d.item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0, 0), -0.5),  # the inradius of a triangle of circumradius 1
        ((0, -1), 0.0),  # the apex, up (rows grow downwards)
        ((0, 0.5), 0.0),  # the middle of the base
        ((0, 1.5), 1.0),  # below the base
        ((0, -2), 1.0),  # above the apex
    ],
)
def test_triangle_distance(point, expected):
    assert triangle_distance(*_at(*point)).item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("point", "aperture", "thickness", "expected"),
    [
        # an aperture short of pi (a sigmoid never reaches it): an almost full ring
        ((0, 0.9), 0.99 * math.pi, 0.2, -0.1),  # on the ring's centre line
        ((0, 0), 0.99 * math.pi, 0.2, 0.8),  # the hole
        ((1.5, 0), 0.99 * math.pi, 0.2, 0.5),
        ((0, -0.9), math.pi / 2, 0.2, math.hypot(0.9, 0.9) - 0.1),  # a half ring: nearest is an end
    ],
)
def test_arc_distance(point, aperture, thickness, expected):
    d = arc_distance(*_at(*point), torch.tensor([aperture]), torch.tensor([thickness]))
    assert d.item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("point", "aperture", "expected"),
    [
        ((0, 0.5), math.pi / 2, -0.5),  # inside the half-disc that opens downwards
        ((0, -0.5), math.pi / 2, 0.5),  # the other half: half a unit from the cut
        ((0, 0.5), 3 * math.pi / 4, -0.5),  # a wider wedge
        ((2, 0), math.pi, 1.0),
    ],
)
def test_pie_distance(point, aperture, expected):
    d = pie_distance(*_at(*point), torch.tensor([aperture]))
    assert d.item() == pytest.approx(expected, abs=1e-4)


def _painter(**overrides) -> ShapePainter:
    options = dict(resolution=32, channels=3, z_dim=8, shapes=1, hidden=16, edge=0.3)
    return ShapePainter(**{**options, **overrides})


def _one_disc(cx=0.0, radius=0.5, colour=(1.0, -1.0, -1.0), presence=10.0) -> torch.Tensor:
    """One slot's raw numbers: a disc (round box, round 1) of ``radius`` at (cx, 0)."""
    f = len(FAMILIES)
    raw = torch.zeros(1, 1, f + 10 + 3)
    raw[..., 0] = 10.0  # the box family
    raw[..., f] = math.atanh(cx)
    size = math.log((radius - 0.02) / 0.98 / (1 - (radius - 0.02) / 0.98))  # sigmoid^-1
    raw[..., f + 4] = raw[..., f + 5] = size
    raw[..., f + 6] = 20.0  # round 1: a disc
    raw[..., f + 9] = presence
    raw[..., f + 10 :] = torch.tensor([math.atanh(c * 0.999) for c in colour])
    return raw


def test_a_slot_paints_its_shape_in_its_colour_over_the_ground():
    painter = _painter()
    ground = torch.tensor([[-1.0, -1.0, 1.0]])  # blue
    image = painter.paint(_one_disc(), ground)[0]
    red = torch.tensor([1.0, -1.0, -1.0])
    assert torch.allclose(image[:, 16, 16], red, atol=0.01)  # the centre
    assert torch.allclose(image[:, 0, 0], ground[0], atol=0.01)  # a corner
    # a disc of radius 0.5 (8 px) covers pi * 8^2 pixels; edges are anti-aliased
    covered = ((image[0] + 1) / 2).sum().item()
    assert covered == pytest.approx(math.pi * 64, rel=0.03)
    # flat inside and out: only pixels within about a pixel of the circle are in between
    between = (image[0] > -0.95) & (image[0] < 0.95)
    centres = torch.arange(32) + 0.5 - 16
    from_edge = (centres[:, None] ** 2 + centres[None, :] ** 2).sqrt() - 8
    assert between.any() and from_edge[between].abs().max() < 1.25


def test_an_absent_slot_leaves_the_ground():
    ground = torch.tensor([[0.2, 0.4, -0.6]])
    image = _painter().paint(_one_disc(presence=-20.0), ground)[0]
    assert torch.allclose(image, ground[0, :, None, None].expand_as(image), atol=1e-6)


def test_gradients_reach_a_shapes_position_through_its_edge():
    raw = _one_disc(cx=-0.2).requires_grad_(True)
    image = _painter().paint(raw, torch.tensor([[-1.0, -1.0, -1.0]]))
    # more red on the right half: the disc should move right (x grows)
    image[0, 0, :, 16:].sum().backward()
    centre_x = raw.grad[0, 0, len(FAMILIES)]
    assert centre_x > 0


def test_networks_and_config():
    torch.manual_seed(0)
    model = build_model("shapegan", {"resolution": 64, "channels": 4, "shapes": 5, "hidden": 32})
    images = model.G(torch.randn(3, model.z_dim))
    assert images.shape == (3, 4, 64, 64) and images.abs().max() <= 1
    assert images.std() > 0.1  # the init paints varied, visible shapes
    assert model.D(images).shape == (3,)


@pytest.mark.parametrize(
    "bad", [{"shapes": 0}, {"hidden": 4}, {"edge": 0.0}, {"width": -1}, {"resolution": 48}]
)
def test_config_refuses_bad_values_in_one_line(bad):
    (name,) = bad
    with pytest.raises(UsageError, match=name) as info:
        ShapeGANConfig(**bad)
    assert "\n" not in str(info.value)


def test_a_short_run_trains_and_reloads(tmp_path):
    run = tmp_path / "run"
    trained = artkit.train(
        "shapegan:resolution=32,width=0.125,hidden=64,shapes=4",
        "shapes:count=64",
        steps=20,
        batch_size=16,
        log_every=5,
        sample_every=0,
        out=run,
        device="cpu",
        precision="fp32",
        seed=0,
    )
    assert (trained.step, trained.reason) == (20, "done")
    net = load_model(trained.weights).eval()
    assert net.config.shapes == 4 and type(net).default_loss == "hinge"
    z = net.latents_for_seeds(list(range(8)))
    images = net.generate(z)
    assert torch.isfinite(images).all() and images.abs().max() <= 1
    assert (images[0] - images[1]).abs().max() > 0.1
    again = artkit.load(run, device="cpu", precision="fp32")
    assert torch.equal(again.net.generate(z), images)


needs_compiler = pytest.mark.skipif(
    not can_compile(Machine("cpu", 1)),
    reason="torch.compile on a CPU needs a C++ compiler: apt install g++",
)


@needs_compiler
def test_compile_trains_through_the_compiled_painter_only(tmp_path):
    """``--compile``: the painter is compiled (same pictures as eager), the networks are not."""
    trained = artkit.train(
        "shapegan:resolution=32,width=0.125,hidden=16,shapes=2",
        "shapes:count=16",
        steps=3,
        batch_size=8,
        sample_every=0,
        compile=True,
        out=tmp_path / "run",
        device="cpu",
        precision="fp32",
        seed=0,
    )
    assert trained.step == 3
    net = load_model(trained.weights)
    painter = net.G_ema
    torch.manual_seed(0)
    raw, ground = torch.randn(8, 2, painter.slots.out_features // 2), torch.rand(8, 3) * 2 - 1
    eager = painter.paint(raw, ground)
    painter.compile_painting()
    painter.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to eager here
        assert torch.allclose(painter._paint_compiled(raw, ground), eager, atol=1e-5)


def test_without_a_working_compiler_it_paints_eagerly(monkeypatch):
    import torch._inductor.config as inductor

    monkeypatch.setattr(inductor.cpp, "cxx", ("/nonexistent/c++",))
    monkeypatch.setattr(inductor, "fx_graph_cache", False)
    painter = _painter(shapes=2, resolution=64)
    torch.manual_seed(1)
    raw, ground = torch.randn(4, 2, painter.slots.out_features // 2), torch.rand(4, 3) * 2 - 1
    painter.compile_painting()
    painter.train()
    with pytest.warns(UserWarning, match="shapegan: painting without torch.compile"):
        image = painter._paint_compiled(raw, ground)
    assert torch.equal(image, painter.paint(raw, ground))
    assert painter._compiled_paint is None  # and it does not try again


def test_pictures_can_be_drawn_at_any_size_with_crisp_edges():
    torch.manual_seed(0)
    model = build_model("shapegan", {"resolution": 32}).eval()
    z = model.latents_for_seeds([1, 2, 3])
    small = model.generate(z)
    large = model.generate(z, width=128, height=128)
    assert large.shape == (3, 3, 128, 128)
    # the same picture: shrunk back by area it matches the 32 px one
    shrunk = torch.nn.functional.interpolate(large, size=(32, 32), mode="area")
    assert (shrunk - small).abs().mean() < 0.05

    # and no blurrier in pixels: edges stay about a pixel wide, so 4x the side gives
    # 4x the edge pixels among 16x the pixels (an enlarged bitmap: the same share)
    def on_edges(images):
        step = (images[..., 1:, :] - images[..., :-1, :]).abs().amax(dim=1)
        return (step > 0.02).float().mean()

    assert on_edges(large) < 0.4 * on_edges(small)  # 0.29x here; a bilinear enlargement 0.57x
    # another aspect ratio shows more of the composition; the middle is the same
    wide = model.generate(z, width=64, height=32)
    assert wide.shape == (3, 3, 32, 64)
    assert torch.allclose(wide[..., 16:48], small, atol=1e-4)
    # the model's own size through the same path as the training one
    assert torch.allclose(model.generate(z, width=32, height=32), small, atol=1e-5)


@pytest.mark.parametrize("bad", [{"width": 0}, {"height": 5000}, {"width": 12.5}, {"width": True}])
def test_sizes_are_checked_before_painting(bad):
    model = build_model("shapegan", {"resolution": 32, "hidden": 16, "shapes": 2}).eval()
    with pytest.raises(UsageError, match=r"shapegan: (width|height)=") as info:
        model.generate(torch.zeros(1, model.z_dim), **bad)
    assert "\n" not in str(info.value)
