"""The built-in datasets: ``folder`` (images on disk) and ``shapes`` (procedural)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from artkit.data import ImageSource, describe
from artkit.errors import ArtkitError, UsageError
from artkit.registry import Registry
from artkit_data.configs import FolderConfig, ShapesConfig
from artkit_data.folder import FolderDataset
from artkit_data.shapes import ShapesDataset

# -- fixtures -------------------------------------------------------------------


def _noise(h: int, w: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = (rng.random((h, w, bands)) * 255).astype(np.uint8)
    return Image.fromarray(arr.squeeze(-1) if bands == 1 else arr, mode)


@pytest.fixture
def art(tmp_path):
    """A folder of assorted real images plus two unreadable ones and some non-images."""
    root = tmp_path / "art"
    (root / "sub").mkdir(parents=True)
    _noise(60, 80).save(root / "a.png")
    _noise(100, 50, seed=1).save(root / "b.JPG", quality=90)
    rgba = Image.new("RGBA", (40, 40), (255, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 20, 40))  # left half transparent
    rgba.save(root / "c.png")
    _noise(77, 33, "L", seed=2).save(root / "d.png")
    pal = Image.new("P", (30, 30), 1)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.paste(0, (0, 0, 15, 30))
    pal.save(root / "e.gif", transparency=0)
    _noise(64, 64, seed=3).save(root / "sub" / "f.webp")
    _noise(20, 90, seed=4).save(root / "sub" / "g.bmp")
    (root / "bad.png").write_bytes(b"this is not a png")
    jpeg = root / "trunc.jpg"
    _noise(200, 200, seed=5).save(jpeg, quality=95)
    jpeg.write_bytes(jpeg.read_bytes()[:600])
    (root / "notes.txt").write_text("not an image, not counted\n")
    (root / ".hidden.png").write_bytes(b"ignored: hidden")
    return root


GOOD = ["a.png", "b.JPG", "c.png", "d.png", "e.gif", "sub/f.webp", "sub/g.bmp"]


# -- folder ---------------------------------------------------------------------


def test_folder_reads_every_readable_image(art, capsys):
    ds = FolderDataset(resolution=32, channels=3, path=str(art))
    assert isinstance(ds, ImageSource)
    assert ds.files == GOOD  # sorted, recursive, case-insensitive suffixes
    assert len(ds) == 7
    arr = ds.as_array()
    assert arr.shape == (7, 32, 32, 3) and arr.dtype == np.uint8
    assert ds[0].shape == (32, 32, 3) and ds[0].dtype == np.uint8
    np.testing.assert_array_equal(ds[-1], arr[6])
    with pytest.raises(IndexError):
        ds[7]
    with pytest.raises(IndexError):
        ds[-8]
    assert len(list(ds)) == 7

    assert [os.path.basename(p) for p, _ in ds.skipped] == ["bad.png", "trunc.jpg"]
    assert ds.skipped[0] == (os.path.join(str(art), "bad.png"), "cannot identify image file")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"artkit: warning: skipped 2 of 9 files in {str(art)!r}")
    assert "bad.png: cannot identify image file" in err
    assert describe(ds)["skipped"] == 2 and describe(ds)["count"] == 7


def test_folder_no_warning_when_all_readable(tmp_path, capsys):
    _noise(10, 10).save(tmp_path / "x.png")
    ds = FolderDataset(resolution=8, channels=3, path=str(tmp_path))
    assert ds.skipped == [] and len(ds) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_folder_channels(art, channels):
    ds = FolderDataset(resolution=16, channels=channels, path=str(art))
    assert ds.as_array().shape == (7, 16, 16, channels)
    c = ds[ds.files.index("c.png")]  # red, left half transparent
    e = ds[ds.files.index("e.gif")]  # green, left half transparent (palette)
    if channels == 4:
        assert c[:, :4, 3].max() == 0 and c[:, -4:, 3].min() == 255
        assert e[:, :4, 3].max() == 0 and e[:, -4:, 3].min() == 255
        assert (c[:, -4:, :3] == (255, 0, 0)).all()
    elif channels == 3:  # flattened onto the white background
        assert (c[:, :4] == 255).all() and (c[:, -4:] == (255, 0, 0)).all()
        assert (e[:, :4] == 255).all() and (e[:, -4:] == (0, 255, 0)).all()
    else:
        assert (c[:, :4] == 255).all() and abs(int(c[:, -4:].mean()) - 76) <= 2


def test_folder_background_colour(art):
    ds = FolderDataset(resolution=16, channels=3, path=str(art), background="#102030")
    c = ds[ds.files.index("c.png")]
    assert (c[:, :4] == (16, 32, 48)).all()


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_folder_fit_modes_make_squares(art, fit):
    ds = FolderDataset(resolution=24, channels=3, path=str(art), fit=fit)
    assert ds.as_array().shape == (7, 24, 24, 3)


def test_folder_fit_pad_and_crop_geometry(tmp_path):
    Image.new("RGB", (80, 40), (0, 0, 0)).save(tmp_path / "wide.png")
    pad = FolderDataset(resolution=20, channels=3, path=str(tmp_path), fit="pad")[0]
    assert (pad[:4] == 255).all() and (pad[-4:] == 255).all()  # white bars top and bottom
    assert (pad[6:14] == 0).all()
    crop = FolderDataset(resolution=20, channels=3, path=str(tmp_path), fit="crop")[0]
    assert (crop == 0).all()
    rgba = FolderDataset(resolution=20, channels=4, path=str(tmp_path), fit="pad")[0]
    assert (rgba[:4, :, 3] == 0).all() and (rgba[6:14, :, 3] == 255).all()  # transparent bars


def test_folder_applies_exif_orientation(tmp_path):
    im = Image.new("RGB", (80, 40), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    im.save(tmp_path / "rotated.jpg", exif=exif.tobytes())
    ds = FolderDataset(resolution=20, channels=3, path=str(tmp_path), fit="pad")
    img = ds[0].astype(int)
    assert (img[:, :4] > 240).all() and (img[:, -4:] > 240).all()  # bars left and right: portrait
    assert (img[:, 7:13] < 15).all()


def test_folder_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    arr = np.full((16, 16), 32768, dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "deep.png")
    ds = FolderDataset(resolution=8, channels=1, path=str(tmp_path))
    assert abs(int(ds[0].mean()) - 128) <= 1


def test_folder_recursive_off(art):
    ds = FolderDataset(resolution=8, channels=3, path=str(art), recursive=False)
    assert "sub/f.webp" not in ds.files and len(ds) == 5


def test_folder_fingerprint_tracks_files(art):
    fp = FolderDataset(resolution=16, channels=3, path=str(art)).fingerprint()
    assert fp == FolderDataset(resolution=16, channels=3, path=str(art)).fingerprint()
    assert fp != FolderDataset(resolution=32, channels=3, path=str(art)).fingerprint()
    assert fp != FolderDataset(resolution=16, channels=1, path=str(art)).fingerprint()
    assert fp != FolderDataset(resolution=16, channels=3, path=str(art), fit="pad").fingerprint()

    _noise(60, 80, seed=9).save(art / "a.png")  # modified content
    st = os.stat(art / "a.png")
    os.utime(art / "a.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fp2 = FolderDataset(resolution=16, channels=3, path=str(art)).fingerprint()
    assert fp2 != fp

    _noise(10, 10).save(art / "sub" / "new.png")  # added file
    ds = FolderDataset(resolution=16, channels=3, path=str(art))
    assert ds.fingerprint() not in (fp, fp2) and len(ds) == 8


def test_folder_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        FolderDataset(resolution=16, channels=3, path=str(tmp_path / "nope"))
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(UsageError, match="not a folder"):
        FolderDataset(resolution=16, channels=3, path=str(tmp_path / "file.png"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("hi")
    with pytest.raises(UsageError, match=r"no images found in .*looked for \.png, \.jpg") as info:
        FolderDataset(resolution=16, channels=3, path=str(empty))
    assert "\n" not in str(info.value)
    nested = tmp_path / "nested"
    (nested / "deep").mkdir(parents=True)
    _noise(8, 8).save(nested / "deep" / "x.png")
    with pytest.raises(UsageError, match="recursive=true"):
        FolderDataset(resolution=16, channels=3, path=str(nested), recursive=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"junk")
    (broken / "b.jpg").write_bytes(b"junk")
    with pytest.raises(ArtkitError, match=r"none of the 2 image files .* could be read"):
        FolderDataset(resolution=16, channels=3, path=str(broken))


def test_folder_bad_arguments(tmp_path):
    with pytest.raises(UsageError, match="fit="):
        FolderDataset(resolution=16, channels=3, path=str(tmp_path), fit="zoom")
    with pytest.raises(UsageError, match="background="):
        FolderDataset(resolution=16, channels=3, path=str(tmp_path), background="plaid")
    with pytest.raises(UsageError, match="channels="):
        FolderDataset(resolution=16, channels=2, path=str(tmp_path))
    with pytest.raises(UsageError, match="resolution="):
        FolderDataset(resolution=0, channels=3, path=str(tmp_path))


def test_folder_parallel_decode_matches_serial(tmp_path):
    for i in range(20):
        _noise(30 + i, 40, seed=i).save(tmp_path / f"{i:02d}.png")
    serial = FolderDataset(resolution=16, channels=3, path=str(tmp_path), workers=1, cache=False)
    threaded = FolderDataset(resolution=16, channels=3, path=str(tmp_path), workers=2, cache=False)
    np.testing.assert_array_equal(serial.as_array(), threaded.as_array())


def test_folder_through_the_registry(art):
    reg = Registry("datasets")
    entry = reg.add("folder", "artkit_data.folder:FolderDataset", params=FolderConfig)
    assert [p.name for p in entry.params] == ["path", "recursive", "fit", "background", "exclude"]
    assert entry.param("path").required and entry.param("fit").choices == ("crop", "pad", "stretch")
    ds = entry.create(
        {"path": str(art), "recursive": "false", "fit": "pad"}, resolution=8, channels=1
    )
    assert ds.as_array().shape == (5, 8, 8, 1)
    with pytest.raises(UsageError):
        entry.bind({"path": "x", "fit": "zoom"})
    with pytest.raises(UsageError, match="missing required parameter 'path'"):
        entry.bind({})


# -- shapes ---------------------------------------------------------------------


def test_shapes_is_an_image_source():
    ds = ShapesDataset(resolution=32, channels=3, count=10)
    assert isinstance(ds, ImageSource)
    assert len(ds) == 10 and ds.skipped == []
    assert describe(ds) == {
        "count": 10,
        "resolution": 32,
        "channels": 3,
        "fingerprint": ds.fingerprint(),
        "skipped": 0,
    }


def test_shapes_deterministic_and_random_access():
    a = ShapesDataset(resolution=32, channels=3, count=40, seed=7)
    b = ShapesDataset(resolution=32, channels=3, count=40, seed=7)
    late = b[33]  # drawn on its own, before anything else
    arr = a.as_array()
    assert arr.shape == (40, 32, 32, 3) and arr.dtype == np.uint8
    np.testing.assert_array_equal(late, arr[33])
    np.testing.assert_array_equal(b.as_array(), arr)
    for i in (0, 5, 39, -1):
        np.testing.assert_array_equal(
            ShapesDataset(resolution=32, channels=3, count=40, seed=7)[i], arr[i]
        )
    np.testing.assert_array_equal(a[-40], arr[0])
    with pytest.raises(IndexError):
        a[40]
    # a bigger dataset with the same seed starts with the same pictures
    np.testing.assert_array_equal(
        ShapesDataset(resolution=32, channels=3, count=100, seed=7)[3], arr[3]
    )
    other = ShapesDataset(resolution=32, channels=3, count=40, seed=8).as_array()
    assert not np.array_equal(other, arr)
    assert not any(np.array_equal(arr[i], arr[i + 1]) for i in range(39))


def test_shapes_are_not_blank():
    arr = ShapesDataset(resolution=64, channels=3, count=32, seed=0).as_array()
    for img in arr:
        assert img.std() > 10
        colours = {tuple(c) for c in img.reshape(-1, 3)[::7]}
        assert len(colours) >= 3
    assert arr.reshape(-1, 3).std(axis=0).min() > 30  # colourful across the set


@pytest.mark.parametrize("resolution", [32, 64])
def test_shapes_resolutions(resolution):
    ds = ShapesDataset(resolution=resolution, channels=3, count=4)
    assert ds.as_array().shape == (4, resolution, resolution, 3)
    assert ds[0].shape == (resolution, resolution, 3)


def test_shapes_greyscale_and_rgba():
    grey = ShapesDataset(resolution=32, channels=1, count=8).as_array()
    assert grey.shape == (8, 32, 32, 1) and all(img.std() > 5 for img in grey)
    rgba = ShapesDataset(resolution=32, channels=4, count=8).as_array()
    assert rgba.shape == (8, 32, 32, 4)
    alpha = rgba[..., 3]
    assert (alpha == 0).mean() > 0.25 and (alpha == 255).mean() > 0.25
    for a in alpha:
        assert (a == 0).any() and (a == 255).mean() > 0.05  # transparent ground, opaque shapes


def test_shapes_backgrounds():
    dark = ShapesDataset(resolution=32, channels=3, count=8, background="dark").as_array()
    light = ShapesDataset(resolution=32, channels=3, count=8, background="light").as_array()
    assert (
        np.median(dark.reshape(8, -1), axis=1).mean()
        < np.median(light.reshape(8, -1), axis=1).mean()
    )


def test_shapes_fingerprint():
    fp = ShapesDataset(resolution=32, channels=3).fingerprint()
    assert fp == ShapesDataset(resolution=32, channels=3).fingerprint()
    assert len(fp) == 16 and int(fp, 16) >= 0
    for change in ({"seed": 1}, {"count": 10}, {"max_shapes": 3}, {"background": "dark"}):
        assert ShapesDataset(resolution=32, channels=3, **change).fingerprint() != fp
    assert ShapesDataset(resolution=64, channels=3).fingerprint() != fp
    assert ShapesDataset(resolution=32, channels=4).fingerprint() != fp


def test_shapes_validation():
    with pytest.raises(UsageError, match="min_shapes=5 is larger than max_shapes=2"):
        ShapesDataset(resolution=32, channels=3, min_shapes=5, max_shapes=2)
    with pytest.raises(UsageError, match="count=0"):
        ShapesConfig(count=0)
    with pytest.raises(UsageError, match="background="):
        ShapesConfig(background="grey")
    reg = Registry("datasets")
    entry = reg.add("shapes", "artkit_data.shapes:ShapesDataset", params=ShapesConfig)
    ds = entry.create({"count": "5", "seed": "3"}, resolution=16, channels=3)
    assert len(ds) == 5 and ds.seed == 3
    with pytest.raises(UsageError):
        entry.bind({"background": "grey"})


def test_configs_import_nothing_heavy():
    code = (
        "import sys, artkit_data.configs, artkit_data.folder, artkit_data.shapes;"
        "heavy = [m for m in ('torch', 'numpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
