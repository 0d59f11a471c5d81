"""Optional system assets: ``ARTKIT_SYSTEM_ASSETS=none`` hides them all, ``artkit doctor`` lists them.

The bare leg of CI runs the whole suite with the switch on; these tests check the
switch itself (each lookup goes dark, explicit paths still work) and what a user
sees when an asset is missing: one line with the install command and what works now.
"""

from __future__ import annotations

import json

import pytest

import artkit.assets
import artkit_data.emoji as emoji_mod
import artkit_data.glyphs as glyphs_mod
from artkit.errors import UsageError
from artkit.eval import weight_paths
from artkit.testing import run_cli
from artkit_style import extractors
from tests.helpers import one_error_line

#: every asset artkit knows of on a machine with only the README's install
ASSETS = {
    "emoji-font",
    "fonts",
    "samples",
    "vgg19-weights",
    "vgg16-weights",
    "inception-weights",
    "ffmpeg",
    "gpu",
}
#: the ones the switch hides (the samples extra and the GPU are not system assets)
HIDDEN = ASSETS - {"samples", "gpu"}
EMOJI_INSTALL = "apt-get install fonts-noto-color-emoji, or pip install 'artkit[emoji]' (OpenMoji)"


@pytest.fixture(autouse=True)
def no_openmoji(monkeypatch):
    """The system's emoji font alone: the pip-installed OpenMoji (the test extras bring
    it, and the switch leaves it, as it leaves the samples) is test_emoji_dataset's."""
    monkeypatch.setattr(emoji_mod, "openmoji_font", lambda: None)


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine that has every hideable asset: fonts, cached and hub weights, imageio-ffmpeg."""
    monkeypatch.delenv("ARTKIT_SYSTEM_ASSETS", raising=False)  # CI's bare leg sets it
    fonts = tmp_path / "fonts"
    (fonts / "noto").mkdir(parents=True)
    (fonts / "noto" / "NotoColorEmoji.ttf").write_bytes(b"emoji")
    (fonts / "dejavu").mkdir()
    (fonts / "dejavu" / "DejaVuSans.ttf").write_bytes(b"font")
    monkeypatch.setattr(artkit.assets, "SYSTEM_FONT_DIRS", (str(fonts),))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    for name in ("vgg19-dcbb9e9d.pth", "vgg16-397923af.pth", weight_paths.FID_WEIGHTS):
        (hub / name).write_bytes(b"weights")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    real = artkit.assets.importlib.util.find_spec
    monkeypatch.setattr(
        artkit.assets.importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "imageio_ffmpeg" else real(name, *a),
    )
    return tmp_path


def doctor():
    result = run_cli(["doctor", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    return report, {row["name"]: row for row in report["assets"]}


def test_doctor_lists_every_asset_with_its_install_line():
    _, rows = doctor()
    assert set(rows) >= ASSETS
    for row in rows.values():
        assert row["install"], row
        assert row["found"] == (row["where"] is not None)
    assert rows["emoji-font"]["install"] == EMOJI_INSTALL
    assert rows["ffmpeg"]["install"] == "pip install 'artkit[video]'"
    assert "shapes" in rows["emoji-font"]["instead"]


def test_the_switch_hides_every_system_asset(machine, monkeypatch):
    report, rows = doctor()
    assert report["system_assets"] == "auto"
    assert {n for n in HIDDEN if rows[n]["found"]} == HIDDEN, rows
    assert rows["emoji-font"]["where"].endswith("NotoColorEmoji.ttf")

    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    report, rows = doctor()
    assert report["system_assets"] == "none"
    assert {n for n in HIDDEN if rows[n]["found"]} == set(), rows
    # and the lookups behind them
    assert artkit.assets.system_font_dirs() == []
    assert artkit.assets.which("sh") is None
    assert artkit.assets.offline()
    assert [kind for kind, _ in extractors.weight_sources("vgg19")] == [
        "cache"
    ]  # ARTKIT_CACHE_DIR set
    assert all(kind != "hub" for kind, _ in weight_paths.fid_weight_sources())


def test_the_switch_keeps_explicit_paths(machine, monkeypatch):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    font = machine / "fonts" / "dejavu" / "DejaVuSans.ttf"
    assert glyphs_mod.find_fonts(str(font)) == [str(font)]
    assert emoji_mod.find_font(str(machine / "fonts" / "noto" / "NotoColorEmoji.ttf"))
    assert extractors.weight_sources("vgg19", explicit=font) == [("file", font)]
    # the default cache (no ARTKIT_CACHE_DIR) is hidden; an explicit one is the user's choice
    monkeypatch.delenv("ARTKIT_CACHE_DIR")
    assert extractors.weight_sources("vgg19") == []


def test_text_report_names_missing_assets_and_the_switch(monkeypatch):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    result = run_cli(["doctor"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "optional assets (hidden by ARTKIT_SYSTEM_ASSETS=none)" in text
    assert "missing emoji-font" in text and f"install: {EMOJI_INSTALL}" in text
    assert "missing ffmpeg" in text and "install: pip install 'artkit[video]'" in text


def test_a_bad_switch_value_is_one_line(monkeypatch):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "maybe")
    with pytest.raises(UsageError, match="ARTKIT_SYSTEM_ASSETS='maybe': expected 'none'"):
        artkit.assets.hidden()
    result = run_cli(["doctor"])
    assert result.exit_code == 2
    assert "ARTKIT_SYSTEM_ASSETS" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("data", "install", "instead"),
    [
        ("emoji", "apt-get install fonts-noto-color-emoji", "`shapes`"),
        ("glyphs", "apt-get install fonts-dejavu-core", "`shapes`"),
    ],
)
def test_training_on_a_hidden_asset_is_one_line_naming_install_and_alternative(
    data, install, instead, monkeypatch, tmp_path
):
    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    result = run_cli(
        ["--device", "cpu", "train", "dcgan:resolution=32", "--data", data, "--steps", "1",
         "-o", str(tmp_path / "run")]
    )  # fmt: skip
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert install in line and instead in line and "hidden by ARTKIT_SYSTEM_ASSETS=none" in line
    assert not (tmp_path / "run").exists()


def test_mp4_with_the_switch_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    frames = []
    for i in range(2):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 8), (i * 100, 0, 0)).save(path)
        frames.append(str(path))
    result = run_cli(["animate", *frames, "-o", str(tmp_path / "a.mp4")])
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "pip install 'artkit[video]'" in line and ".gif" in line
    assert not (tmp_path / "a.mp4").exists()


def test_conformance_skips_a_component_whose_asset_is_missing(monkeypatch):
    from artkit.testing import check_dataset

    monkeypatch.setenv("ARTKIT_SYSTEM_ASSETS", "none")
    with pytest.raises(pytest.skip.Exception, match="emoji: needs a colour emoji font"):
        check_dataset("emoji")


def test_lookups_are_logged_for_the_bare_leg(tmp_path, monkeypatch):
    """CI reruns, with the switch on, every test file that looked up an optional asset."""
    log = tmp_path / "lookups"
    monkeypatch.setenv(artkit.assets.LOOKUP_LOG, str(log))
    artkit.assets.system_font_dirs()
    result = run_cli(["doctor", "--json"])  # in-process: PYTEST_CURRENT_TEST names this file
    assert result.exit_code == 0
    assert set(log.read_text().split()) == {"tests/test_assets.py"}
