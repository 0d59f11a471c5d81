"""``artkit translate`` and ``artkit train pix2pix`` from the command line.

A pix2pix colouriser trained by ``artkit train`` colourises black-and-white and
colour pictures of any size, from arguments, folders or stdin records; the same
input gives the same bytes; outputs carry provenance that ``artkit info`` shows;
mistakes (a model that cannot translate, an unreadable image, a bad option) are
one line on stderr with a non-zero exit and never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model, save_model
from artkit.images import read_provenance
from artkit.testing import run_cli
from tests.helpers import one_error_line, read_image

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def colouriser(tmp_path_factory, one_thread):
    """A tiny colouriser trained from the command line (40 steps on shapes): its run folder."""
    run = tmp_path_factory.mktemp("translate") / "run"
    result = run_cli(
        [
            "--device", "cpu", "--precision", "fp32", "--seed", "3",
            "train", "pix2pix:resolution=32,width=8,d_width=8", "--data", "shapes:count=64",
            "--steps", "40", "-b", "8", "--log-every", "20", "-o", str(run),
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(run / "weights.safetensors")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 40 and "val_colour_error" in rows[-1]
    return run


@pytest.fixture
def pictures(tmp_path):
    """A greyscale photo, an odd-sized colour crop and an RGBA picture."""
    from artkit_data.samples import sample_image

    folder = tmp_path / "in"
    folder.mkdir()
    sample_image("camera").resize((96, 96)).save(folder / "camera.png")
    sample_image("astronaut").convert("RGB").crop((100, 40, 137, 91)).save(folder / "odd.jpg")
    rgba = Image.new("RGBA", (20, 30), (200, 30, 30, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(folder / "rgba.png")
    return folder


def translate(*args, input=None):
    return run_cli(["--device", "cpu", "translate", *map(str, args)], input=input)


def test_translate_colourises_any_size_with_provenance(colouriser, pictures, tmp_path):
    out = tmp_path / "out"
    result = translate(colouriser, pictures, "-o", out)
    assert result.exit_code == 0, result.stderr
    paths = result.stdout.split()
    assert [Path(p).name for p in paths] == ["camera.png", "odd.png", "rgba.png"]
    sizes = {Path(p).name: read_image(p).size for p in paths}
    assert sizes == {"camera.png": (96, 96), "odd.png": (37, 51), "rgba.png": (20, 30)}
    assert read_image(out / "camera.png").mode == "RGB"  # a grey photo comes back in colour
    rgba = read_image(out / "rgba.png")
    assert rgba.mode == "RGBA" and rgba.getpixel((0, 0))[3] == 0  # transparency kept
    prov = read_provenance(out / "odd.png")
    assert prov["command"] == "translate" and prov["model"] == "pix2pix"
    assert prov["source"] == str(pictures / "odd.jpg") and prov["config"]["task"] == "colorize"
    assert len(prov["checkpoint_sha256"]) == 64 and prov["step"] == 40 and prov["noise"] is False
    info = run_cli(["info", str(out / "odd.png")])
    assert info.exit_code == 0 and "translate" in info.stdout and "pix2pix" in info.stdout


def test_the_same_input_gives_the_same_bytes_and_noise_is_seeded(colouriser, pictures, tmp_path):
    def run(folder, *extra):
        result = translate(colouriser, pictures / "camera.png", "-o", tmp_path / folder, *extra)
        assert result.exit_code == 0, result.stderr
        return (tmp_path / folder / "camera.png").read_bytes()

    plain = run("a")
    assert run("b") == plain
    noisy = run_cli(
        ["--device", "cpu", "--seed", "5", "translate", str(colouriser), str(pictures / "camera.png"),
         "-o", str(tmp_path / "n1"), "--noise"]
    )  # fmt: skip
    again = run_cli(
        ["--device", "cpu", "--seed", "5", "translate", str(colouriser), str(pictures / "camera.png"),
         "-o", str(tmp_path / "n2"), "--noise"]
    )  # fmt: skip
    assert noisy.exit_code == again.exit_code == 0
    first = (tmp_path / "n1" / "camera.png").read_bytes()
    assert first == (tmp_path / "n2" / "camera.png").read_bytes() and first != plain
    prov = read_provenance(tmp_path / "n1" / "camera.png")
    assert prov["noise"] is True and prov["seed"] == 5


def test_stdin_records_and_tiles(colouriser, pictures, tmp_path):
    records = json.dumps({"path": str(pictures / "camera.png"), "seed": 9}) + "\n"
    result = translate(
        colouriser,
        "--json",
        "--tile",
        "--tile-size",
        "48",
        "--overlap",
        "16",
        "-o",
        tmp_path,
        input=records,
    )
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    record = json.loads(line)
    assert record["seed"] == 9 and record["source"] == str(pictures / "camera.png")
    tiled = np.asarray(Image.open(record["path"])).astype(int)
    assert tiled.shape == (96, 96, 3)
    assert read_provenance(record["path"])["tile"] == 48
    whole = translate(colouriser, pictures / "camera.png", "-o", tmp_path / "whole")
    assert whole.exit_code == 0
    untiled = np.asarray(Image.open(tmp_path / "whole" / "camera.png")).astype(int)
    assert np.abs(tiled - untiled).mean() < 8  # of 255: the tiles blend into the same picture


def test_a_paired_model_translates_grey_to_colour(tmp_path, pictures):
    torch.manual_seed(0)
    model = build_model(
        "pix2pix",
        {
            "task": "paired",
            "in_channels": 1,
            "out_channels": 3,
            "resolution": 32,
            "width": 4,
            "d_width": 4,
        },
    )
    weights = save_model(model, tmp_path / "paired.safetensors")
    result = translate(weights, pictures / "odd.jpg", "-o", tmp_path / "out", "--size", "64")
    assert result.exit_code == 0, result.stderr
    out = read_image(tmp_path / "out" / "odd.png")
    assert out.mode == "RGB" and max(out.size) == 64


def test_a_model_that_cannot_translate_is_a_one_line_error(tmp_path, pictures):
    weights = save_model(
        build_model("dcgan", {"resolution": 32, "width": 0.125}), tmp_path / "g.safetensors"
    )
    result = translate(weights, pictures / "camera.png", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "cannot translate; it supports: sample" in one_error_line(result.stderr)
    assert not (tmp_path / "out").exists()


def test_an_unreadable_image_is_reported_and_the_others_are_written(colouriser, pictures, tmp_path):
    (pictures / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = translate(
        colouriser, pictures / "broken.png", pictures / "camera.png", "-o", tmp_path / "out"
    )
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "1 of 2 images could not be read" in line
    assert "broken.png" in result.stderr  # the warning names the file
    assert result.stdout.split() == [str(tmp_path / "out" / "camera.png")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "gif"], "--format 'gif': use png, webp or jpg"),
        (["--overlap", "300"], "--overlap 300: use 0 to half the tile size (256)"),
        (["--size", "2"], "--size 2: use 8 to 16384 pixels"),
    ],
)
def test_bad_options_are_usage_errors(colouriser, pictures, tmp_path, args, message):
    result = translate(colouriser, pictures / "camera.png", "-o", tmp_path, *args)
    assert result.exit_code == 2
    assert message in one_error_line(result.stderr)


def test_a_missing_model_is_a_usage_error(tmp_path, pictures):
    result = translate(tmp_path / "nope.safetensors", pictures / "camera.png")
    assert result.exit_code == 2
    assert "no such checkpoint file or run folder" in one_error_line(result.stderr)


def test_train_pix2pix_on_paired_data_from_the_command_line(tmp_path):
    from tests.test_pix2pix import write_pairs

    root = write_pairs(tmp_path / "data", count=12)
    result = run_cli(
        ["--device", "cpu", "train", "pix2pix:task=paired,resolution=32,width=4,d_width=4",
         "--data", f"side-by-side:path={root / 'sbs'}", "--steps", "3", "-b", "4", "-o", str(tmp_path / "run")]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "6 ch" in result.stderr
    translated = translate(tmp_path / "run", root / "a" / "000.png", "-o", tmp_path / "out")
    assert translated.exit_code == 0, translated.stderr
    # the colourise task refuses pairs, naming the fix
    wrong = run_cli(
        ["--device", "cpu", "train", "pix2pix:resolution=32,width=4,d_width=4",
         "--data", f"side-by-side:path={root / 'sbs'}", "--steps", "1", "-b", "4", "-o", str(tmp_path / "x")]
    )  # fmt: skip
    assert wrong.exit_code == 2 and "task=paired" in one_error_line(wrong.stderr)


def test_bundled_sample_photos_are_inputs(colouriser, tmp_path):
    result = translate(colouriser, "sample:camera", "sample:nope", "--size", "64", "-o", tmp_path)
    assert result.exit_code == 1
    assert "unknown sample 'nope'" in result.stderr
    assert result.stdout.split() == [str(tmp_path / "camera.png")]
    assert read_image(tmp_path / "camera.png").size == (64, 64)
    assert read_provenance(tmp_path / "camera.png")["source"] == "sample:camera"
