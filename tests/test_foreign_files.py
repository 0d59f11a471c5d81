"""No command writes over a file artkit did not write, nor over one of its own inputs.

Every command that writes to a path the user names is run three ways: with someone
else's file where its output goes (one ``artkit: error:`` line, exit 2, no file
changed), then into a clean place (it writes), then again (artkit's own output is
replaced). Commands whose output folder can hold their inputs are also pointed at
them. Models are built, not trained: only the writing is under test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from artkit.animation import _ffmetadata, read_mp4_provenance, write_animation
from artkit.assets import find_module
from artkit.checkpoint import build_model, save_model
from artkit.images import read_provenance
from artkit.media import written_by_artkit
from artkit.testing import run_cli
from tests.helpers import one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

FOREIGN = "exists and was not written by artkit"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    specs = {
        "vae": ("vae", {"resolution": 32, "width": 0.25, "z_dim": 8}),
        "gan": ("dcgan", {"resolution": 32, "width": 0.25}),
        "fast": ("fast-style", {"width": 4, "residual_blocks": 1}),
        "pix2pix": ("pix2pix", {"resolution": 32, "width": 8, "d_width": 8}),
    }
    return {
        key: save_model(build_model(name, options), folder / f"{key}.safetensors")
        for key, (name, options) in specs.items()
    }


@pytest.fixture
def pictures(tmp_path) -> Path:
    """Two of the user's own pictures (no provenance), in ``in/``."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, colour in (("a.png", (200, 40, 40)), ("b.png", (40, 40, 200))):
        Image.new("RGB", (32, 32), colour).save(folder / name)
    return folder


def cli(*args) -> object:
    return run_cli(["--device", "cpu", *map(str, args)])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def refused(result, message: str = FOREIGN) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    line = one_error_line(result.stderr)
    assert message in line, line
    return line


