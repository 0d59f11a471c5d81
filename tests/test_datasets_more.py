"""The datasets beyond folder / shapes / emoji: glyphs, idx, single-image, samples,
and the decoded-dataset cache (hits, invalidation, corruption, pruning)."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import artkit.assets
import artkit_data.folder as folder_mod
import artkit_data.glyphs as glyphs_mod
import artkit_data.samples as samples_mod
from artkit import dataset_cache as cache
from artkit.data import ImageSource, class_labels, describe
from artkit.errors import ArtkitError, UsageError
from artkit.plugins import get_registry
from artkit_data.configs import parse_chars
from artkit_data.folder import FolderDataset
from artkit_data.glyphs import GlyphsDataset, find_fonts
from artkit_data.idx import IdxDataset, read_idx, write_idx
from artkit_data.samples import SAMPLE_NAMES, SamplesDataset, sample_image
from artkit_data.shapes import ShapesDataset
from artkit_data.single_image import SingleImageDataset

#: a Yi syllable: assigned and printable, but in hardly any font (only Noto Sans Yi)
RARE = "\ua000"


@pytest.fixture(autouse=True)
def cache_home(tmp_path_factory, monkeypatch):
    """Every test gets its own empty dataset cache."""
    root = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(root))
    monkeypatch.delenv("ARTKIT_DATA_CACHE", raising=False)
    monkeypatch.delenv("ARTKIT_DATA_CACHE_MAX_GB", raising=False)
    return root / "datasets"


def _installed_font() -> str | None:
    try:
        fonts = find_fonts("")
    except UsageError:
        return None
    for preferred in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf"):
        for path in fonts:
            if os.path.basename(path) == preferred:
                return path
    for path in fonts:  # any scalable font will do
        try:
            glyphs_mod.ImageFont.truetype(path, 32)
            return path
        except OSError:
            continue
    return None


FONT = _installed_font()
needs_font = pytest.mark.skipif(
    FONT is None,
    reason=artkit.assets.skip_reason("fonts") or "no scalable font among the system fonts",
)
needs_samples = pytest.mark.skipif(
    not samples_mod.installed(),
    reason="scikit-image / scikit-learn not installed (pip install 'artkit[samples]')",
)


def _noise(h: int, w: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = (rng.random((h, w, bands)) * 255).astype(np.uint8)
    return Image.fromarray(arr.squeeze(-1) if bands == 1 else arr)


def _bump_mtime(path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def _contract(ds, n: int, r: int, c: int) -> None:
    assert isinstance(ds, ImageSource)
    arr = ds.as_array()
    assert arr.shape == (n, r, r, c) and arr.dtype == np.uint8 and arr.flags.writeable
    assert len(ds) == n
    assert ds[0].shape == (r, r, c) and ds[0].dtype == np.uint8
    np.testing.assert_array_equal(ds[-1], arr[-1])
    with pytest.raises(IndexError):
        ds[n]
    assert len(ds.fingerprint()) == 16
    assert describe(ds)["count"] == n


# -- the cache ----------------------------------------------------------------------


def test_cache_roundtrip_in_artkit_cache_dir(cache_home):
    arr = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    path = cache.store("demo", "abc123", 4, 3, arr, {"files": ["a", "b"]})
    assert path == cache_home / "demo-abc123-4-3.npy" and path.with_suffix(".json").exists()
    loaded, meta = cache.load("demo", "abc123", 4, 3)
    np.testing.assert_array_equal(loaded, arr)
    assert loaded.flags.writeable and meta == {"files": ["a", "b"]}
    assert cache.load("demo", "other", 4, 3) is None
    assert cache.load("demo", "abc123", 8, 3) is None
    assert [e["name"] for e in cache.entries()] == ["demo"]


def test_cache_can_be_turned_off(cache_home, monkeypatch):
    monkeypatch.setenv("ARTKIT_DATA_CACHE", "0")
    arr = np.zeros((1, 2, 2, 1), np.uint8)
    assert cache.store("demo", "f", 2, 1, arr) is None
    assert not cache_home.exists()


def _folder(tmp_path):
    root = tmp_path / "art"
    root.mkdir()
    for i in range(3):
        _noise(30, 40 + i, seed=i).save(root / f"{i}.png")
    (root / "bad.png").write_bytes(b"not a png")
    return root


def test_folder_cache_hit_skips_decoding(tmp_path, monkeypatch, capsys):
    root = _folder(tmp_path)
    first = FolderDataset(resolution=16, channels=3, path=str(root))
    assert not first.cache_hit
    capsys.readouterr()

    def boom(*args, **kwargs):
        raise AssertionError("decoded despite the cache")

    monkeypatch.setattr(folder_mod, "_load", boom)
    second = FolderDataset(resolution=16, channels=3, path=str(root))
    assert second.cache_hit
    np.testing.assert_array_equal(second.as_array(), first.as_array())
    assert second.files == first.files and second.skipped == first.skipped
    assert second.fingerprint() == first.fingerprint()
    assert "skipped 1 of 4 files" in capsys.readouterr().err  # still reported
    # another resolution is another entry
    with pytest.raises(AssertionError, match="decoded despite"):
        FolderDataset(resolution=8, channels=3, path=str(root))
    # cache=False always decodes
    with pytest.raises(AssertionError, match="decoded despite"):
        FolderDataset(resolution=16, channels=3, path=str(root), cache=False)


def test_folder_cache_rebuilt_when_a_file_changes(tmp_path, monkeypatch):
    root = _folder(tmp_path)
    before = FolderDataset(resolution=16, channels=3, path=str(root))
    _noise(30, 40, seed=99).save(root / "0.png")  # new content, same size
    _bump_mtime(root / "0.png")
    calls = []
    real = folder_mod._load
    monkeypatch.setattr(folder_mod, "_load", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    after = FolderDataset(resolution=16, channels=3, path=str(root))
    assert not after.cache_hit and len(calls) == 4
    assert after.fingerprint() != before.fingerprint()
    assert not np.array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    again = FolderDataset(resolution=16, channels=3, path=str(root))
    assert again.cache_hit and len(calls) == 4
    np.testing.assert_array_equal(again.as_array(), after.as_array())


def test_corrupt_cache_entries_are_rebuilt_silently(tmp_path, cache_home, capsys):
    root = _folder(tmp_path)
    good = FolderDataset(resolution=16, channels=3, path=str(root)).as_array().copy()
    (npy,) = cache_home.glob("folder-*.npy")
    side = npy.with_suffix(".json")
    capsys.readouterr()

    def corrupted(damage) -> None:
        damage()
        ds = FolderDataset(resolution=16, channels=3, path=str(root))
        assert not ds.cache_hit
        np.testing.assert_array_equal(ds.as_array(), good)
        assert "warning: could not write" not in capsys.readouterr().err
        assert FolderDataset(resolution=16, channels=3, path=str(root)).cache_hit

    corrupted(lambda: npy.write_bytes(npy.read_bytes()[:100]))  # truncated
    data = bytearray(npy.read_bytes())
    data[-1] ^= 0xFF  # one pixel flipped: the CRC notices
    corrupted(lambda: npy.write_bytes(bytes(data)))
    corrupted(lambda: side.write_text("{not json"))
    corrupted(lambda: npy.write_bytes(b"garbage"))
    corrupted(lambda: side.unlink())


def test_cache_prunes_to_the_most_recent(cache_home, monkeypatch):
    arr = np.zeros((1, 2, 2, 1), np.uint8)
    for i in range(cache.KEEP + 3):
        path = cache.store("demo", f"fp{i:02d}", 2, 1, arr)
        os.utime(path, (1000 + i, 1000 + i))  # strictly increasing use times
    names = sorted(p.name for p in cache_home.glob("*.npy"))
    assert len(names) == cache.KEEP and names[0] == "demo-fp03-2-1.npy"
    # a hit refreshes an entry, so the next store evicts another one
    assert cache.load("demo", "fp03", 2, 1) is not None
    cache.store("demo", "new", 2, 1, arr)
    assert (cache_home / "demo-fp03-2-1.npy").exists()
    assert not (cache_home / "demo-fp04-2-1.npy").exists()
    # an array over the byte budget is not stored
    monkeypatch.setenv("ARTKIT_DATA_CACHE_MAX_GB", "0.000000001")
    assert cache.store("demo", "big", 2, 1, np.zeros((4, 2, 2, 1), np.uint8)) is None
    cache.clear()
    assert not list(cache_home.iterdir())


def test_unwritable_cache_costs_one_warning(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(blocker))
    root = _folder(tmp_path)
    capsys.readouterr()
    ds = FolderDataset(resolution=8, channels=1, path=str(root))
    assert len(ds) == 3
    err = [ln for ln in capsys.readouterr().err.splitlines() if "dataset cache" in ln]
    assert len(err) == 1 and err[0].startswith("artkit: warning: could not write")


def test_cached_array_works_for_any_source(monkeypatch):
    ds = ShapesDataset(resolution=16, channels=3, count=12)
    arr = cache.cached_array(ds)
    np.testing.assert_array_equal(arr, ds.as_array())
    fresh = ShapesDataset(resolution=16, channels=3, count=12)
    monkeypatch.setattr(fresh, "render", lambda i: pytest.fail("rendered despite the cache"))
    np.testing.assert_array_equal(cache.cached_array(fresh, 16, 3), arr)
    with pytest.raises(ValueError, match="16px"):
        cache.cached_array(fresh, 32, 3)


# -- glyphs -------------------------------------------------------------------------


def test_parse_chars():
    assert len(parse_chars("A-Za-z0-9")) == 62
    assert parse_chars("a-c-") == ["a", "b", "c", "-"]
    assert parse_chars("-ab") == ["-", "a", "b"]
    assert parse_chars("aab a") == ["a", "b"]  # repeats and spaces dropped
    with pytest.raises(UsageError, match="backwards"):
        parse_chars("z-a")
    with pytest.raises(UsageError, match="at least one"):
        parse_chars("")
    with pytest.raises(UsageError, match="no visible"):
        parse_chars("   ")


@needs_font
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_glyphs_contract(channels):
    ds = GlyphsDataset(resolution=24, channels=channels, fonts=FONT, chars="A-D", cache=False)
    _contract(ds, 4, 24, channels)
    assert ds.items == [(FONT, ch) for ch in "ABCD"] and ds.skipped == []
    assert ds.label(0).startswith("A ")
    assert ds.model_defaults().get("grey", False) == (channels > 1)  # grey ink: a grey painter
    arr = ds.as_array()
    if channels == 4:  # white ink, coverage as alpha, transparent corners
        assert (arr[..., :3] == 255).all() and arr[:, 0, 0, 3].max() == 0
        assert arr[..., 3].max() == 255
    else:
        assert arr[:, 0, 0].max() == 0 and arr.max() == 255  # white on black
    again = GlyphsDataset(resolution=24, channels=channels, fonts=FONT, chars="A-D", cache=False)
    np.testing.assert_array_equal(again.as_array(), arr)
    assert again.fingerprint() == ds.fingerprint()


@needs_font
def test_glyphs_label_each_image_with_its_character():
    ds = GlyphsDataset(resolution=16, channels=1, fonts=FONT, chars=f"cA{RARE}b", cache=False)
    assert ds.class_names == ("c", "A", RARE, "b")
    # RARE is not in the font: its class number stays, with no images
    assert ds.class_labels().tolist() == [0, 1, 3]
    assert class_labels(ds).dtype == np.int64


@needs_font
def test_glyphs_skip_what_the_font_lacks():
    ds = GlyphsDataset(resolution=16, channels=1, fonts=FONT, chars=f"A{RARE}B", cache=False)
    assert [ch for _, ch in ds.items] == ["A", "B"]
    assert ds.skipped == [(f"{FONT} {RARE!r}", "not in the font")]
    assert describe(ds)["skipped"] == 1
    with pytest.raises(ArtkitError, match=r"none of the 1 fonts drew any of the 1 characters"):
        GlyphsDataset(resolution=16, channels=1, fonts=FONT, chars=RARE, cache=False)


@needs_font
def test_glyphs_fit_box_fills_and_em_keeps_proportions():
    def ink(arr):
        ys, xs = np.nonzero(arr[..., 0] > 64)
        return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1

    box = GlyphsDataset(resolution=40, channels=1, fonts=FONT, chars="xX", padding=0.1, cache=False)
    for k in range(2):
        assert max(ink(box[k])) in (31, 32, 33)  # 80% of 40
    em = GlyphsDataset(resolution=40, channels=1, fonts=FONT, chars="xX", fit="em", cache=False)
    small, big = ink(em[0])[0], ink(em[1])[0]
    assert small < 0.85 * big  # x-height below cap height
    assert em.fingerprint() != box.fingerprint()


@needs_font
def test_glyphs_invert_is_black_on_white():
    ds = GlyphsDataset(resolution=16, channels=3, fonts=FONT, chars="O", invert=True, cache=False)
    arr = ds[0]
    assert (arr[0, 0] == 255).all() and arr.min() == 0
    rgba = GlyphsDataset(resolution=16, channels=4, fonts=FONT, chars="O", invert=True, cache=False)
    assert (rgba[0][..., :3] == 0).all() and rgba[0][0, 0, 3] == 0


def test_glyphs_no_fonts_is_one_line_with_install_hint(tmp_path, monkeypatch, own_assets):
    with pytest.raises(UsageError) as info:
        GlyphsDataset(resolution=16, channels=1, fonts=str(tmp_path / "*.ttf"))
    msg = str(info.value)
    assert "\n" not in msg and "no fonts match" in msg and str(tmp_path) in msg
    assert "apt-get install fonts-dejavu-core fonts-noto-core" in msg
    assert "fonts=/path/*.ttf" in msg
    monkeypatch.setattr(artkit.assets, "SYSTEM_FONT_DIRS", (str(tmp_path),))
    with pytest.raises(UsageError, match=r"no fonts match '/usr/share/fonts/\*\*/\*\.ttf\|otf'; "):
        GlyphsDataset(resolution=16, channels=1)
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")  # the switch hides the system fonts
    assert glyphs_mod.locate_fonts() is None
    with pytest.raises(UsageError, match=r"otf' \(hidden by ARTKIT_SYSTEM_ASSETS=none\); "):
        GlyphsDataset(resolution=16, channels=1)


@needs_font
def test_glyphs_fonts_from_folder_glob_and_list(tmp_path):
    fonts = tmp_path / "fonts"
    (fonts / "sub").mkdir(parents=True)
    (fonts / "sub" / "a.ttf").write_bytes(Path(FONT).read_bytes())
    (fonts / "broken.ttf").write_bytes(b"not a font at all")
    (fonts / "link.ttf").symlink_to(fonts / "sub" / "a.ttf")  # the same file twice
    assert len(find_fonts(str(fonts))) == 2
    assert find_fonts(str(fonts / "**" / "*.ttf")) == find_fonts(str(fonts))
    assert len(find_fonts(f"{fonts / 'broken.ttf'}{os.pathsep}{FONT}")) == 2
    ds = GlyphsDataset(resolution=16, channels=1, fonts=str(fonts), chars="AB", cache=False)
    assert len(ds) == 2 and ds.skipped[0][0].endswith("broken.ttf")
    assert ds.skipped[0][1].startswith("cannot load the font")


@needs_font
def test_glyphs_cache_and_registry(monkeypatch):
    entry = get_registry("datasets").get("glyphs")
    assert [p.name for p in entry.params] == ["fonts", "chars", "fit", "padding", "size", "invert"]
    first = entry.create({"fonts": FONT, "chars": f"a-c{RARE}"}, resolution=16, channels=3)
    assert not first.cache_hit
    monkeypatch.setattr(GlyphsDataset, "_coverage", lambda *a: pytest.fail("drew again"))
    second = entry.create({"fonts": FONT, "chars": f"a-c{RARE}"}, resolution=16, channels=3)
    assert second.cache_hit and second.items == first.items and second.skipped == first.skipped
    np.testing.assert_array_equal(second.as_array(), first.as_array())
    with pytest.raises(UsageError, match="fit="):
        entry.bind({"fit": "stretch"})
    with pytest.raises(UsageError, match=r"padding=0\.6"):
        GlyphsDataset(resolution=16, channels=1, fonts=FONT, padding=0.6)


# -- idx ----------------------------------------------------------------------------


@pytest.fixture
def digits():
    rng = np.random.default_rng(0)
    return (rng.random((12, 10, 10)) * 255).astype(np.uint8)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_reads_what_write_idx_wrote(tmp_path, digits, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write_idx(path, digits)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    np.testing.assert_array_equal(read_idx(str(path))[..., 0], digits)
    grey = IdxDataset(resolution=10, channels=1, path=str(path))
    _contract(grey, 12, 10, 1)
    np.testing.assert_array_equal(grey.as_array()[..., 0], digits)
    rgb = IdxDataset(resolution=10, channels=3, path=str(path))
    assert (rgb.as_array() == digits[..., None]).all()
    rgba = IdxDataset(resolution=10, channels=4, path=str(path))
    assert (rgba[3][..., :3] == digits[3][..., None]).all() and (rgba[3][..., 3] == 255).all()
    assert grey.label(11) == f"{path.name} #11"


@pytest.mark.parametrize(
    ("resample", "tolerance"),
    [("nearest", 0), ("bilinear", 1), ("lanczos", 2)],
)
@pytest.mark.parametrize("resolution", [7, 24])
def test_idx_resizes_like_pillow(tmp_path, digits, resample, tolerance, resolution):
    write_idx(tmp_path / "x.idx", digits)
    ds = IdxDataset(
        resolution=resolution, channels=1, path=str(tmp_path / "x.idx"), resample=resample
    )
    method = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "lanczos": Image.LANCZOS}
    for i in (0, 5):
        ref = np.asarray(Image.fromarray(digits[i]).resize((resolution,) * 2, method[resample]))
        assert np.abs(ds[i][..., 0].astype(int) - ref).max() <= tolerance
        np.testing.assert_array_equal(ds[i], ds.as_array()[i])  # lazy == batched


def test_idx_options(tmp_path, digits):
    write_idx(tmp_path / "a-images-idx3-ubyte", digits[:5])
    write_idx(tmp_path / "b-images-idx3-ubyte.gz", digits[5:])
    both = IdxDataset(resolution=10, channels=1, path=str(tmp_path / "*-images-idx3-ubyte*"))
    np.testing.assert_array_equal(both.as_array()[..., 0], digits)
    assert both.label(6) == "b-images-idx3-ubyte.gz #1"
    first = IdxDataset(
        resolution=10, channels=1, path=str(tmp_path / "a-images-idx3-ubyte"), count=3
    )
    assert len(first) == 3
    inv = IdxDataset(
        resolution=10, channels=1, path=str(tmp_path / "a-images-idx3-ubyte"), invert=True
    )
    np.testing.assert_array_equal(inv.as_array()[..., 0], 255 - digits[:5])
    assert inv.fingerprint() != first.fingerprint()
    with pytest.raises(UsageError, match="count=9 is more than the 5 images"):
        IdxDataset(resolution=10, channels=1, path=str(tmp_path / "a-images-idx3-ubyte"), count=9)
    write_idx(tmp_path / "c-images-idx3-ubyte", np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(UsageError, match="differ in image size"):
        IdxDataset(resolution=8, channels=1, path=str(tmp_path / "*-images-idx3-ubyte*"))


def test_idx_non_square_and_colour(tmp_path):
    wide = np.full((2, 4, 8), 200, np.uint8)
    write_idx(tmp_path / "wide.idx", wide)
    pad = IdxDataset(
        resolution=8, channels=1, path=str(tmp_path / "wide.idx"), fit="pad", resample="nearest"
    )
    assert (pad[0][:2] == 0).all() and (pad[0][2:6] == 200).all() and (pad[0][6:] == 0).all()
    crop = IdxDataset(resolution=8, channels=1, path=str(tmp_path / "wide.idx"))
    assert (crop.as_array() == 200).all()
    stretch = IdxDataset(resolution=8, channels=1, path=str(tmp_path / "wide.idx"), fit="stretch")
    assert (stretch.as_array() == 200).all()
    colour = np.zeros((1, 4, 4, 3), np.uint8)
    colour[..., 0] = 255  # pure red
    write_idx(tmp_path / "rgb.idx", colour)
    grey = IdxDataset(resolution=4, channels=1, path=str(tmp_path / "rgb.idx"))
    assert (grey[0] == 76).all()  # ITU-R 601 luma of red, as Pillow's convert("L")
    rgb = IdxDataset(resolution=4, channels=3, path=str(tmp_path / "rgb.idx"), invert=True)
    assert (rgb[0] == (0, 255, 255)).all()


def _raw_idx(path, kind: int, dims: tuple[int, ...], payload: bytes) -> str:
    path.write_bytes(struct.pack(f">HBB{len(dims)}I", 0, kind, len(dims), *dims) + payload)
    return str(path)


def test_idx_errors_are_one_line_naming_the_file(tmp_path):
    cases = {
        "truncated": (
            _raw_idx(tmp_path / "t", 0x08, (3, 4, 4), bytes(40)),
            "is truncated: its header promises 3 images of 4x4 (48 bytes) but only 40",
        ),
        "trailing": (
            _raw_idx(tmp_path / "x", 0x08, (1, 2, 2), bytes(9)),
            "has 5 bytes after its 1 images",
        ),
        "labels": (
            _raw_idx(tmp_path / "l", 0x08, (5,), bytes(5)),
            "is an IDX label file (5 labels)",
        ),
        "floats": (_raw_idx(tmp_path / "f", 0x0D, (1, 2, 2), bytes(16)), "holds float values"),
        "magic": (str(tmp_path / "m"), "is not an IDX file (it starts with 0x89504e47"),
        "shape": (
            _raw_idx(tmp_path / "s", 0x08, (1, 2, 2, 2), bytes(8)),
            "holds an array of shape 1 x 2 x 2 x 2",
        ),
        "gzip": (str(tmp_path / "g.gz"), "is a damaged gzip file"),
        "missing": (str(tmp_path / "nope"), "does not exist"),
        "folder": (str(tmp_path), "is a folder; pass an IDX image file"),
        "glob": (str(tmp_path / "*.none"), "no files match"),
    }
    _noise(4, 4).save(tmp_path / "m", format="PNG")
    noise = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (tmp_path / "g.gz").write_bytes(gzip.compress(b"\0\0\x08\x03" + noise)[:300])
    for name, (path, expected) in cases.items():
        with pytest.raises(UsageError) as info:
            IdxDataset(resolution=8, channels=1, path=path)
        msg = str(info.value)
        assert expected in msg, (name, msg)
        assert "\n" not in msg and msg.startswith("idx dataset: ")
        if name not in ("glob",):
            assert repr(path) in msg, (name, msg)


# -- single-image -------------------------------------------------------------------


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "texture.png"
    _noise(120, 200, seed=7).save(path)
    return path


def test_single_image_crops_are_seeded_and_random_access(picture):
    ds = SingleImageDataset(resolution=16, channels=3, path=str(picture), count=40, cache=False)
    _contract(ds, 40, 16, 3)
    again = SingleImageDataset(resolution=16, channels=3, path=str(picture), count=40, cache=False)
    np.testing.assert_array_equal(again[17], ds[17])  # drawn alone, same pixels
    np.testing.assert_array_equal(again.as_array(), ds.as_array())
    other = SingleImageDataset(
        resolution=16, channels=3, path=str(picture), count=40, seed=1, cache=False
    )
    assert not np.array_equal(other.as_array(), ds.as_array())
    assert other.fingerprint() != ds.fingerprint()
    for i in range(40):
        x0, y0, x1, y1 = ds.crop_spec(i)["box"]
        side = x1 - x0
        assert side == y1 - y0 and 12 <= side <= 60  # 0.1 to 0.5 of 120
        assert x0 >= 0 and x1 <= 200 and y0 >= 0 and y1 <= 120
    assert {ds.crop_spec(i)["turns"] for i in range(40)} == {0, 1, 2, 3}


def test_single_image_without_flips_or_turns_is_a_plain_crop(picture):
    ds = SingleImageDataset(
        resolution=16, channels=3, path=str(picture), count=5, flips=False, rotations=False
    )
    with_all = SingleImageDataset(resolution=16, channels=3, path=str(picture), count=5)
    im = Image.open(picture).convert("RGB")
    for i in range(5):
        box = ds.crop_spec(i)["box"]
        assert box == with_all.crop_spec(i)["box"]  # switching transforms keeps the boxes
        ref = np.asarray(im.resize((16, 16), Image.LANCZOS, box=box, reducing_gap=2.0))
        np.testing.assert_array_equal(ds[i], ref)


def test_single_image_rgba_and_cache(tmp_path, monkeypatch):
    im = Image.new("RGBA", (64, 64), (255, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, 64, 32))
    im.save(tmp_path / "half.png")
    rgba = SingleImageDataset(resolution=8, channels=4, path=str(tmp_path / "half.png"), count=30)
    alpha = rgba.as_array()[..., 3]
    assert alpha.min() == 0 and alpha.max() == 255
    flat = SingleImageDataset(
        resolution=8, channels=3, path=str(tmp_path / "half.png"), count=30, background="black"
    )
    assert flat.as_array().max(axis=(0, 1, 2)).tolist() == [255, 0, 0]
    assert not flat.cache_hit
    fresh = SingleImageDataset(
        resolution=8, channels=3, path=str(tmp_path / "half.png"), count=30, background="black"
    )
    monkeypatch.setattr(fresh, "render", lambda i: pytest.fail("drew again"))
    np.testing.assert_array_equal(fresh.as_array(), flat.as_array())
    assert fresh.cache_hit


def test_single_image_errors(tmp_path, picture):
    with pytest.raises(UsageError, match="does not exist"):
        SingleImageDataset(resolution=8, channels=3, path=str(tmp_path / "nope.png"))
    with pytest.raises(UsageError, match="is a folder"):
        SingleImageDataset(resolution=8, channels=3, path=str(tmp_path))
    with pytest.raises(UsageError, match=r"min_scale=0\.6 is larger than max_scale=0\.5"):
        SingleImageDataset(resolution=8, channels=3, path=str(picture), min_scale=0.6)
    with pytest.raises(UsageError, match=r"max_scale=1\.5"):
        SingleImageDataset(resolution=8, channels=3, path=str(picture), max_scale=1.5)
    (tmp_path / "bad.png").write_bytes(b"junk")
    with pytest.raises(ArtkitError, match=r"bad\.png"):
        SingleImageDataset(resolution=8, channels=3, path=str(tmp_path / "bad.png"))


# -- samples ------------------------------------------------------------------------


def test_samples_without_the_extra_is_one_line(monkeypatch):
    monkeypatch.setattr(samples_mod, "_package_dir", lambda package: None)
    hint = "samples dataset: needs the optional extra: pip install 'artkit[samples]' (scikit-image / scikit-learn)"
    with pytest.raises(ArtkitError) as info:
        SamplesDataset(resolution=16, channels=3)
    assert str(info.value) == hint
    with pytest.raises(ArtkitError) as info:
        sample_image("astronaut")
    assert str(info.value) == hint
    with pytest.raises(ArtkitError, match=r"sample 'astronaut' comes with scikit-image"):
        monkeypatch.setattr(
            samples_mod, "_package_dir", lambda p: None if p == "skimage" else samples_mod.Path(".")
        )
        sample_image("astronaut")


def test_sample_names_are_validated():
    with pytest.raises(UsageError, match="unknown sample 'astronot'; did you mean 'astronaut'"):
        samples_mod.resolve_names("astronot")
    assert samples_mod.resolve_names("textures+camera") == ["brick", "grass", "gravel", "camera"]
    assert "china" in SAMPLE_NAMES and "astronaut" in SAMPLE_NAMES


@needs_samples
def test_samples_dataset_and_images():
    im = sample_image("astronaut")
    assert im.size == (512, 512) and im.mode == "RGB"
    assert sample_image("camera").mode == "L"
    names = samples_mod.available_samples()
    assert "astronaut" in names
    ds = SamplesDataset(resolution=24, channels=3)
    _contract(ds, len(names), 24, 3)
    assert ds.label(0) == "astronaut" and not ds.cache_hit
    two = SamplesDataset(resolution=24, channels=1, names="astronaut/camera")
    _contract(two, 2, 24, 1)
    crops = SamplesDataset(resolution=16, channels=3, names="astronaut", crops=5)
    _contract(crops, 5, 16, 3)
    assert crops.label(4) == "astronaut crop 4"
    again = SamplesDataset(resolution=16, channels=3, names="astronaut", crops=5)
    assert again.cache_hit
    np.testing.assert_array_equal(again.as_array(), crops.as_array())
    seeded = SamplesDataset(resolution=16, channels=3, names="astronaut", crops=5, seed=3)
    assert not np.array_equal(seeded.as_array(), crops.as_array())


@needs_samples
def test_single_image_from_a_sample():
    ds = SingleImageDataset(resolution=16, channels=3, path="sample:coffee", count=8)
    assert ds.source_size == (600, 400) and ds.file.name == "coffee.png"
    with pytest.raises(UsageError, match="unknown sample 'cofee'"):
        SingleImageDataset(resolution=16, channels=3, path="sample:cofee")


# -- every dataset ------------------------------------------------------------------


def test_new_datasets_are_listed_with_typed_params():
    reg = get_registry("datasets")
    for name in ("glyphs", "idx", "single-image", "samples"):
        entry = reg.get(name)
        assert entry.plugin == "data" and entry.params and entry.description
    assert reg.get("idx").param("path").required
    assert reg.get("idx").param("resample").choices == ("nearest", "bilinear", "lanczos")
    assert reg.get("single-image").param("min_scale").type is float
    assert reg.get("glyphs").param("invert").type is bool


def test_dataset_modules_import_nothing_heavy():
    code = (
        "import sys, artkit_data, artkit_data.configs, artkit_data.glyphs, artkit_data.idx,"
        " artkit_data.single_image, artkit_data.samples, artkit.dataset_cache;"
        "heavy = [m for m in ('torch', 'numpy', 'skimage', 'sklearn') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cache_sidecar_is_json(cache_home):
    cache.store("demo", "fp", 2, 1, np.ones((3, 2, 2, 1), np.uint8), {"k": [1, 2]})
    info = json.loads((cache_home / "demo-fp-2-1.json").read_text())
    assert info["shape"] == [3, 2, 2, 1] and info["meta"] == {"k": [1, 2]}
    assert info["version"] == cache.FORMAT_VERSION
