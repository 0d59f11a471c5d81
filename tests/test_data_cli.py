"""``artkit data info | preview | cache``: inspecting datasets from the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from artkit.images import read_provenance
from artkit.testing import run_cli
from tests.helpers import read_image
from tests.test_startup import heavy_modules_after


@pytest.fixture(autouse=True)
def cache_home(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(root))
    monkeypatch.delenv("ARTKIT_DATA_CACHE", raising=False)
    return root / "datasets"


@pytest.fixture
def art(tmp_path):
    root = tmp_path / "art"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i, (w, h, mode) in enumerate([(40, 30, "RGB"), (90, 20, "RGB"), (16, 16, "L")]):
        bands = 1 if mode == "L" else 3
        arr = (rng.random((h, w, bands)) * 255).astype(np.uint8)
        Image.fromarray(arr.squeeze(-1) if bands == 1 else arr).save(root / f"{i}.png")
    (root / "broken.png").write_bytes(b"junk")
    (root / "empty.jpg").write_bytes(b"")
    return root


def _rows(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        if line and not line.startswith(" "):
            key, value = re.split(r"\s{2,}", line, maxsplit=1)
            rows[key] = value
    return rows


def test_info_folder_text(art):
    result = run_cli(["data", "info", f"folder:path={art}", "-r", "16"])
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert rows["count"] == "3" and rows["resolution"] == "16" and rows["channels"] == "3"
    assert rows["skipped"] == "2" and rows["source_modes"] == "RGB: 2, L: 1"
    assert rows["source_min_size"] == "16x16" and rows["source_max_size"] == "90x20"
    assert rows["cache"].startswith("stored (")
    assert "  " + str(art / "broken.png") + ": cannot identify image file" in result.stdout
    again = run_cli(["data", "info", f"folder:path={art}", "-r", "16"])
    assert _rows(again.stdout)["cache"].startswith("hit (")


def test_info_json_and_skipped_limit(art):
    result = run_cli(["data", "info", f"folder:path={art}", "--json", "--skipped", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["count"] == 3 and report["skipped"] == 2 and report["resolution"] == 64
    assert len(report["skipped_first"]) == 1
    assert report["source_modes"] == {"RGB": 2, "L": 1}
    assert report["source_min_size"] == "16x16" and report["source_max_size"] == "90x20"
    assert len(report["fingerprint"]) == 16 and report["cache"]["state"] == "stored"


def test_info_shapes_and_idx(tmp_path):
    result = run_cli(["data", "info", "shapes:count=10", "--channels", "1", "--json"])
    report = json.loads(result.stdout)
    assert report["count"] == 10 and report["channels"] == 1 and report["skipped"] == 0
    from artkit_data.idx import write_idx

    write_idx(tmp_path / "d.idx.gz", np.zeros((5, 8, 6), np.uint8))
    result = run_cli(["data", "info", f"idx:path={tmp_path / 'd.idx.gz'}", "--json"])
    report = json.loads(result.stdout)
    assert report["count"] == 5 and report["source_shape"] == "6x8x1"


def test_preview_writes_a_sheet_with_provenance(tmp_path):
    out = tmp_path / "sheet.png"
    result = run_cli(
        ["data", "preview", "shapes:count=30", "-n", "9", "-r", "16", "--gap", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    im = read_image(out)
    assert im.size == (3 * 17 + 1, 3 * 17 + 1)
    meta = read_provenance(out)
    assert meta["command"] == "data preview" and meta["dataset"] == "shapes:count=30"
    assert meta["indices"] == list(range(9)) and meta["count"] == 30 and meta["shown"] == 9

    shuffled = tmp_path / "shuffled.png"
    run_cli(
        [
            "data",
            "preview",
            "shapes:count=30",
            "-n",
            "9",
            "-r",
            "16",
            "--shuffle",
            "--seed",
            "3",
            "-o",
            str(shuffled),
        ]
    )
    picked = read_provenance(shuffled)["indices"]
    assert picked != list(range(9)) and len(set(picked)) == 9 and picked == sorted(picked)
    again = tmp_path / "again.png"
    run_cli(
        [
            "data",
            "preview",
            "shapes:count=30",
            "-n",
            "9",
            "-r",
            "16",
            "--shuffle",
            "--seed",
            "3",
            "-o",
            str(again),
        ]
    )
    assert read_provenance(again)["indices"] == picked
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(shuffled)))


def test_preview_more_than_available_labels_and_json(art, tmp_path):
    out = tmp_path / "folder.webp"
    result = run_cli(
        [
            "data",
            "preview",
            f"folder:path={art}",
            "-n",
            "64",
            "-r",
            "24",
            "--labels",
            "--json",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"path": str(out)}
    assert read_provenance(out)["shown"] == 3
    assert read_image(out).height > 24 + 4  # a label band under the cells


def test_preview_usage_errors(tmp_path):
    bad = run_cli(["data", "preview", "shapes", "-o", str(tmp_path / "x.bmp")])
    assert bad.exit_code == 2 and "cannot write a contact sheet as '.bmp'" in bad.stderr
    unknown = run_cli(["data", "preview", "shapez", "-o", str(tmp_path / "x.png")])
    assert unknown.exit_code == 2 and "did you mean 'shapes'" in unknown.stderr
    param = run_cli(["data", "info", "shapes:colour=red"])
    assert param.exit_code == 2 and "unknown parameter" in param.stderr
    zero = run_cli(["data", "preview", "shapes", "-n", "0", "-o", str(tmp_path / "x.png")])
    assert zero.exit_code == 2


def test_missing_fonts_is_one_line_with_what_to_install(tmp_path):
    result = run_cli(["data", "info", f"glyphs:fonts={tmp_path}/*.ttf"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("artkit: error: glyphs dataset: no fonts match")
    assert "apt-get install" in lines[0]


def test_cache_listing_and_clear(art, cache_home):
    run_cli(["data", "info", f"folder:path={art}", "-r", "8"])
    listing = run_cli(["data", "cache", "--json"])
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["name"] == "folder" and rows[0]["shape"] == [3, 8, 8, 3]
    assert "3x8x8x3" in run_cli(["data", "cache"]).stdout
    cleared = run_cli(["data", "cache", "--clear"])
    assert cleared.exit_code == 0 and "removed 1 cached datasets" in cleared.stderr
    assert not list(cache_home.glob("*.npy"))
    assert run_cli(["data", "cache", "--json"]).stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["data", "info", "shapes:count=8", "-r", "8"],
        ["data", "preview", "shapes:count=8", "-r", "8", "-n", "4", "-o", "{out}"],
    ],
)
def test_data_commands_do_not_import_torch(args, tmp_path):
    args = [a.format(out=tmp_path / "p.png") for a in args]
    heavy, result = heavy_modules_after(*args)
    assert result.returncode == 0, result.stderr
    assert "torch" not in heavy, heavy
