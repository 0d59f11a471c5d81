"""``artkit grid`` and ``artkit animate``: contact sheets and animations from the command line.

Inputs from arguments and from stdin (plain paths and JSON records), labels from
provenance / records / file names, layout options, one-line errors, animation frame
count, timing, looping and boomerang, provenance in the outputs, no torch at start-up,
and a real ``artkit sample | artkit grid`` shell pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import artkit.assets
from artkit.animation import read_frames
from artkit.grid import make_grid
from artkit.images import load_image, read_provenance, save_image
from artkit.testing import requires_asset, run_cli

HAS_FFMPEG = artkit.assets.find_module("imageio_ffmpeg")
SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_COLOR": "1"}
COLOURS = ["red", "lime", "blue", "yellow", "cyan", "magenta", "black", "gray"]


def _images(folder, n=4, size=(10, 8), provenance=None):
    """``n`` PNGs of distinct flat colours; ``provenance(i)`` gives each one's metadata."""
    paths = []
    for i in range(n):
        im = Image.new("RGB", size, COLOURS[i % len(COLOURS)])
        path = folder / f"img{i:02d}.png"
        if provenance is None:
            im.save(path)
        else:
            save_image(im, path, provenance=provenance(i))
        paths.append(path)
    return paths


def _expected(paths, labels=None, **kwargs):
    return make_grid([load_image(p, mode=None) for p in paths], labels=labels, **kwargs)


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes()


def _one_line_error(result, code):
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("artkit: error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


# --------------------------------------------------------------------------- grid


def test_grid_from_arguments_layout_and_output(tmp_path):
    paths = _images(tmp_path, 6)
    out = tmp_path / "sheet.png"
    result = run_cli(["grid", *map(str, paths), "--cols", "3", "--gap", "4", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}\n"
    sheet = load_image(out, mode=None)
    # columns * (cell_w + gap) + gap by rows * (cell_h + gap) + gap
    assert sheet.size == (3 * (10 + 4) + 4, 2 * (8 + 4) + 4)
    assert sheet.getpixel((0, 0)) == (255, 255, 255)
    assert sheet.getpixel((4, 4)) == (255, 0, 0)
    assert sheet.getpixel((4 + 14, 4)) == (0, 255, 0)
    assert sheet.getpixel((4, 4 + 12)) == (255, 255, 0)
    assert _same(sheet, _expected(paths, columns=3, padding=4))


def test_grid_defaults_cols_sqrt_gap_2_white(tmp_path):
    paths = _images(tmp_path, 5)
    out = tmp_path / "sheet.png"
    assert run_cli(["grid", *map(str, paths), "-o", str(out)]).exit_code == 0
    sheet = load_image(out, mode=None)
    assert sheet.size == (3 * 12 + 2, 2 * 10 + 2)  # ceil(sqrt(5)) = 3 columns, 2 rows
    assert _same(sheet, _expected(paths))


def test_grid_background_colour_names_and_hex(tmp_path):
    paths = _images(tmp_path, 2)
    for colour, corner in [("navy", (0, 0, 128)), ("#123456", (0x12, 0x34, 0x56))]:
        out = tmp_path / "bg.png"
        assert run_cli(["grid", *map(str, paths), "--bg", colour, "-o", str(out)]).exit_code == 0
        assert load_image(out, mode=None).getpixel((0, 0)) == corner
    out = tmp_path / "clear.png"
    assert run_cli(["grid", *map(str, paths), "--bg", "#00000000", "-o", str(out)]).exit_code == 0
    sheet = load_image(out, mode=None)
    assert sheet.mode == "RGBA" and sheet.getpixel((0, 0)) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--bg", "not-a-colour"], "--bg 'not-a-colour': not a colour"),
        (["--cols", "0"], "--cols"),
        (["--gap", "-1"], "--gap"),
        (["--thumb", "0"], "--thumb"),
        (["--labels", "size"], "--labels 'size'"),
        (["--labels", "meta:"], "--labels"),
        (["-o", "sheet.gif"], "contact sheet"),
    ],
)
def test_grid_usage_errors_are_one_line_exit_2(tmp_path, args, fragment):
    paths = _images(tmp_path, 2)
    args = ["-o", str(tmp_path / "sheet.png"), *args]
    result = run_cli(["grid", *map(str, paths), *args])
    assert fragment in _one_line_error(result, 2)
    assert not (tmp_path / "sheet.png").exists()


