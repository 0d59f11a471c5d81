"""Gatys optimisation: losses fall, stages, tiles, colour preservation helpers.

Stated fractions (64 px images, content init, one CPU thread):

- random-multiscale + L-BFGS: style loss below 10 % of its start within 30 steps;
- VGG19 with *random* weights + L-BFGS: below 50 % within 20 steps;
- random-multiscale + Adam: below 50 % within 30 steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.errors import UsageError
from artkit.torch_images import pil_to_tensor, to_pil
from artkit_style import colour
from artkit_style.nn_extractors import RandomMultiscaleExtractor, VGGExtractor, vgg_architecture
from artkit_style.nn_style_losses import gram, style_loss
from artkit_style.torch_gatys import GatysOptions, _gram_targets, gatys, stage_sizes, tile_boxes

pytestmark = pytest.mark.usefixtures("one_thread")


def picture(size=64, seed=0) -> torch.Tensor:
    """A smooth, photo-like test image: blobs of colour with soft edges."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, 6, 6, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic").clamp(-1, 1)


def texture(size=64, seed=1) -> torch.Tensor:
    """A busy, high-frequency texture in two colours: stripes plus noise."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    stripes = torch.sin((x + 0.5 * y).float() * 0.9)
    noise = torch.rand(size, size, generator=g) * 0.6
    mix = ((stripes + noise) > 0.3).float()
    a = torch.tensor([0.9, 0.2, -0.6]).view(3, 1, 1)
    b = torch.tensor([-0.7, -0.5, 0.8]).view(3, 1, 1)
    return (a * mix + b * (1 - mix)).unsqueeze(0)


def style_progress(extractor, opts, content, style):
    """Run gatys; return (first style loss, last style loss)."""
    seen = []
    gatys(content, [style], None, extractor, opts, lambda s, d, t, losses: seen.append(losses))
    return seen[0]["style"], seen[-1]["style"]


def test_style_loss_falls_with_random_multiscale_lbfgs():
    e = RandomMultiscaleExtractor()
    opts = GatysOptions(size=64, steps=30, multiscale=False)
    first, last = style_progress(e, opts, picture(), texture())
    assert last < 0.10 * first, (first, last)


def test_style_loss_falls_with_random_vgg_weights():
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in vgg_architecture("vgg19").state_dict().items()}
    e = VGGExtractor("vgg19", state, pretrained=False)
    opts = GatysOptions(size=64, steps=20, multiscale=False)
    first, last = style_progress(e, opts, picture(), texture())
    assert last < 0.5 * first, (first, last)


def test_style_loss_falls_with_adam():
    e = RandomMultiscaleExtractor()
    opts = GatysOptions(size=64, steps=30, multiscale=False, optimizer="adam", lr=0.05)
    first, last = style_progress(e, opts, picture(), texture())
    assert last < 0.5 * first, (first, last)


def test_result_shape_range_and_determinism():
    e = RandomMultiscaleExtractor()
    content = torch.nn.functional.interpolate(picture(64), size=(40, 64), mode="bilinear")
    opts = GatysOptions(size=48, steps=3, init="noise", seed=5, min_size=24)
    a = gatys(content, [texture()], None, e, opts)
    b = gatys(content[0], [texture()[0]], None, e, opts)
    assert a.shape == (1, 3, 30, 48)  # longer side = size, aspect kept
    assert torch.isfinite(a).all() and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b)


def test_stage_sizes_and_progress_labels():
    assert stage_sizes(512) == [256, 512]
    assert stage_sizes(2048) == [256, 512, 1024, 2048]
    assert stage_sizes(200) == [200]
    assert stage_sizes(512, multiscale=False) == [512]
    stages = []
    e = RandomMultiscaleExtractor()
    opts = GatysOptions(size=64, steps=2, min_size=32)
    gatys(picture(), [texture()], None, e, opts, lambda s, d, t, losses: stages.append((s, d, t)))
    assert stages == [("32px", 1, 2), ("32px", 2, 2), ("64px", 1, 2), ("64px", 2, 2)]


def test_tile_boxes_cover_with_overlap():
    boxes = tile_boxes(300, 200, 128, 32)
    covered = np.zeros((300, 200), int)
    for top, left, bottom, right in boxes:
        assert bottom - top <= 128 and right - left <= 128
        covered[top:bottom, left:right] += 1
    assert covered.min() >= 1
    tops = sorted({b[0] for b in boxes})
    bottoms = sorted({b[2] for b in boxes})
    assert all(b - t >= 32 for t, b in zip(tops[1:], bottoms[:-1], strict=True))  # overlap
    assert len(tops) == 3 and len({b[3] - b[1] for b in boxes}) == 1  # even sizes
    assert tile_boxes(100, 100, 128, 32) == [(0, 0, 100, 100)]
    assert len(tile_boxes(2048, 2048, 512, 64)) == 25


def test_tiled_stage_optimises_every_tile_against_global_grams():
    e = RandomMultiscaleExtractor()
    content = picture(128)
    style = texture(96)
    labels = []
    opts = GatysOptions(size=128, steps=6, multiscale=False, tile=64, overlap=16, tile_above=64)
    out = gatys(content, [style], None, e, opts, lambda s, d, t, losses: labels.append((s, t)))
    assert out.shape == (1, 3, 128, 128) and torch.isfinite(out).all()
    assert {s for s, _ in labels} == {f"128px tile {i}/9" for i in range(1, 10)}
    assert {t for _, t in labels} == {54}
    # the whole picture moved towards the style, not just some tiles
    grams = _gram_targets(
        e, [style], [1.0], e.style_layers, 128, tile=512, tile_above=1024, device="cpu"
    )
    before = style_loss(e(content, e.style_layers), grams, e.style_layers)
    after = style_loss(e(out, e.style_layers), grams, e.style_layers)
    assert after < 0.7 * before, (float(after), float(before))


def test_tiled_gram_targets_match_whole_image_grams():
    e = RandomMultiscaleExtractor()
    style = texture(128)
    whole = _gram_targets(
        e, [style], [1.0], ["s0", "s1"], 128, tile=512, tile_above=1024, device="cpu"
    )
    tiled = _gram_targets(
        e, [style], [1.0], ["s0", "s1"], 128, tile=64, tile_above=64, device="cpu"
    )
    for name in whole:
        rel = (whole[name] - tiled[name]).norm() / whole[name].norm()
        assert rel < 0.1, (name, float(rel))  # only tile borders differ
    assert torch.allclose(whole["s0"], gram(e(style, ["s0"])["s0"]), rtol=1e-4, atol=1e-7)


def test_bad_options_are_usage_errors():
    e = RandomMultiscaleExtractor()
    for bad in (
        GatysOptions(steps=0),
        GatysOptions(init="zeros"),
        GatysOptions(optimizer="sgd"),
        GatysOptions(style_weight=-1),
    ):
        with pytest.raises(UsageError):
            gatys(picture(), [texture()], None, e, bad)
    with pytest.raises(UsageError, match="style-weights"):
        gatys(picture(), [texture(), texture()], [1.0], e, GatysOptions(steps=1, size=32))
    with pytest.raises(UsageError, match="no layer"):
        gatys(picture(), [texture()], None, e, GatysOptions(steps=1, size=32, content_layers=["x"]))


# -- colour ---------------------------------------------------------------------------------
def pil(t: torch.Tensor) -> Image.Image:
    return to_pil(t)[0]


def test_ycbcr_round_trip_and_luminance_recombination():
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype(float)
    assert np.allclose(colour.ycbcr_to_rgb(colour.rgb_to_ycbcr(rgb)), rgb, atol=1e-3)
    content, stylised = pil(picture(32)), pil(picture(32, seed=7))
    combined = colour.combine_luminance(stylised, content)
    # not exactly 0: 8-bit rounding, and clipping where a new luminance puts a saturated
    # colour outside the RGB cube
    assert colour.chroma_difference(combined, content) < 2.5
    assert colour.chroma_difference(stylised, content) > 10
    y = colour.rgb_to_ycbcr(np.asarray(combined, float))[..., 0]
    y_styl = colour.rgb_to_ycbcr(np.asarray(stylised, float))[..., 0]
    assert np.abs(y - y_styl).mean() < 3  # luminance from the stylised image (up to gamut clipping)


def test_luminance_mode_prepares_grey_images_and_restores_chroma():
    content, style = pil(picture(32)), pil(texture(32))
    c2, (s2,) = colour.prepare_colour("luminance", content, [style])
    for im in (c2, s2):
        arr = np.asarray(im, int)
        assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    # the style's luminance is matched to the content's mean
    y_c = colour.rgb_to_ycbcr(np.asarray(content, float))[..., 0]
    assert abs(np.asarray(s2, float)[..., 0].mean() - y_c.mean()) < 2
    final = colour.finish_colour("luminance", c2, content)
    assert colour.chroma_difference(final, content) < 1.5


def test_histogram_matching_gives_the_style_the_contents_colours():
    content, style = pil(picture(48)), pil(texture(48))
    matched = colour.match_histogram(style, content)
    c = np.asarray(content, float).reshape(-1, 3)
    m = np.asarray(matched, float).reshape(-1, 3)
    s = np.asarray(style, float).reshape(-1, 3)
    assert np.abs(m.mean(0) - c.mean(0)).max() < 3
    assert np.abs(m.mean(0) - c.mean(0)).max() < np.abs(s.mean(0) - c.mean(0)).max()
    _, (same,) = colour.prepare_colour(None, content, [style])
    assert same is style


def test_pil_tensor_round_trip_helpers_used_by_the_cli():
    t = pil_to_tensor([pil(picture(16))], 3)
    assert t.shape == (1, 3, 16, 16) and t.min() >= -1 and t.max() <= 1
