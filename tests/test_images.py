"""artkit.images: decoding to predictable modes, atomic writes, provenance round trips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from artkit.errors import ArtkitError, ImageError, UsageError
from artkit.images import (
    IMAGE_SUFFIXES,
    format_for_path,
    image_info,
    is_image_path,
    load_image,
    read_provenance,
    save_image,
)

REPO = Path(__file__).resolve().parents[1]

TRICKY = {
    "model": "dcgan",
    "prompt": "ünïcödé — \"quotes\" 'single' <tag> & ampersand ]]> 🎨",
    "seed": 123456789012,
    "options": {"truncation": 0.7, "tags": ["a", "b"], "none": None, "ok": True},
    "chain": [{"name": "palette", "params": {"colors": 8}}],
    "control": "tab\there\nnewline\r\x00nul\x7f",
}


def gradient(size=(16, 12), mode="RGB") -> Image.Image:
    w, h = size
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    arr[..., 2] = 77
    return Image.fromarray(arr).convert(mode)


def leftover_temps(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name]


# --------------------------------------------------------------------------- helpers


def test_suffix_helpers():
    assert ".png" in IMAGE_SUFFIXES and ".tiff" in IMAGE_SUFFIXES
    assert is_image_path("a/b/C.JPG") and is_image_path(Path("x.webp"))
    assert not is_image_path("notes.txt") and not is_image_path("png")
    assert format_for_path("x.png") == "PNG"
    assert format_for_path("x.WebP") == "WEBP"
    assert format_for_path("x.jpg") == format_for_path("x.jpeg") == "JPEG"
    for bad in ("x.gif", "x.bmp", "noext"):
        with pytest.raises(UsageError, match=r"use \.png, \.webp or \.jpg"):
            format_for_path(bad)


# --------------------------------------------------------------------------- provenance


@pytest.mark.parametrize("suffix", [".png", ".webp", ".jpg", ".jpeg"])
def test_provenance_round_trip(tmp_path, suffix):
    path = save_image(gradient(), tmp_path / f"img{suffix}", provenance=TRICKY)
    assert path == tmp_path / f"img{suffix}"
    assert read_provenance(path) == TRICKY
    assert read_provenance(str(path)) == TRICKY
    info = image_info(path)
    assert info["provenance"] == TRICKY
    assert (info["width"], info["height"]) == (16, 12)
    assert info["format"] == {".png": "PNG", ".webp": "WEBP"}.get(suffix, "JPEG")


def test_provenance_from_opened_and_loaded_images(tmp_path):
    path = save_image(gradient(), tmp_path / "a.png", provenance={"seed": 1})
    with Image.open(path) as im:
        assert read_provenance(im) == {"seed": 1}
    assert read_provenance(load_image(path)) == {"seed": 1}


def test_no_provenance_is_none(tmp_path):
    for suffix in (".png", ".webp", ".jpg"):
        path = save_image(gradient(), tmp_path / f"plain{suffix}")
        assert read_provenance(path) is None
        assert image_info(path)["provenance"] is None
    # A foreign tool's XMP without our element is not provenance either.
    foreign = tmp_path / "foreign.webp"
    gradient().save(foreign, xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>')
    assert read_provenance(foreign) is None


def test_resaving_without_provenance_drops_the_old_one(tmp_path):
    for suffix in (".png", ".webp", ".jpg"):
        src = save_image(gradient(), tmp_path / f"src{suffix}", provenance={"old": 1})
        again = save_image(load_image(src), tmp_path / f"again{suffix}")
        assert read_provenance(again) is None


def test_provenance_as_xmp_attribute_is_read(tmp_path):
    # Editors such as exiftool may rewrite a simple XMP property as an attribute.
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:artkit="https://artkit.dev/ns/1.0/" '
        'artkit:provenance="{&quot;seed&quot;:7,&quot;s&quot;:&quot;&lt;&amp;&gt;&quot;}"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    path = tmp_path / "attr.webp"
    gradient().save(path, xmp=xmp.encode())
    assert read_provenance(path) == {"seed": 7, "s": "<&>"}


def test_corrupt_provenance_is_an_image_error(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("artkit", "{not json")
    path = tmp_path / "bad.png"
    gradient().save(path, pnginfo=info)
    with pytest.raises(ImageError, match="corrupt artkit provenance"):
        read_provenance(path)


def test_provenance_too_large_for_jpeg(tmp_path):
    with pytest.raises(ImageError, match=r"XMP limit.*\.png"):
        save_image(gradient(), tmp_path / "big.jpg", provenance={"x": "y" * 70000})
    assert list(tmp_path.iterdir()) == []
    save_image(gradient(), tmp_path / "big.png", provenance={"x": "y" * 70000})
    assert read_provenance(tmp_path / "big.png") == {"x": "y" * 70000}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
provenances = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(provenance=provenances)
def test_provenance_round_trip_property(tmp_path, provenance):
    small = Image.new("RGB", (4, 4), (10, 20, 30))
    for suffix in (".png", ".webp", ".jpg"):
        path = save_image(small, tmp_path / f"p{suffix}", provenance=provenance)
        assert read_provenance(path) == provenance


def test_reading_provenance_imports_neither_torch_nor_numpy(tmp_path):
    path = save_image(gradient(), tmp_path / "a.webp", provenance={"seed": 3})
    probe = (
        "import sys; from artkit.images import read_provenance, image_info; "
        f"assert read_provenance({str(path)!r}) == {{'seed': 3}}; "
        f"image_info({str(path)!r}); "
        "print(sorted(m for m in ('torch', 'numpy', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- saving


def test_png_is_byte_deterministic(tmp_path):
    prov = {"b": 2, "a": [1, "ü"], "seed": 42}
    reordered = {"seed": 42, "a": [1, "ü"], "b": 2}
    a = save_image(gradient(), tmp_path / "a.png", provenance=prov)
    b = save_image(gradient(), tmp_path / "sub" / "b.png", provenance=reordered)
    assert a.read_bytes() == b.read_bytes()
    # and in a fresh interpreter (no per-process state such as time leaks in)
    probe = (
        "import numpy as np; from PIL import Image; from artkit.images import save_image; "
        "from tests.test_images import gradient; "
        f"save_image(gradient(), {str(tmp_path / 'c.png')!r}, provenance={prov!r})"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=REPO, check=True, timeout=60)
    assert (tmp_path / "c.png").read_bytes() == a.read_bytes()
    assert b"tIME" not in a.read_bytes()


def test_save_creates_parents_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "deep" / "er" / "out.png"
    assert save_image(gradient(), target) == target
    assert load_image(target).size == (16, 12)
    assert leftover_temps(target.parent) == []


def test_save_overwrites_atomically(tmp_path):
    target = tmp_path / "out.png"
    save_image(Image.new("RGB", (4, 4), "red"), target)
    save_image(Image.new("RGB", (4, 4), "blue"), target)
    assert load_image(target).getpixel((0, 0)) == (0, 0, 255)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_failed_save_keeps_previous_file_and_removes_temp(tmp_path):
    target = tmp_path / "out.png"
    save_image(Image.new("RGB", (4, 4), "red"), target, provenance={"v": 1})
    before = target.read_bytes()
    # Pillow fails half-way through writing the PNG: tRNS for RGB must be a tuple.
    broken = Image.new("RGB", (4, 4), "blue")
    broken.info["transparency"] = 7
    with pytest.raises(ImageError, match=r"cannot write image .*out\.png.*transparency"):
        save_image(broken, target)
    assert target.read_bytes() == before
    assert leftover_temps(tmp_path) == []


def test_too_large_for_format_is_an_image_error(tmp_path):
    target = tmp_path / "wide.webp"
    save_image(Image.new("RGB", (4, 4)), target)
    before = target.read_bytes()
    with pytest.raises(ImageError, match=r"too large for WEBP"):
        save_image(Image.new("RGB", (16384, 1)), target)
    assert target.read_bytes() == before
    assert leftover_temps(tmp_path) == []


def test_save_format_and_quality_usage_errors(tmp_path):
    with pytest.raises(UsageError, match=r"unsupported format '\.gif'"):
        save_image(gradient(), tmp_path / "x.gif")
    with pytest.raises(UsageError, match="unsupported image format 'tiff'"):
        save_image(gradient(), tmp_path / "x.png", format="tiff")
    with pytest.raises(UsageError, match="quality"):
        save_image(gradient(), tmp_path / "x.jpg", quality=101)
    assert list(tmp_path.iterdir()) == []


def test_explicit_format_wins_over_suffix(tmp_path):
    path = save_image(gradient(), tmp_path / "noext", format="jpg", provenance={"k": 1})
    with Image.open(path) as im:
        assert im.format == "JPEG"
    assert read_provenance(path) == {"k": 1}


def test_unwritable_target_is_an_image_error(tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageError, match=r"cannot write image .*dir\.png"):
        save_image(gradient(), tmp_path / "dir.png")
    assert leftover_temps(tmp_path) == []


def test_jpeg_flattens_alpha_on_white(tmp_path):
    im = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    path = save_image(im, tmp_path / "a.jpg")
    r, g, b = load_image(path).getpixel((4, 4))
    assert min(r, g, b) > 245


def test_webp_keeps_alpha_and_greyscale_becomes_rgb(tmp_path):
    rgba = save_image(Image.new("RGBA", (8, 8), (0, 0, 255, 0)), tmp_path / "a.webp")
    assert load_image(rgba, mode=None).mode == "RGBA"
    grey = save_image(Image.new("L", (8, 8), 128), tmp_path / "g.webp")
    assert load_image(grey, mode=None).mode == "RGB"


def test_png_keeps_16_bit(tmp_path):
    deep = Image.fromarray(np.array([[0, 1000, 65535]], dtype=np.uint16))
    path = save_image(deep, tmp_path / "deep.png")
    assert image_info(path)["mode"] == "I;16"


# --------------------------------------------------------------------------- loading


def test_exif_orientation_is_applied(tmp_path):
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif, quality=95)

    im = load_image(path)
    assert im.size == (20, 40)
    # Rotating clockwise moves the left half to the top.
    top, bottom = im.getpixel((10, 5)), im.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    info = image_info(path)
    assert (info["width"], info["height"]) == (20, 40)


def test_16_bit_greyscale_scales_instead_of_clipping(tmp_path):
    values = np.array([[0, 257, 32896, 65535, 1000, 128]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as raw:
        assert raw.mode.startswith("I")
    grey = load_image(path, mode=None)
    assert grey.mode == "L"
    assert list(np.asarray(grey)[0]) == [0, 1, 128, 255, 4, 0]
    rgb = load_image(path)
    assert rgb.mode == "RGB" and rgb.getpixel((2, 0)) == (128, 128, 128)


def test_32_bit_integer_greyscale(tmp_path):
    path = tmp_path / "i32.tif"
    Image.fromarray(np.array([[-5, 65535, 70000, 257]], dtype=np.int32)).save(path)
    assert list(np.asarray(load_image(path, mode="L"))[0]) == [0, 255, 255, 1]


def test_palette_with_transparency_becomes_rgba(tmp_path):
    im = Image.new("P", (4, 4), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((0, 0), 1)
    path = tmp_path / "pal.png"
    im.save(path, transparency=0)

    rgba = load_image(path, mode=None)
    assert rgba.mode == "RGBA"
    assert rgba.getpixel((1, 1))[3] == 0
    assert rgba.getpixel((0, 0)) == (0, 255, 0, 255)
    assert "transparency" not in rgba.info
    # Dropping alpha composites on the background: white by default, or as asked.
    assert load_image(path).getpixel((1, 1)) == (255, 255, 255)
    assert load_image(path, background=(0, 0, 0)).getpixel((1, 1)) == (0, 0, 0)
    assert load_image(path, background="navy").getpixel((1, 1)) == (0, 0, 128)
    assert load_image(path, mode="L").getpixel((1, 1)) == 255


def test_palette_without_transparency_becomes_rgb(tmp_path):
    im = Image.new("P", (2, 2), 0)
    im.putpalette([10, 20, 30] + [0] * 765)
    path = tmp_path / "pal.gif"
    im.save(path)
    loaded = load_image(path, mode=None)
    assert loaded.mode == "RGB" and loaded.getpixel((0, 0)) == (10, 20, 30)


def test_cmyk_becomes_rgb(tmp_path):
    im = Image.new("CMYK", (2, 1), (0, 0, 0, 0))
    im.putpixel((1, 0), (0, 255, 255, 0))
    path = tmp_path / "print.tif"
    im.save(path)
    rgb = load_image(path, mode=None)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((1, 0)) == (255, 0, 0)


def test_la_and_bilevel_and_modes(tmp_path):
    la = Image.new("LA", (2, 2), (100, 0))
    path = tmp_path / "la.png"
    la.save(path)
    assert load_image(path, mode=None).mode == "RGBA"
    assert load_image(path, mode="L").getpixel((0, 0)) == 255  # transparent on white
    assert load_image(path, mode="RGBA").getpixel((0, 0)) == (100, 100, 100, 0)

    bilevel = tmp_path / "one.png"
    Image.new("1", (2, 2), 1).save(bilevel)
    assert load_image(bilevel, mode=None).mode == "L"

    with pytest.raises(UsageError, match="unsupported image mode 'CMYK'"):
        load_image(path, mode="CMYK")


def test_loaded_image_is_detached_from_the_file(tmp_path):
    path = save_image(gradient(), tmp_path / "a.png")
    im = load_image(path)
    path.unlink()
    assert im.getpixel((0, 0)) == gradient().getpixel((0, 0))


def _assert_one_line(exc: ArtkitError, name: str):
    msg = str(exc)
    assert "\n" not in msg
    assert repr(name) in msg


def test_missing_directory_and_non_image(tmp_path):
    cases = {
        tmp_path / "missing.png": "no such file",
        tmp_path: "is a directory",
        tmp_path / "notes.png": "not an image file",
    }
    (tmp_path / "notes.png").write_text("hello, I am text\n")
    for path, why in cases.items():
        for read in (load_image, read_provenance, image_info):
            with pytest.raises(ImageError, match=why) as err:
                read(path)
            _assert_one_line(err.value, str(path))
            assert str(err.value).startswith(f"cannot read image {str(path)!r}: ")


def test_truncated_png(tmp_path):
    data = (save_image(gradient((64, 64)), tmp_path / "full.png")).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated") as err:
        load_image(path)
    _assert_one_line(err.value, str(path))


def test_corrupt_image_data(tmp_path):
    data = bytearray(save_image(gradient((64, 64)), tmp_path / "full.png").read_bytes())
    data[100:160] = b"\xff" * 60  # garbage inside the compressed pixel data
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError) as err:
        load_image(path)
    _assert_one_line(err.value, str(path))


@pytest.mark.parametrize("limit", [1000, 3000])  # over 2x the limit (error), over 1x (warning)
def test_decompression_bomb_is_an_image_error(tmp_path, monkeypatch, limit):
    path = save_image(gradient((64, 64)), tmp_path / "bomb.png")  # 4096 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    for read in (load_image, read_provenance, image_info):
        with pytest.raises(ImageError, match="too large to decode safely") as err:
            read(path)
        _assert_one_line(err.value, str(path))
        assert "4,096 pixels" in str(err.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    assert load_image(path).size == (64, 64)


def test_image_info_fields(tmp_path):
    path = save_image(Image.new("RGBA", (7, 5)), tmp_path / "i.png", provenance={"a": 1})
    assert image_info(path) == {
        "path": str(path),
        "format": "PNG",
        "width": 7,
        "height": 5,
        "mode": "RGBA",
        "frames": 1,
        "provenance": {"a": 1},
    }


def test_temp_file_name_is_hidden_and_unique(tmp_path):
    # Two saves to the same target from this process must not share a temp name:
    # the name carries the pid and a random part, and is created exclusively.
    from artkit.images import _atomic_write

    names = []

    def record(fp):
        names.append(Path(fp.name).name)
        fp.write(b"x")

    for _ in range(3):
        _atomic_write(tmp_path / "f.bin", record)
    assert len(set(names)) == 3
    assert all(n.startswith(f".f.bin.tmp-{os.getpid()}-") for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_png_text_after_the_pixels_is_found(tmp_path):
    # Other tools may write their text chunks after IDAT; splice one in before IEND.
    import struct
    import zlib

    data = save_image(gradient(), tmp_path / "plain.png").read_bytes()
    body = b"artkit\0\0\0\0\0" + json.dumps({"seed": 9}).encode()
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body))
    iend = data.rindex(b"IEND") - 4
    path = tmp_path / "late.png"
    path.write_bytes(data[:iend] + chunk + data[iend:])
    assert data.index(b"IDAT") < path.read_bytes().index(b"iTXt")
    assert read_provenance(path) == {"seed": 9}
    assert image_info(path)["provenance"] == {"seed": 9}