def test_grid_from_stdin_plain_paths_and_json_records(tmp_path):
    paths = _images(tmp_path, 4)
    out = tmp_path / "a.png"
    result = run_cli(["grid", "-o", str(out)], input="".join(f"{p}\n" for p in paths))
    assert result.exit_code == 0, result.stderr
    assert _same(load_image(out, mode=None), _expected(paths))

    # JSON records: labels fall back to their fields when the images have no provenance
    lines = "".join(
        json.dumps({"path": str(p), "seed": 100 + i}) + "\n" for i, p in enumerate(paths)
    )
    out = tmp_path / "b.png"
    result = run_cli(["grid", "--labels", "seed", "--json", "-o", str(out)], input=lines)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"path": str(out)}
    expected = _expected(paths, labels=["100", "101", "102", "103"])
    assert _same(load_image(out, mode=None), expected)
    unlabelled = _expected(paths)
    assert expected.height > unlabelled.height  # a text band under each row


def test_grid_labels_seed_from_provenance_wins_over_record(tmp_path):
    paths = _images(tmp_path, 3, provenance=lambda i: {"seed": i * 7, "model": "dcgan"})
    lines = "".join(json.dumps({"path": str(p), "seed": 999}) + "\n" for p in paths)
    out = tmp_path / "s.png"
    result = run_cli(["grid", "--labels", "seed", "-o", str(out)], input=lines)
    assert result.exit_code == 0, result.stderr
    assert _same(load_image(out, mode=None), _expected(paths, labels=["0", "7", "14"]))


def test_grid_labels_name_and_meta(tmp_path):
    paths = _images(
        tmp_path,
        3,
        provenance=lambda i: (
            {"model": f"m{i}", "config": {"z_dim": 8 * (i + 1)}} if i < 2 else {"model": "m2"}
        ),
    )
    cases = {
        "name": ["img00", "img01", "img02"],
        "meta:model": ["m0", "m1", "m2"],
        "meta:config.z_dim": ["8", "16", ""],  # missing -> blank
        "meta:config": ['{"z_dim":8}', '{"z_dim":16}', ""],
        "seed": ["", "", ""],  # no seed anywhere -> blank, not an error
    }
    for spec, labels in cases.items():
        out = tmp_path / "labels.png"
        result = run_cli(["grid", *map(str, paths), "--labels", spec, "-o", str(out)])
        assert result.exit_code == 0, (spec, result.stderr)
        assert _same(load_image(out, mode=None), _expected(paths, labels=labels)), spec
    # the label text really is drawn: different labels, different pixels
    a = _expected(paths, labels=["m0", "m1", "m2"])
    assert not _same(a, _expected(paths, labels=["8", "16", ""]))


