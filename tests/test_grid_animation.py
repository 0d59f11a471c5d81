"""Contact sheets (artkit.grid) and animations (artkit.animation), on real files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import artkit.assets
from artkit.animation import MP4_MISSING, ping_pong, read_frames, write_animation
from artkit.errors import UsageError
from artkit.grid import grid_from_array, make_grid, save_contact_sheet

HAS_FFMPEG = artkit.assets.find_module("imageio_ffmpeg")


def _noise(n, h=10, w=12, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def _pil(arr):
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arr]


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


# --------------------------------------------------------------------------- grid


@pytest.mark.parametrize(
    ("n", "columns", "cols", "rows"),
    [(1, None, 1, 1), (7, None, 3, 3), (64, None, 8, 8), (7, 2, 2, 4), (7, 7, 7, 1), (3, 10, 3, 1)],
)
def test_grid_size_arithmetic(n, columns, cols, rows):
    images = [Image.new("RGB", (12, 10), "red")] * n
    for padding in (0, 2, 5):
        sheet = make_grid(images, columns=columns, padding=padding)
        assert sheet.size == (cols * (12 + padding) + padding, rows * (10 + padding) + padding)
        assert sheet.mode == "RGB"
        fast = grid_from_array(np.zeros((n, 10, 12, 3), np.uint8), columns=columns, padding=padding)
        assert fast.size == sheet.size


def test_grid_places_and_pads_cells():
    sheet = make_grid(
        [Image.new("RGB", (4, 4), c) for c in ("red", "lime", "blue")],
        columns=2,
        padding=1,
        background=(9, 9, 9),
    )
    assert sheet.size == (11, 11)
    assert sheet.getpixel((1, 1)) == (255, 0, 0)
    assert sheet.getpixel((6, 1)) == (0, 255, 0)
    assert sheet.getpixel((1, 6)) == (0, 0, 255)
    assert sheet.getpixel((0, 0)) == sheet.getpixel((5, 3)) == sheet.getpixel((8, 8)) == (9, 9, 9)


def test_grid_mixed_sizes_are_centred_in_largest_cell():
    big, small = Image.new("RGB", (20, 10), "red"), Image.new("RGB", (4, 2), "blue")
    sheet = make_grid([big, small], padding=0, columns=2)
    assert sheet.size == (40, 10)
    # small sits in the middle of the second 20x10 cell: x 28..31, y 4..5
    assert sheet.getpixel((29, 4)) == (0, 0, 255)
    assert sheet.getpixel((27, 4)) == sheet.getpixel((29, 3)) == (255, 255, 255)
    assert sheet.getbbox() is not None


def test_grid_cell_shrinks_larger_images():
    sheet = make_grid([Image.new("RGB", (40, 20), "red")], padding=0, cell=(10, 10))
    assert sheet.size == (10, 10)
    assert sheet.getpixel((5, 5)) == (255, 0, 0)  # contained: 10x5, centred
    assert sheet.getpixel((5, 0)) == (255, 255, 255)
    with pytest.raises(UsageError):
        make_grid([Image.new("RGB", (4, 4))], cell=(0, 5))


def test_grid_rgba_keeps_alpha_or_composites():
    half = Image.new("RGBA", (4, 4), (0, 0, 0, 128))
    kept = make_grid([half], padding=1, background=(0, 0, 0, 0))
    assert kept.mode == "RGBA"
    assert kept.getpixel((2, 2)) == (0, 0, 0, 128)
    assert kept.getpixel((0, 0)) == (0, 0, 0, 0)
    flat = make_grid([half], padding=1)
    assert flat.mode == "RGB"
    assert flat.getpixel((2, 2)) in ((127, 127, 127), (128, 128, 128))


def test_grid_greyscale_stays_greyscale():
    sheet = make_grid([Image.new("L", (3, 3), 7)] * 2, background=(200, 200, 200))
    assert sheet.mode == "L"
    assert make_grid([Image.new("L", (3, 3), 7)], background="red").mode == "RGB"


def test_grid_labels_draw_under_cells():
    images = _pil(_noise(3))
    plain = make_grid(images)
    labelled = make_grid(images, labels=["one", "two", "a label far too long to fit"])
    assert labelled.width == plain.width and labelled.height > plain.height
    band = np.asarray(labelled)[plain.height - 2 :]
    assert (band < 128).any()  # some dark text on the white band
    dark = make_grid(images, labels=["a", "b", "c"], background="black")
    assert (np.asarray(dark)[plain.height - 2 :] > 128).any()
    with pytest.raises(UsageError, match="2 labels for 3 images"):
        make_grid(images, labels=["a", "b"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (dict(images=[]), "no images"),
        (dict(columns=0), "columns"),
        (dict(padding=-1), "padding"),
        (dict(background="not-a-colour"), "background"),
        (dict(background=(1, 2)), "background"),
    ],
)
def test_grid_usage_errors(args, match):
    args = {"images": [Image.new("RGB", (2, 2))], **args}
    with pytest.raises(UsageError, match=match):
        make_grid(args.pop("images"), **args)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("background", [(255, 255, 255), (10, 20, 30), (0, 0, 0, 0)])
def test_grid_from_array_equals_make_grid(channels, background):
    arr = _noise(7, c=channels, seed=channels)
    fast = grid_from_array(arr, padding=3, background=background)
    slow = make_grid(_pil(arr), padding=3, background=background)
    assert fast.mode == slow.mode and fast.size == slow.size
    assert np.array_equal(np.asarray(fast), np.asarray(slow))


def test_grid_from_array_rejects_bad_input():
    with pytest.raises(UsageError, match="uint8"):
        grid_from_array(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(UsageError, match="C in 1, 3, 4"):
        grid_from_array(np.zeros((2, 4, 4, 2), np.uint8))
    with pytest.raises(UsageError, match="no images"):
        grid_from_array(np.zeros((0, 4, 4, 3), np.uint8))
    assert grid_from_array(np.zeros((2, 4, 4), np.uint8)).mode == "L"


@pytest.mark.parametrize("with_images_module", [True, False])
def test_save_contact_sheet(tmp_path, monkeypatch, with_images_module):
    if not with_images_module:
        monkeypatch.setitem(sys.modules, "artkit.images", None)  # import -> ImportError
    paths = []
    for i, colour in enumerate(("red", "lime", "blue", "white", "black")):
        path = tmp_path / f"pic{i}.png"
        Image.new("RGB", (40 + i, 30), colour).save(path)
        paths.append(path)
    out = save_contact_sheet(
        paths, tmp_path / "out" / "sheet.png", thumb=20, columns=5, provenance={"seed": 3}
    )
    assert out == tmp_path / "out" / "sheet.png"
    with Image.open(out) as sheet:
        assert sheet.width == 5 * (20 + 2) + 2
        assert sheet.height > 20 + 4  # label band
        assert json.loads(sheet.info["artkit"]) == {"seed": 3}
    unlabelled = save_contact_sheet(paths[:2], tmp_path / "plain.png", labels=False)
    with Image.open(unlabelled) as sheet:
        assert sheet.size == (2 * (41 + 2) + 2, 30 + 2 * 2)
    assert not _leftovers(tmp_path) and not _leftovers(tmp_path / "out")
    with pytest.raises(UsageError):
        save_contact_sheet([], tmp_path / "none.png")


# --------------------------------------------------------------------------- animation


def _frames(n=6, size=(24, 16), mode="RGB"):
    out = []
    for i in range(n):
        im = Image.new("RGB", size, (40 * i % 256, 255 - 30 * i, 90))
        im.paste((255, 255, 255), (i * 2, 2, i * 2 + 4, 6))
        out.append(im.convert(mode))
    return out


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_animation_round_trip(tmp_path, suffix):
    frames = _frames(6)
    path = write_animation(frames, tmp_path / f"walk{suffix}", fps=20, provenance={"seed": 5})
    assert path == tmp_path / f"walk{suffix}"
    back = read_frames(path)
    assert len(back) == 6
    assert all(f.size == (24, 16) for f in back)
    total = sum(f.info["duration"] for f in back)
    assert abs(total - 6 * 50) <= 6
    with Image.open(path) as im:
        assert im.info.get("loop") == 0  # for ever
        assert getattr(im, "n_frames", 1) == 6
    # colours survive (GIF quantises, WebP is lossless at this size)
    tolerance = 8 if suffix == ".gif" else 0
    diff = np.abs(np.asarray(back[3], int)[..., :3] - np.asarray(frames[3], int)).max()
    assert diff <= tolerance
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_animation_plays_once_without_loop(tmp_path, suffix):
    # Frames read from a looping file must not smuggle its loop flag back in.
    looping = read_frames(write_animation(_frames(3), tmp_path / f"a{suffix}"))
    path = write_animation(looping, tmp_path / f"once{suffix}", loop=False)
    with Image.open(path) as im:
        if suffix == ".gif":
            assert "loop" not in im.info  # no NETSCAPE block: play once
        else:
            assert im.info["loop"] == 1


def test_animation_provenance(tmp_path):
    prov = {"model": "dcgan", "seed": 7, "note": "é"}
    images = pytest.importorskip("artkit.images")
    for suffix in (".png", ".webp"):
        path = write_animation(_frames(3), tmp_path / f"p{suffix}", provenance=prov)
        assert images.read_provenance(path) == prov
    with Image.open(write_animation(_frames(3), tmp_path / "p.gif", provenance=prov)) as im:
        assert json.loads(im.info["comment"]) == prov


def test_gif_timing_is_spread_and_capped(tmp_path):
    back = read_frames(write_animation(_frames(6), tmp_path / "a.gif", fps=24))
    durations = [f.info["duration"] for f in back]
    assert set(durations) <= {40, 50} and abs(sum(durations) - 250) <= 10
    back = read_frames(write_animation(_frames(3), tmp_path / "b.gif", fps=200))
    assert [f.info["duration"] for f in back] == [20, 20, 20]


def test_gif_transparency(tmp_path):
    frames = []
    for i in range(3):
        im = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
        im.paste((255, 0, 0, 255), (i * 5, 0, i * 5 + 5, 10))
        frames.append(im)
    back = read_frames(write_animation(frames, tmp_path / "key.gif"))
    for i, f in enumerate(back):
        assert f.mode == "RGBA"
        assert f.getpixel((i * 5 + 1, 1)) == (255, 0, 0, 255)
        assert f.getpixel((19, 19))[3] == 0
        if i:
            assert f.getpixel((1, 1))[3] == 0  # disposal: the previous square is gone
    frames[0].putpixel((15, 15), (0, 0, 255, 128))  # partial alpha -> flatten on white
    back = read_frames(write_animation(frames, tmp_path / "flat.gif"))
    assert back[0].mode == "RGB"
    assert back[0].getpixel((19, 19)) == (255, 255, 255)
    assert back[0].getpixel((15, 15))[2] > 200 and back[0].getpixel((15, 15))[0] < 200


def test_animation_accepts_iterables_and_arrays(tmp_path):
    arrays = (np.full((8, 6, 3), i * 40, np.uint8) for i in range(4))
    back = read_frames(write_animation(arrays, tmp_path / "gen.png"))
    assert len(back) == 4 and back[0].size == (6, 8)
    back = read_frames(write_animation(iter(_frames(2, mode="L")), tmp_path / "l.webp"))
    assert len(back) == 2 and back[1].getpixel((2, 3))[0] == 255


def test_animation_errors(tmp_path):
    with pytest.raises(UsageError, match=r"unsupported format \('\.avi'\); use \.gif, \.webp"):
        write_animation(_frames(2), tmp_path / "a.avi")
    with pytest.raises(UsageError, match="no suffix"):
        write_animation(_frames(2), tmp_path / "a")
    with pytest.raises(UsageError, match="one size: frame 0 is 24x16, frame 1 is 8x8"):
        write_animation([_frames(1)[0], Image.new("RGB", (8, 8))], tmp_path / "a.gif")
    with pytest.raises(UsageError, match="no frames"):
        write_animation([], tmp_path / "a.gif")
    with pytest.raises(UsageError, match="fps"):
        write_animation(_frames(2), tmp_path / "a.gif", fps=0)
    assert list(tmp_path.iterdir()) == []


def test_animation_write_is_atomic(tmp_path, monkeypatch):
    import artkit.animation as animation

    path = tmp_path / "keep.gif"
    path.write_bytes(b"old")

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setitem(animation._PILLOW_WRITERS, "GIF", boom)
    with pytest.raises(animation.ImageError, match="disk full"):
        write_animation(_frames(2), path)
    assert path.read_bytes() == b"old"
    assert not _leftovers(tmp_path)


def test_mp4_works_or_says_what_to_install(tmp_path, monkeypatch):
    if HAS_FFMPEG:
        path = write_animation(_frames(5, size=(23, 15)), tmp_path / "a.mp4", fps=10)
        back = read_frames(path)
        assert len(back) == 5 and back[0].size == (24, 16)  # padded to even sides
        assert not _leftovers(tmp_path)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(UsageError) as info:
        write_animation(_frames(2), tmp_path / "b.mp4")
    assert str(info.value).startswith(MP4_MISSING)  # + "(hidden by ...)" in the bare leg
    assert not (tmp_path / "b.mp4").exists()


def test_ping_pong():
    assert ping_pong([1, 2, 3, 4]) == [1, 2, 3, 4, 3, 2]
    assert ping_pong([1, 2]) == [1, 2]
    assert ping_pong([1]) == [1]
    assert ping_pong(iter([])) == []


def test_modules_import_light():
    code = (
        "import sys, artkit.grid, artkit.animation\n"
        "heavy = [m for m in ('torch', 'torchvision', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