def foreign_file(path: Path) -> None:
    """Someone's own file at ``path``: a picture without provenance, or text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".png", ".gif", ".webp", ".jpg"):
        Image.new("RGB", (5, 5), (1, 2, 3)).save(path)
    else:
        path.write_text("my notes\n")


# (name, the command's arguments, its output relative to tmp_path)
CASES = [
    ("encode", lambda m, i: ["encode", m["vae"], i / "a.png", "-o", "out/z.safetensors"],
     "out/z.safetensors"),
    ("reconstruct", lambda m, i: ["reconstruct", m["vae"], i / "a.png", "-o", "out"],
     "out/a.png"),
    ("morph", lambda m, i: ["morph", m["vae"], i / "a.png", i / "b.png", "--frames", "2",
                            "-o", "out/m.gif"], "out/m.gif"),
    ("interpolate", lambda m, i: ["interpolate", m["gan"], "--frames", "2", "-o", "out/w.gif"],
     "out/w.gif"),
    ("interpolate webp", lambda m, i: ["interpolate", m["gan"], "--frames", "2",
                                       "-o", "out/w.webp"], "out/w.webp"),
    ("sample --grid", lambda m, i: ["sample", m["gan"], "-n", "2", "-o", "out/s",
                                    "--grid", "out/g.png"], "out/g.png"),
    ("grid", lambda m, i: ["grid", i / "a.png", i / "b.png", "-o", "out/g.png"], "out/g.png"),
    ("animate", lambda m, i: ["animate", i / "a.png", i / "b.png", "-o", "out/a.gif"],
     "out/a.gif"),
    ("data preview", lambda m, i: ["data", "preview", "shapes:count=4", "-n", "4",
                                   "-o", "out/p.png"], "out/p.png"),
    ("stylize", lambda m, i: ["stylize", i / "a.png", "--model", m["fast"], "-o", "out"],
     "out/a.png"),
    ("translate", lambda m, i: ["translate", m["pix2pix"], i / "a.png", "-o", "out"],
     "out/a.png"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "target"), CASES, ids=[c[0] for c in CASES])
def test_a_foreign_file_is_refused_and_artkits_own_output_replaced(
    models, pictures, tmp_path, monkeypatch, name, args, target
):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / target
    foreign_file(out)
    before = snapshot(tmp_path)
    refused(cli(*args(models, pictures)))
    assert snapshot(tmp_path) == before  # nothing written, nothing replaced
    out.unlink()
    for _ in range(2):  # a clean place, then over its own output
        result = cli(*args(models, pictures))
        assert result.exit_code == 0, result.stderr
        assert written_by_artkit(out)


def test_decode_checks_every_target_before_decoding(models, pictures, tmp_path):
    latents = tmp_path / "z.safetensors"
    assert cli("encode", models["vae"], pictures / "a.png", pictures / "b.png",
                  "-o", latents).exit_code == 0  # fmt: skip
    out = tmp_path / "out"
    foreign_file(out / "b.png")
    refused(cli("decode", models["vae"], latents, "-o", out))
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]  # a.png was not written first
    (out / "b.png").unlink()
    for _ in range(2):
        assert cli("decode", models["vae"], latents, "-o", out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]


@pytest.mark.parametrize(
    "args",
    [
        lambda m, i: ["reconstruct", m["vae"], i / "a.png", "-o", i],
        lambda m, i: ["stylize", i / "a.png", "--model", m["fast"], "-o", i],
        lambda m, i: ["translate", m["pix2pix"], i / "a.png", "-o", i],
    ],
    ids=["reconstruct", "stylize", "translate"],
)
def test_a_command_never_writes_over_its_input(models, pictures, tmp_path, args):
    before = snapshot(pictures)
    refused(cli(*args(models, pictures)), "is one of the inputs")
    assert snapshot(pictures) == before


def test_a_sheet_never_replaces_one_of_its_pictures_even_one_artkit_wrote(models, tmp_path):
    assert cli("sample", models["gan"], "-n", "2", "-o", tmp_path).exit_code == 0
    first, second = tmp_path / "000000.png", tmp_path / "000001.png"
    before = snapshot(tmp_path)
    for command in ("grid", "animate"):
        refused(cli(command, first, second, "-o", first), "is one of the inputs")
    assert snapshot(tmp_path) == before


def test_gif_provenance_is_read_from_its_comment_and_a_strangers_comment_is_not(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    ours = write_animation(frames, tmp_path / "ours.gif", provenance={"command": "animate"})
    assert read_provenance(ours) == {"command": "animate"}
    theirs = tmp_path / "theirs.gif"
    for comment in (b"made with love", b"[1, 2]", b"{not json"):
        frames[0].save(theirs, save_all=True, append_images=frames[1:], comment=comment)
        assert read_provenance(theirs) is None
        assert not written_by_artkit(theirs)
    assert written_by_artkit(ours)
    assert not written_by_artkit(tmp_path)  # a folder is nobody's output file


def test_ffmetadata_listing_unescapes_values():
    listing = ';FFMETADATA1\nmajor_brand=isom\ncomment={"a":"x\\=y\\;z\\#\\\\"}\nx\n'
    assert _ffmetadata(listing) == {"major_brand": "isom", "comment": '{"a":"x=y;z#\\"}'}
    assert _ffmetadata("comment=last line without newline") == {
        "comment": "last line without newline"
    }


@pytest.mark.skipif(
    not find_module("imageio_ffmpeg"),
    reason="MP4 needs ffmpeg: pip install 'artkit[video]'",
)
def test_mp4_provenance_round_trips_through_its_comment_tag(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    provenance = {"command": "interpolate", "odd": "a=b;c#d\\e"}
    path = write_animation(frames, tmp_path / "w.mp4", provenance=provenance)
    assert read_mp4_provenance(path) == provenance and written_by_artkit(path)
    bare = write_animation(frames, tmp_path / "bare.mp4")
    assert read_mp4_provenance(bare) is None and not written_by_artkit(bare)
    os.replace(bare, tmp_path / "w.mp4")
    assert not written_by_artkit(tmp_path / "w.mp4")


def test_a_new_run_never_replaces_or_appends_to_someone_elses_run_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    Image.new("RGB", (4, 4)).save(out / "photo.png")  # a file of another name is no matter
    args = ["train", "mlp-gan:resolution=8,hidden=8", "--data", "shapes:count=16",
            "--steps", "2", "-b", "4", "-o", out]  # fmt: skip
    for name, text in (("config.json", '{"mine": 1}\n'), ("metrics.jsonl", "my diary\n")):
        (out / name).write_text(text)
        before = snapshot(tmp_path)
        refused(cli(*args))
        assert snapshot(tmp_path) == before
        (out / name).unlink()
    (out / "samples").mkdir()
    Image.new("RGB", (4, 4)).save(out / "samples" / "step-000002.png")
    refused(cli(*args))
    (out / "samples" / "step-000002.png").unlink()
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert (out / "photo.png").is_file()
    # an artkit run that stopped before its weights were written may be started again
    (out / "weights.safetensors").unlink()
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    refused(cli("train", "mlp-gan:resolution=8,hidden=8", "--data", "shapes:count=16",
                "--steps", "2", "-o", out / "photo.png"), "is a file, not a folder")  # fmt: skip


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ('{"x": 1}', "lacks model, model_config or options"),
        ('{"model": "dcgan", "model_config": [], "options": {}}', "lacks model"),
        ("[1, 2]", "lacks model"),
        ("not json {", "is not JSON"),
        ("[" * 100_000 + "]" * 100_000, "is not JSON"),
        ('{"model": "dcgan", "model_config": {}, "options": {}, "data": 7}', "names no dataset"),
        (" " * (1 << 20) + "{}", "is larger than 1024 KiB"),
    ],
    ids=["keys", "types", "list", "broken", "deep", "data", "huge"],
)
def test_resume_reads_only_a_config_artkit_wrote(tmp_path, config, why):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(config)
    line = refused(cli("train", "--resume", run), why)
    assert str(run) in line


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": "x"}, "option batch_size='x': expected int"),
        ({"betas": [0.5]}, "option betas=[0.5]: expected 2 numbers"),
        ({"ema": 1}, "option ema=1: expected bool"),
        ({"steps": 2.5}, "option steps=2.5: expected int or null"),
        ({"lr": "fast"}, "option lr='fast': expected float"),
    ],
)
def test_resume_refuses_saved_options_of_the_wrong_type(tmp_path, options, message):
    run = tmp_path / "run"
    run.mkdir()
    config = {"model": "mlp-gan", "model_config": {"resolution": 8, "hidden": 8},
              "options": options, "data": "shapes:count=16"}  # fmt: skip
    (run / "config.json").write_text(json.dumps(config))
    refused(cli("train", "--resume", run), message)


@pytest.mark.parametrize(
    ("model_config", "message"),
    [
        ({"hidden": "wide"}, "hidden='wide' is not a valid int"),
        ({"hidden": 10**9}, "hidden=1000000000 is not allowed"),
        ({"z_dim": 100_000}, "z_dim=100000 is not allowed"),
        ({"resolution": [8, 8]}, "resolution=[8, 8] is not allowed"),
        ({"nope": 1}, "unknown parameter 'nope'"),
    ],
)
def test_resume_refuses_a_saved_model_config_the_model_would_not_take(
    tmp_path, model_config, message
):
    """--resume builds the model from config.json: its values meet the model's own checks
    before anything is allocated (hidden=10**9 tried 400 GB and raised a RuntimeError)."""
    run = tmp_path / "run"
    run.mkdir()
    config = {"model": "mlp-gan", "model_config": {"resolution": 8, "hidden": 8, **model_config},
              "options": {}, "data": "shapes:count=16"}  # fmt: skip
    (run / "config.json").write_text(json.dumps(config))
    refused(cli("train", "--resume", run), message)
