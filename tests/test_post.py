"""The built-in post-processors (plugins/artkit_post): every step on odd inputs, each
step's own behaviour, parameter validation, and the step parser (with hypothesis)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import artkit_post
from artkit.api.post import build_chain, format_spec, resolve_step, run_chain
from artkit.errors import ArtkitError, UsageError
from artkit.plugins import get_registry
from artkit.registry import parse_spec

NAMES = sorted(cfg.NAME for configs in artkit_post.steps().values() for cfg in configs)
#: parameters a step cannot run without (everything else has a default)
MINIMAL = {"resize": {"scale": 0.5}, "crop": {"size": (4, 4)}, "pad": {"px": 2}}
#: steps whose output has the input's size
SAME_SIZE = set(NAMES) - {"resize", "crop", "fit", "pad", "upscale", "tile", "border", "frame"}


def fn(name):
    return get_registry("postprocessors").get(name).factory


def run(name, image, **params):
    return fn(name)(image, **{**MINIMAL.get(name, {}), **params})


def rgb(h=24, w=32, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8))


def arr(image):
    return np.asarray(image).astype(int)


# --------------------------------------------------------------------------- odd inputs


def _palette_with_transparency():
    im = rgb(12, 9).quantize(8)
    im.info["transparency"] = 0
    return im


def _gif_first_frame():
    frames = [Image.new("P", (20, 10), i) for i in range(3)]
    for f in frames:
        f.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], transparency=0)
    buf.seek(0)
    return Image.open(buf)


ODD = {
    "1x1": lambda: Image.new("RGB", (1, 1), (200, 10, 10)),
    "10000x1": lambda: rgb(1, 10000),
    "1x700-L": lambda: Image.fromarray(np.arange(700, dtype=np.uint8).reshape(700, 1)),
    "RGBA": lambda: Image.fromarray(
        np.random.default_rng(1).integers(0, 256, (33, 17, 4), np.uint8)
    ),
    "LA": lambda: Image.fromarray(np.random.default_rng(2).integers(0, 256, (9, 13, 2), np.uint8)),
    "P+transparency": _palette_with_transparency,
    "I;16": lambda: Image.fromarray(
        np.random.default_rng(3).integers(0, 65535, (20, 30), np.uint16)
    ),
    "L": lambda: Image.fromarray(np.random.default_rng(4).integers(0, 256, (20, 30), np.uint8)),
    "1-bit": lambda: Image.new("1", (5, 7), 1),
    "CMYK": lambda: Image.new("CMYK", (6, 4), (10, 20, 30, 40)),
    "GIF": _gif_first_frame,
}
ALPHA_INPUTS = {"RGBA", "LA", "P+transparency", "GIF"}


def test_the_plugin_registers_every_step():
    registry = get_registry("postprocessors")
    mine = sorted(e.name for e in registry if e.plugin == "post")
    assert mine == NAMES
    assert len(NAMES) >= 24
    for entry in registry:
        if entry.plugin == "post":
            assert entry.description and entry.config_class is not None


@pytest.mark.parametrize("kind", list(ODD))
@pytest.mark.parametrize("name", NAMES)
def test_every_step_on_odd_inputs(name, kind):
    image = ODD[kind]()
    before = image.tobytes()
    out = run(name, image)
    assert isinstance(out, Image.Image)
    assert out.mode in ("L", "LA", "RGB", "RGBA", "P"), out.mode
    assert out.width >= 1 and out.height >= 1
    if name in SAME_SIZE:
        assert out.size == image.size
    if kind in ALPHA_INPUTS and name != "flatten":
        assert out.mode in ("LA", "RGBA"), f"{name} dropped alpha"
    if kind not in ALPHA_INPUTS:
        assert out.mode in ("L", "RGB", "P"), f"{name} invented alpha"
    assert image.tobytes() == before, f"{name} modified its input"
    out.tobytes()  # fully materialised


# --------------------------------------------------------------------------- geometry


def test_resize():
    im = rgb(20, 40)
    assert run("resize", im, scale=0.5).size == (20, 10)
    assert run("resize", im, scale=None, size=(7, 9)).size == (7, 9)
    assert run("resize", im, scale=None, size=(10, 0)).size == (10, 5)
    assert run("resize", im, scale=None, size=(0, 10)).size == (20, 10)
    assert run("resize", Image.new("L", (1, 1)), scale=0.01).size == (1, 1)
    nearest = run("resize", im, scale=2.0, filter="nearest")
    assert np.array_equal(arr(nearest)[::2, ::2], arr(im))


def test_resize_needs_exactly_one_of_scale_and_size():
    with pytest.raises(UsageError, match=r"^resize: give either scale= or size=WxH"):
        fn("resize")(rgb())
    with pytest.raises(UsageError, match=r"^resize: "):
        fn("resize")(rgb(), scale=2.0, size=(4, 4))


def test_results_larger_than_the_bomb_limit_are_refused():
    with pytest.raises(UsageError, match=r"^upscale: the result would be 640000x6400 pixels"):
        run("upscale", Image.new("RGB", (10000, 100)), factor=64)


def test_crop():
    im = rgb(10, 20)
    out = run("crop", im, size=(4, 6))
    assert out.size == (4, 6)
    assert np.array_equal(arr(out), arr(im)[2:8, 8:12])
    assert np.array_equal(arr(run("crop", im, size=(4, 6), anchor="top-left")), arr(im)[:6, :4])
    assert run("crop", im, size=(100, 100)).size == (20, 10)  # clamped
    boxed = run("crop", im, size=None, box=(-5, 2, 7, 999))
    assert np.array_equal(arr(boxed), arr(im)[2:, :7])
    with pytest.raises(UsageError, match=r"^crop: box=50/0/60/5 lies outside the 20x10 image"):
        run("crop", im, size=None, box=(50, 0, 60, 5))


def test_fit_modes():
    im = rgb(50, 100)
    assert run("fit", im, size=(64, 64)).size == (64, 32)
    assert run("fit", im, size=(64, 64), mode="cover").size == (64, 64)
    assert run("fit", im, size=(30, 80), mode="stretch").size == (30, 80)
    assert run("fit", im, size=(40,)).size == (40, 20)  # one number: a square box


def test_pad():
    im = Image.new("RGB", (4, 2), (9, 9, 9))
    out = run("pad", im, px=None, size=(6, 6))
    assert out.size == (6, 6) and out.getpixel((0, 0)) == (0, 0, 0)
    assert out.getpixel((1, 2)) == (9, 9, 9)
    assert run("pad", im, px=3).size == (10, 8)
    see_through = run("pad", Image.new("RGBA", (2, 2), (1, 2, 3, 255)), px=1)
    assert see_through.getpixel((0, 0)) == (0, 0, 0, 0)
    red = run("pad", Image.new("L", (2, 2), 50), px=1, color="red")
    assert red.mode == "RGB" and red.getpixel((0, 0)) == (255, 0, 0)
    half = run("pad", Image.new("L", (2, 2), 50), px=1, color="#ffffff80")
    assert half.mode == "LA" and half.getpixel((0, 0)) == (255, 128)


def test_upscale_is_pixel_exact():
    im = rgb(3, 5)
    out = run("upscale", im, factor=4)
    assert out.size == (20, 12)
    assert np.array_equal(arr(out), np.kron(arr(im), np.ones((4, 4, 1), int)))


@pytest.mark.parametrize("width", [1, 2, 7, 8])
def test_mirror_is_symmetric(width):
    im = rgb(6, width)
    h = arr(run("mirror", im))
    assert np.array_equal(h, h[:, ::-1])
    assert np.array_equal(h[:, : (width + 1) // 2], arr(im)[:, : (width + 1) // 2])
    v = arr(run("mirror", im, axis="vertical"))
    assert np.array_equal(v, v[::-1])
    both = arr(run("mirror", im, axis="both"))
    assert np.array_equal(both, both[::-1, ::-1]) and np.array_equal(both, both[:, ::-1])
    rev = arr(run("mirror", im, reverse=True))
    assert np.array_equal(rev[:, width // 2 :], arr(im)[:, width // 2 :])


def test_flip():
    im = rgb(5, 7)
    assert np.array_equal(arr(run("flip", im)), arr(im)[:, ::-1])
    assert np.array_equal(arr(run("flip", im, axis="both")), arr(im)[::-1, ::-1])
    assert np.array_equal(arr(run("flip", run("flip", im))), arr(im))


@pytest.mark.parametrize("segments", [2, 4, 6, 12])
def test_kaleidoscope_is_mirror_symmetric(segments):
    out = arr(run("kaleidoscope", rgb(65, 65), segments=segments, angle=10.0))
    # the wedges meet as mirror images: symmetric about the horizontal axis
    same = (out == out[::-1]).all(axis=2).mean()
    assert same > 0.98, same


def test_kaleidoscope_rejects_odd_segments():
    with pytest.raises(UsageError, match=r"^kaleidoscope: segments=5 must be an even number"):
        fn("kaleidoscope")(rgb(), segments=5)


def test_tile():
    im = rgb(3, 4)
    out = run("tile", im, nx=3, ny=2)
    assert out.size == (12, 6)
    assert np.array_equal(arr(out), np.tile(arr(im), (2, 3, 1)))
    seamless = arr(run("tile", im, nx=2, ny=2, mirror=True))
    assert np.array_equal(seamless[:, 3], seamless[:, 4])  # flipped neighbours meet
    assert np.array_equal(seamless[2], seamless[3])


# --------------------------------------------------------------------------- colour


def test_grade_defaults_are_the_identity():
    im = rgb()
    assert np.array_equal(arr(run("grade", im)), arr(im))


def test_grade_controls():
    im = rgb()
    assert arr(run("grade", im, brightness=0.0)).max() == 0
    grey = arr(run("grade", im, saturation=0.0))
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 1
    flat = arr(run("grade", im, contrast=0.0))
    assert flat.std() < 1
    red = Image.new("RGB", (2, 2), (255, 0, 0))
    r, g, b = run("grade", red, hue=180.0).getpixel((0, 0))
    assert r < 10 and g > 240 and b > 240  # red turned cyan
    mid = Image.new("L", (1, 1), 64)
    assert run("grade", mid, gamma=2.0).getpixel((0, 0)) == 128
    rgba = Image.new("RGBA", (2, 2), (100, 100, 100, 77))
    assert run("grade", rgba, brightness=0.5).getpixel((0, 0)) == (50, 50, 50, 77)


def test_posterize_levels():
    out = arr(run("posterize", rgb(64, 64), bits=2))
    assert len(np.unique(out)) <= 4


@pytest.mark.parametrize("make", [rgb, lambda: ODD["RGBA"](), lambda: ODD["L"]()])
def test_invert_twice_is_identity(make):
    im = make()
    once = run("invert", im)
    assert not np.array_equal(arr(once), arr(im))
    assert np.array_equal(arr(run("invert", once)), arr(im))


def test_invert_keeps_alpha():
    out = run("invert", Image.new("RGBA", (1, 1), (10, 20, 30, 40)))
    assert out.getpixel((0, 0)) == (245, 235, 225, 40)


def test_greyscale_and_sepia():
    assert run("greyscale", rgb()).mode == "L"
    assert run("greyscale", ODD["RGBA"]()).mode == "LA"
    toned = arr(run("sepia", Image.new("L", (2, 2), 120)))
    r, g, b = toned[0, 0]
    assert r > g > b
    assert np.array_equal(arr(run("sepia", rgb(), strength=0.0)), arr(rgb()))


def test_flatten():
    im = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    im.putpixel((1, 0), (0, 0, 255, 255))
    out = run("flatten", im, color="#00ff00")
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (0, 255, 0) and out.getpixel((1, 0)) == (0, 0, 255)
    assert run("flatten", ODD["LA"]()).mode == "L"


# --------------------------------------------------------------------------- palette


def colours(image):
    return {tuple(c) for c in np.asarray(image.convert("RGB")).reshape(-1, 3)}


@pytest.mark.parametrize("method", ["kmeans", "median-cut"])
@pytest.mark.parametrize("dither", ["none", "floyd", "ordered"])
@pytest.mark.parametrize("n", [2, 7, 16])
def test_palette_yields_at_most_n_colours(method, dither, n):
    out = run("palette", rgb(40, 50), colors=n, method=method, dither=dither)
    assert out.mode == "P" and out.size == (50, 40)
    assert 1 <= len(colours(out)) <= n


def test_palette_keeps_an_image_that_already_fits_exactly():
    base = np.array([[10, 10, 10], [11, 10, 10], [200, 0, 50]], np.uint8)
    im = Image.fromarray(base[np.arange(64).reshape(8, 8) % 3])
    assert np.array_equal(arr(run("palette", im, colors=4).convert("RGB")), arr(im))


def test_palette_kmeans_is_deterministic_and_fits_the_picture():
    im = rgb(64, 64, seed=5)
    a, b = run("palette", im, colors=8), run("palette", im, colors=8)
    assert a.tobytes() == b.tobytes() and a.getpalette() == b.getpalette()
    # k-means does at least as well as its median-cut start
    err = {
        m: np.abs(arr(run("palette", im, colors=8, method=m).convert("RGB")) - arr(im)).mean()
        for m in ("kmeans", "median-cut")
    }
    assert err["kmeans"] <= err["median-cut"] + 0.5


def test_palette_ordered_dither_mixes_black_and_white(tmp_path):
    path = tmp_path / "bw.txt"
    path.write_text("; black and white\n#000000\nffffff\n")
    for dither, tolerance in (("ordered", 6), ("floyd", 6)):
        out = run("palette", Image.new("L", (64, 64), 64), file=str(path), dither=dither)
        share_white = (np.asarray(out) == 1).mean() * 255  # palette index 1 is white
        assert abs(share_white - 64) < tolerance, (dither, share_white)


def test_palette_files(tmp_path):
    gpl = tmp_path / "p.gpl"
    gpl.write_text("GIMP Palette\nName: two\nColumns: 2\n# comment\n255 0 0 red\n0 0 255\tblue\n")
    swatch = tmp_path / "p.png"
    Image.fromarray(np.array([[[0, 255, 0], [255, 255, 255]]], np.uint8)).save(swatch)
    hexes = tmp_path / "p.hex"
    hexes.write_text("ff00ff\n00ffff\n")
    for path, allowed in (
        (gpl, {(255, 0, 0), (0, 0, 255)}),
        (swatch, {(0, 255, 0), (255, 255, 255)}),
        (hexes, {(255, 0, 255), (0, 255, 255)}),
    ):
        out = run("palette", rgb(), file=str(path), dither="floyd")
        assert colours(out) <= allowed


def test_palette_keeps_alpha():
    out = run("palette", ODD["RGBA"](), colors=4)
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], np.asarray(ODD["RGBA"]())[..., 3])
    assert len(colours(out)) <= 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no colours found"),
        ("#12345\n", "line 1: '#12345' is not a colour"),
        ("GIMP Palette\n1 2\n", "line 2: expected 'R G B"),
        ("GIMP Palette\n1 2 300\n", "must be 0 to 255"),
    ],
)
def test_bad_palette_files(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(UsageError, match=f"^palette: file=.*{re.escape(message)}"):
        fn("palette")(rgb(), file=str(path))


def test_palette_colour_range_message():
    with pytest.raises(UsageError) as info:
        fn("palette")(rgb(), colors=0)
    assert str(info.value) == "palette: colors=0 must be between 2 and 256"


# --------------------------------------------------------------------------- effects


def test_grain_is_deterministic_by_seed():
    im = rgb()
    a, b = run("grain", im, seed=3), run("grain", im, seed=3)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != run("grain", im, seed=4).tobytes()
    assert np.array_equal(arr(run("grain", im, amount=0.0)), arr(im))
    mono = arr(run("grain", Image.new("RGB", (16, 16), (128, 128, 128)), amount=0.1))
    assert np.array_equal(mono[..., 0], mono[..., 2])
    colour = arr(run("grain", Image.new("RGB", (16, 16), (128,) * 3), amount=0.1, mono=False))
    assert not np.array_equal(colour[..., 0], colour[..., 2])
    rgba = ODD["RGBA"]()
    assert np.array_equal(np.asarray(run("grain", rgba))[..., 3], np.asarray(rgba)[..., 3])


def test_vignette_darkens_corners_only():
    im = Image.new("RGB", (41, 41), (200, 200, 200))
    out = arr(run("vignette", im, strength=0.8, radius=0.3))
    assert out[20, 20].tolist() == [200, 200, 200]
    assert out[0, 0, 0] < 60
    assert np.array_equal(arr(run("vignette", im, strength=0.0)), arr(im))


def test_sharpen_raises_edge_contrast():
    edge = np.zeros((20, 20), np.uint8)
    edge[:, 10:] = 200
    soft = Image.fromarray(edge).resize((40, 40), Image.Resampling.BILINEAR)
    assert arr(run("sharpen", soft)).std() > arr(soft).std()


def test_blur():
    im = rgb(32, 32)
    assert arr(run("blur", im, radius=3.0)).std() < arr(im).std() / 2
    assert arr(run("blur", im, kind="box")).std() < arr(im).std()
    assert np.array_equal(arr(run("blur", im, radius=0.0)), arr(im))


def test_blur_does_not_bleed_hidden_colours():
    im = Image.new("RGBA", (20, 20), (255, 0, 0, 0))  # invisible red
    im.paste((0, 0, 255, 255), (5, 5, 15, 15))
    out = np.asarray(run("blur", im, radius=2.0)).astype(int)
    visible = out[..., 3] > 20
    assert out[visible][:, 0].max() < 20


def test_pixelate_makes_flat_blocks():
    out = arr(run("pixelate", rgb(20, 24), size=4))
    assert out.shape == (20, 24, 3)
    block = out[4:8, 8:12]
    assert (block == block[0, 0]).all()


def test_halftone():
    for tone in (20, 128, 235):  # dots cover as much of each cell as there is ink
        out = arr(run("halftone", Image.new("L", (64, 64), tone), cell=8))
        assert abs(out.mean() - tone) < 4, (tone, out.mean())
        assert ((out == 0) | (out == 255)).mean() > 0.6  # mostly solid ink or paper
    assert arr(run("halftone", Image.new("L", (32, 32), 255))).min() == 255
    cmyk = run("halftone", rgb(), color="cmyk", cell=4)
    assert cmyk.mode == "RGB"


def test_border_and_frame():
    im = Image.new("RGB", (10, 6), (0, 0, 0))
    out = run("border", im, width=3, color="white")
    assert out.size == (16, 12) and out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((3, 3)) == (0, 0, 0)
    framed = run("frame", im, width=4, color="#808080", shade=0.5)
    assert framed.size == (18, 14)
    top, bottom = framed.getpixel((8, 1)), framed.getpixel((8, 12))
    assert sum(top) > sum(bottom)  # lit top, shaded bottom
    assert framed.getpixel((4, 4)) == (0, 0, 0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("palette:colors=0", "palette: colors=0 must be between 2 and 256"),
        ("palette:colors=x", "palette: colors='x' is not a valid int"),
        ("palette:dither=fs", "palette: dither='fs' is not one of: none, floyd, ordered"),
        ("resize:filter=cubic", "resize: filter='cubic' is not one of: lanczos, nearest"),
        ("resize:sclae=2", "resize: unknown parameter 'sclae'; did you mean 'scale'?"),
        ("invert:x=1", "invert: unknown parameter 'x'; allowed: none"),
        ("sharpn", "unknown post-processor 'sharpn'; did you mean 'sharpen'?"),
        ("grade:gamma=0", "grade: gamma=0 must be between 0.05 and 20"),
        ("grade:hue=nan", "grade: hue=nan must be a finite number"),
        ("upscale:factor=2.5", "upscale: factor='2.5' is not a valid int"),
        ("tile:mirror=maybe", "tile: mirror='maybe' is not a valid bool"),
        ("border:color=blurple", "border: color='blurple' is not a colour"),
        ("fit:size=0x5", "fit: size=0x5 must be WxH with sides from 1 to 65535"),
        ("crop:box=1/2/3", "crop: box=1/2/3 must be left/top/right/bottom"),
        ("kaleidoscope:segments=7", "kaleidoscope: segments=7 must be an even number"),
    ],
)
def test_bad_steps_are_one_line_usage_errors(spec, message):
    with pytest.raises(UsageError) as info:
        build_chain([spec])
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_direct_calls_validate_too():
    with pytest.raises(UsageError, match=r"^sharpen: percent='a' must be an integer"):
        fn("sharpen")(rgb(), percent="a")
    with pytest.raises(
        UsageError, match=r"^blur: unknown parameter 'sigma'; allowed: radius, kind"
    ):
        fn("blur")(rgb(), sigma=1)


def test_chain_runs_in_order():
    chain = build_chain(["resize:size=8x4", "upscale:factor=3", "border:width=1"])
    out = run_chain(rgb(), chain)
    assert out.size == (26, 14)


def test_canonical_specs_round_trip_for_every_step():
    registry = get_registry("postprocessors")
    for name in NAMES:
        step = resolve_step(format_spec(name, MINIMAL.get(name, {})), registry.get)
        again = resolve_step(step.spec, registry.get)
        assert again.params == step.params and again.spec == step.spec, name


def test_a_failing_step_names_the_file_and_the_step():
    chain = build_chain(["crop:box=50/50/60/60"])
    with pytest.raises(ArtkitError, match=r"^in\.png: crop: box=50/50/60/60 lies outside"):
        run_chain(rgb(), chain, "in.png")


# --------------------------------------------------------------------------- the step parser

NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
KEY = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
VALUE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20
).filter(lambda v: not ("'" in v and '"' in v))


@settings(max_examples=300, deadline=None)
@given(NAME, st.dictionaries(KEY, VALUE, max_size=5))
def test_parse_spec_round_trips_formatted_specs(name, options):
    assert parse_spec(format_spec(name, options)) == (name, options)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), st.data())
def test_typed_values_round_trip(name, data):
    registry = get_registry("postprocessors")
    entry = registry.get(name)
    step = resolve_step(format_spec(name, MINIMAL.get(name, {})), registry.get)
    # pick a parameter with choices and set it to any allowed value
    params = dict(step.params)
    for p in entry.params:
        if p.choices:
            params[p.name] = data.draw(st.sampled_from(p.choices))
    spec = format_spec(name, params)
    assert resolve_step(spec, registry.get).params == params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_garbage_steps_are_rejected_with_a_clear_error(text):
    try:
        chain = build_chain([text])
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
    else:
        assert chain[0].name in NAMES  # only real steps get through


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["palette", "grain", "sharpen", "resize", "grade", "tile", "halftone"]),
    st.text(min_size=1, max_size=12).filter(
        lambda v: "," not in v and "'" not in v and '"' not in v
    ),
)
def test_garbage_values_name_the_step(name, value):
    entry = get_registry("postprocessors").get(name)
    for p in entry.params:
        try:
            build_chain([format_spec(name, {**MINIMAL.get(name, {}), p.name: value})])
        except UsageError as exc:
            assert str(exc).startswith(f"{name}: "), str(exc)