def test_grid_provenance_of_the_sheet(tmp_path):
    paths = _images(tmp_path, 3)
    out = tmp_path / "sheet.webp"
    result = run_cli(["grid", *map(str, paths), "--labels", "name", "--cols", "2", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    prov = read_provenance(out)
    assert prov["command"] == "grid" and prov["artkit"]
    assert prov["sources"] == [str(p) for p in paths] and prov["source_count"] == 3
    assert prov["labels"] == "name" and prov["columns"] == 2


def test_grid_thumb_shrinks_cells(tmp_path):
    paths = _images(tmp_path, 4, size=(40, 20))
    out = tmp_path / "t.png"
    result = run_cli(["grid", *map(str, paths), "--thumb", "10", "--gap", "0", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert load_image(out).size == (2 * 10, 2 * 5)  # aspect kept, 40x20 -> 10x5


def test_grid_auto_thumb_keeps_the_sheet_within_budget(tmp_path, monkeypatch):
    from artkit.cli import sheets

    monkeypatch.setattr(sheets, "SHEET_PIXEL_BUDGET", 20_000)
    paths = _images(tmp_path, 16, size=(64, 64))
    out = tmp_path / "auto.png"
    result = run_cli(["grid", *map(str, paths), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    sheet = load_image(out)
    assert sheet.width * sheet.height <= 20_000
    assert "shrinking" in result.stderr
    assert read_provenance(out)["thumb"] < 64


def test_grid_empty_input_is_a_usage_error(tmp_path):
    out = tmp_path / "sheet.png"
    result = run_cli(["grid", "-o", str(out)], input="")
    assert "no input images" in _one_line_error(result, 2)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(["grid", str(empty), "-o", str(out)])
    assert "no input images" in _one_line_error(result, 2)
    assert not out.exists()


def test_grid_unreadable_image_names_the_file(tmp_path):
    paths = _images(tmp_path, 2)
    bad = tmp_path / "broken.png"
    bad.write_text("not a picture")
    out = tmp_path / "sheet.png"
    result = run_cli(["grid", str(paths[0]), str(bad), str(paths[1]), "-o", str(out)])
    assert "broken.png" in _one_line_error(result, 1)
    result = run_cli(["grid", str(tmp_path / "missing.png"), "-o", str(out)])
    assert "missing.png" in _one_line_error(result, 1)
    assert not out.exists()


# --------------------------------------------------------------------------- animate


def _frames(folder, n=5, size=(12, 10), seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"f{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _arrays(images):
    return [np.asarray(im.convert("RGB")) for im in images]


def test_animate_apng_lossless_round_trip_with_provenance(tmp_path):
    paths = _frames(tmp_path, 5)
    out = tmp_path / "a.png"
    result = run_cli(["animate", *map(str, paths), "--fps", "10", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}\n"
    frames = read_frames(out)
    assert len(frames) == 5
    for got, want in zip(_arrays(frames), _arrays(map(load_image, paths)), strict=True):
        assert np.array_equal(got, want)
    assert [f.info["duration"] for f in frames] == [100] * 5
    assert frames[0].info.get("loop") == 0
    prov = read_provenance(out)
    assert prov["command"] == "animate" and prov["fps"] == 10 and prov["frames"] == 5
    assert prov["sources"] == [str(p) for p in paths]


def test_animate_gif_fps_and_loop(tmp_path):
    paths = _frames(tmp_path, 4)
    out = tmp_path / "a.gif"
    assert run_cli(["animate", *map(str, paths), "--fps", "20", "-o", str(out)]).exit_code == 0
    frames = read_frames(out)
    assert len(frames) == 4
    assert sum(f.info["duration"] for f in frames) == 200  # 4 frames at 20 fps
    assert frames[0].info.get("loop") == 0
    once = tmp_path / "once.gif"
    assert run_cli(["animate", *map(str, paths), "--no-loop", "-o", str(once)]).exit_code == 0
    assert "loop" not in read_frames(once)[0].info  # no NETSCAPE block: play once
    webp = tmp_path / "once.webp"
    assert run_cli(["animate", *map(str, paths), "--no-loop", "-o", str(webp)]).exit_code == 0
    with Image.open(webp) as im:
        assert im.n_frames == 4 and im.info.get("loop") == 1


def test_animate_boomerang_and_stdin_order(tmp_path):
    paths = _frames(tmp_path, 4)
    order = [paths[2], paths[0], paths[3], paths[1]]
    out = tmp_path / "b.png"
    result = run_cli(
        ["animate", "--boomerang", "-o", str(out)], input="".join(f"{p}\n" for p in order)
    )
    assert result.exit_code == 0, result.stderr
    got = _arrays(read_frames(out))
    want = _arrays(load_image(p) for p in [*order, order[2], order[1]])  # a b c d c b
    assert len(got) == 6
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert read_provenance(out)["boomerang"] is True


def test_animate_resizes_frames_to_the_first_with_a_warning(tmp_path):
    paths = _frames(tmp_path, 3, size=(12, 10))
    (tmp_path / "odd").mkdir()
    big = _frames(tmp_path / "odd", 1, size=(30, 20), seed=1)[0]
    out = tmp_path / "mixed.png"
    result = run_cli(["animate", str(paths[0]), str(big), str(paths[1]), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "warning: 1 of 3 frames were not 12x10" in result.stderr
    frames = read_frames(out)
    assert len(frames) == 3 and {f.size for f in frames} == {(12, 10)}


def test_animate_errors(tmp_path):
    paths = _frames(tmp_path, 2)
    result = run_cli(["animate", "-o", str(tmp_path / "a.gif")], input="\n")
    assert "no input images" in _one_line_error(result, 2)
    result = run_cli(["animate", *map(str, paths), "-o", str(tmp_path / "a.avi")])
    assert ".gif" in _one_line_error(result, 2)
    result = run_cli(["animate", *map(str, paths), "--fps", "0", "-o", str(tmp_path / "a.gif")])
    assert "--fps" in _one_line_error(result, 2)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = run_cli(["animate", str(paths[0]), str(bad), "-o", str(tmp_path / "a.gif")])
    assert "bad.png" in _one_line_error(result, 1)
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.skipif(HAS_FFMPEG, reason="imageio-ffmpeg is installed (the other test covers it)")
def test_animate_mp4_without_ffmpeg_is_one_line(tmp_path):
    paths = _frames(tmp_path, 2)
    result = run_cli(["animate", *map(str, paths), "-o", str(tmp_path / "a.mp4")])
    assert "imageio-ffmpeg" in _one_line_error(result, 2)


@requires_asset("ffmpeg")
def test_animate_mp4(tmp_path):
    paths = _frames(tmp_path, 6, size=(33, 17))
    out = tmp_path / "a.mp4"
    assert run_cli(["animate", *map(str, paths), "-o", str(out)]).exit_code == 0
    assert len(read_frames(out)) == 6


# --------------------------------------------------------------------------- processes

PROBE = """
import atexit, sys
heavy = ("torch", "torchvision", "numpy", "safetensors")
atexit.register(lambda: sys.stderr.write("HEAVY=" + ",".join(m for m in heavy if m in sys.modules) + "\\n"))
sys.argv = ["artkit", *{args!r}]
from artkit.cli import main
main()
"""


def test_grid_and_animate_do_not_import_torch_and_start_fast(tmp_path):
    paths = [str(p) for p in _images(tmp_path, 64, size=(16, 16))]
    for args in (
        ["grid", *paths, "--labels", "name", "-o", str(tmp_path / "g.png")],
        ["animate", *paths[:8], "-o", str(tmp_path / "a.gif")],
    ):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", PROBE.format(args=args)],
            capture_output=True,
            text=True,
            timeout=60,
            env=SUB_ENV,
        )
        elapsed = time.perf_counter() - start
        assert result.returncode == 0, result.stderr
        heavy = [ln for ln in result.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
        assert heavy == "HEAVY=", heavy
        assert elapsed < 20, elapsed  # about 0.3 s on an idle machine


def test_sample_piped_into_grid_in_a_shell(tmp_path):
    import torch

    from artkit.checkpoint import build_model, save_model

    torch.manual_seed(0)
    ckpt = save_model(
        build_model("mlp-gan", {"resolution": 8, "hidden": 16}), tmp_path / "w.safetensors"
    )
    artkit = f"'{sys.executable}' -m artkit"
    script = (
        f"set -o pipefail; {artkit} -q sample '{ckpt}' -n 9 -o s | "
        f"{artkit} grid --labels seed -o sheet.png"
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=SUB_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sheet.png\n"
    samples = sorted((tmp_path / "s").glob("*.png"))
    assert len(samples) == 9
    sheet = load_image(tmp_path / "sheet.png", mode=None)
    assert _same(sheet, _expected(samples, labels=[str(i) for i in range(9)]))
    assert read_provenance(tmp_path / "sheet.png")["source_count"] == 9
