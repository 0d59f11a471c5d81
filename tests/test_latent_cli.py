"""``artkit encode / decode / reconstruct / morph`` and ``sample``/``interpolate`` on a VAE.

Encode -> decode of the same latents is deterministic and gives the pixels
``reconstruct`` gives; morph has the requested frame count and its ends are the
key images' reconstructions; every command follows the record protocol (paths in
as arguments or on stdin, one path or JSON object out per line) and writes
provenance; a model that cannot encode is a one-line usage error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model, load_model, load_tensors, save_tensors, sha256_file
from artkit.errors import CheckpointError
from artkit.images import read_provenance
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from tests.helpers import one_error_line, read_image

pytestmark = pytest.mark.usefixtures("one_thread")

SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_thread) -> Path:
    """A tiny VAE trained for 40 real steps (RGB, 32 px): its run folder."""
    out = tmp_path_factory.mktemp("vae") / "run"
    torch.manual_seed(0)
    net = build_model("vae", {"resolution": 32, "width": 0.25, "z_dim": 8})
    source = get_registry("datasets").get("shapes").create({"count": 64}, resolution=32, channels=3)
    options = TrainOptions(
        steps=40,
        batch_size=16,
        lr=1e-3,
        sample_every=0,
        log_every=20,
        device="cpu",
        precision="fp32",
    )
    loss = get_registry("losses").get("mse").create()
    Trainer(net, source, options, out, quiet=True, loss=loss).run()
    return out


@pytest.fixture
def ckpt(run_dir) -> Path:
    return run_dir / "weights.safetensors"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> list[Path]:
    """Four input images: three 32 px shapes and a 48x40 one that must be cropped and resized."""
    folder = tmp_path_factory.mktemp("pictures")
    source = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": 4, "seed": 7}, resolution=48, channels=3)
    )
    paths = []
    for i in range(3):
        path = folder / f"shape{i}.png"
        Image.fromarray(source[i]).resize((32, 32), Image.Resampling.LANCZOS).save(path)
        paths.append(path)
    wide = folder / "wide.jpg"
    Image.fromarray(source[3]).crop((0, 4, 48, 44)).save(wide, quality=95)
    paths.append(wide)
    return paths


def cli(*args):
    return run_cli(["--device", "cpu", *map(str, args)])


def cli_input(text: str, *args):
    return run_cli(["--device", "cpu", *map(str, args)], input=text)


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


# -- encode / decode ---------------------------------------------------------------------
def test_encode_then_decode_is_deterministic_and_matches_reconstruct(ckpt, pictures, tmp_path):
    latents = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    for path in latents:
        result = cli("encode", ckpt, *pictures, "-o", path)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f"{path}\n"
    # (safetensors writes metadata in hash order, so compare contents, not bytes)
    tensors, meta = load_tensors(latents[0])
    tensors_again, meta_again = load_tensors(latents[1])
    assert meta == meta_again and tensors.keys() == tensors_again.keys()
    assert all(torch.equal(tensors[k], tensors_again[k]) for k in tensors)
    keys = [str(p) for p in pictures]
    assert sorted(tensors) == sorted([f"mean/{k}" for k in keys] + [f"logvar/{k}" for k in keys])
    assert all(t.shape == (8,) and t.dtype == torch.float32 for t in tensors.values())
    assert meta["artkit.kind"] == "latents" and json.loads(meta["artkit.keys"]) == keys
    assert meta["artkit.source_model"] == "vae"
    assert meta["artkit.source_checkpoint_sha256"] == sha256_file(ckpt)
    assert json.loads(meta["artkit.source_config"])["z_dim"] == 8
    with pytest.raises(CheckpointError, match="not an artkit model file"):
        load_model(latents[0])  # a latents file is not mistaken for a model

    decoded = [tmp_path / "d1", tmp_path / "d2"]
    for out in decoded:
        result = cli("decode", ckpt, latents[0], "-o", out)
        assert result.exit_code == 0, result.stderr
        names = ["shape0.png", "shape1.png", "shape2.png", "wide.png"]
        assert result.stdout.splitlines() == [str(out / n) for n in names]  # in input order
    for name in names:
        assert (decoded[0] / name).read_bytes() == (decoded[1] / name).read_bytes()

    result = cli("reconstruct", ckpt, *pictures, "-o", tmp_path / "rec")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(tmp_path / "rec" / n) for n in names]
    for name in names:
        assert np.array_equal(pixels(decoded[0] / name), pixels(tmp_path / "rec" / name)), name
    assert len({pixels(decoded[0] / n).tobytes() for n in names}) == 4

    prov = read_provenance(decoded[0] / "wide.png")
    assert prov["command"] == "decode" and prov["key"] == str(pictures[3])
    assert prov["checkpoint_sha256"] == sha256_file(ckpt) and prov["model"] == "vae"
    assert prov["latents_sha256"] == sha256_file(latents[0])


def test_encode_json_prints_the_means(ckpt, pictures, tmp_path):
    out = tmp_path / "z.safetensors"
    result = cli("encode", ckpt, *pictures[:2], "--json", "-o", out)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    tensors, _ = load_tensors(out)
    assert [r["path"] for r in records] == [str(p) for p in pictures[:2]]
    for record in records:
        assert set(record) == {"path", "mean"}
        assert torch.equal(torch.tensor(record["mean"]), tensors[f"mean/{record['path']}"])


def test_decode_names_are_deduplicated_and_sanitised(ckpt, tmp_path):
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    keys = ["a/cat.png", "b/cat.png", ".hidden.png", "we ird:name.jpg"]
    save_tensors(
        tmp_path / "z.safetensors",
        {f"mean/{k}": v for k, v in zip(keys, z, strict=True)},
        {"artkit.keys": json.dumps(keys)},
    )
    result = cli("decode", ckpt, tmp_path / "z.safetensors", "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in records] == [
        "cat.png",
        "cat-2.png",
        "hidden.png",
        "we_ird_name.png",
    ]
    assert [r["key"] for r in records] == keys


def test_decode_refuses_latents_of_the_wrong_size(ckpt, tmp_path):
    save_tensors(tmp_path / "z.safetensors", {"mean/x.png": torch.zeros(5)})
    result = cli("decode", ckpt, tmp_path / "z.safetensors", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "latent 'x.png' has shape (5,), but the model needs 8 values" in one_error_line(
        result.stderr
    )


# -- reconstruct ------------------------------------------------------------------------------
def test_reconstruct_reads_paths_and_json_records_from_stdin(ckpt, pictures, tmp_path):
    result = cli("reconstruct", ckpt, *pictures[:2], "-o", tmp_path / "args")
    assert result.exit_code == 0, result.stderr
    text = f"{pictures[0]}\n" + json.dumps({"path": str(pictures[1]), "seed": 3}) + "\n"
    result = cli_input(text, "reconstruct", ckpt, "-o", tmp_path / "stdin", "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [
        {"path": str(tmp_path / "stdin" / f"shape{i}.png"), "source": str(pictures[i])}
        for i in (0, 1)
    ]
    for i in (0, 1):
        name = f"shape{i}.png"
        assert np.array_equal(pixels(tmp_path / "args" / name), pixels(tmp_path / "stdin" / name))
    prov = read_provenance(tmp_path / "stdin" / "shape1.png")
    assert prov["command"] == "reconstruct" and prov["source"] == str(pictures[1])
    assert prov["checkpoint_sha256"] == sha256_file(ckpt) and prov["side_by_side"] is False


def test_reconstruct_in_a_real_pipe(ckpt, pictures, tmp_path):
    """printf 'a.png\\nb.png\\n' | artkit reconstruct CKPT -o out"""
    proc = subprocess.run(
        [sys.executable, "-m", "artkit", "--device", "cpu", "reconstruct", str(ckpt), "-o", "out"],
        input=f"{pictures[0]}\n{pictures[2]}\n",
        capture_output=True,
        text=True,
        env=SUB_ENV,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["out/shape0.png", "out/shape2.png"]
    assert read_image(tmp_path / "out/shape2.png").size == (32, 32)


def test_side_by_side_is_original_then_reconstruction(ckpt, pictures, tmp_path):
    result = cli("reconstruct", ckpt, pictures[3], "-o", tmp_path / "plain")
    assert result.exit_code == 0, result.stderr
    result = cli("reconstruct", ckpt, pictures[3], "--side-by-side", "-o", tmp_path / "pair")
    assert result.exit_code == 0, result.stderr
    pair = pixels(tmp_path / "pair/wide.png")
    assert pair.shape == (32, 64, 3)
    assert np.array_equal(pair[:, 32:], pixels(tmp_path / "plain/wide.png"))
    # the left half is the input centre-cropped (48x40 -> 40x40) and resized to 32 px
    with Image.open(pictures[3]) as im:
        expected = im.convert("RGB").crop((4, 0, 44, 40)).resize((32, 32), Image.Resampling.LANCZOS)
    diff = np.abs(pair[:, :32] - np.asarray(expected, dtype=np.int16))
    assert diff.max() <= 4 and diff.mean() < 0.5
    assert read_provenance(tmp_path / "pair/wide.png")["side_by_side"] is True


def test_reconstruct_without_input_is_a_usage_error(ckpt, tmp_path):
    result = cli_input("", "reconstruct", ckpt, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "no input images" in one_error_line(result.stderr)


# -- morph --------------------------------------------------------------------------------------
def test_morph_frames_and_endpoints(ckpt, pictures, tmp_path):
    from artkit.animation import read_frames

    a, b, c = pictures[:3]
    result = cli("reconstruct", ckpt, a, b, c, "-o", tmp_path / "rec")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "morph.png"  # APNG: lossless, so frames compare exactly
    result = cli("morph", ckpt, a, b, c, "--frames", "7", "--no-loop", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}\n"
    frames = [np.asarray(f.convert("RGB"), dtype=np.int16) for f in read_frames(out)]
    assert len(frames) == 7
    # keys sit at frames 0, 3 and 6 of a 2-segment walk of 7 frames
    for index, key in ((0, a), (3, b), (6, c)):
        diff = np.abs(frames[index] - pixels(tmp_path / "rec" / f"{key.stem}.png"))
        # equal up to float kernels that may block differently for another batch size
        assert diff.max() <= 1 and (diff == 0).mean() > 0.99, index
    assert not np.array_equal(frames[1], frames[0]) and not np.array_equal(frames[1], frames[3])
    prov = read_provenance(out)
    assert prov["command"] == "morph" and prov["sources"] == [str(a), str(b), str(c)]
    assert prov["frames"] == 7 and prov["loop"] is False and prov["slerp"] is False
    assert prov["checkpoint_sha256"] == sha256_file(ckpt)


def test_morph_loop_gif_from_stdin(ckpt, pictures, tmp_path):
    from artkit.animation import read_frames

    out = tmp_path / "morph.gif"
    text = f"{pictures[0]}\n{pictures[1]}\n"
    result = cli_input(text, "morph", ckpt, "--frames", "6", "--loop", "--slerp", "-o", out)
    assert result.exit_code == 0, result.stderr
    frames = read_frames(out)
    assert len(frames) == 6
    first, last = (np.asarray(f.convert("RGB"), dtype=np.int16) for f in (frames[0], frames[-1]))
    assert not np.array_equal(first, last)  # looping stops one step short of the start
    again = tmp_path / "again.gif"
    assert (
        cli_input(text, "morph", ckpt, "--frames", "6", "--loop", "--slerp", "-o", again).exit_code
        == 0
    )
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ONE"], "morph needs at least two images, got 1"),
        (["ONE", "ONE", "--frames", "1"], "--frames must be at least 2"),
        (["ONE", "ONE", "-o", "m.bmp"], "unsupported format"),
    ],
)
def test_morph_usage_errors(ckpt, pictures, tmp_path, args, message):
    args = [str(pictures[0]) if a == "ONE" else a for a in args]
    args = [str(tmp_path / a) if a.endswith(".bmp") else a for a in args]
    result = cli("morph", ckpt, *args)
    assert result.exit_code == 2
    assert message in one_error_line(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize(("channels", "mode"), [(1, "L"), (4, "RGBA")])
def test_grey_and_rgba_models_read_and_write_their_own_mode(pictures, tmp_path, channels, mode):
    spec = f"vae:resolution=32,channels={channels},width=0.125,z_dim=4"
    result = cli("reconstruct", spec, pictures[3], "--side-by-side", "-o", tmp_path)
    assert result.exit_code == 0, result.stderr
    with Image.open(tmp_path / "wide.png") as im:
        assert (im.mode, im.size) == (mode, (64, 32))
    prov = read_provenance(tmp_path / "wide.png")
    assert prov["model_spec"] == spec and prov["checkpoint"] is None


# -- capabilities ----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["encode", "decode", "reconstruct", "morph"])
def test_a_gan_cannot_encode_or_decode(pictures, tmp_path, command):
    extra = [str(tmp_path / "z.safetensors")] if command == "decode" else map(str, pictures[:2])
    out = tmp_path / ("out.safetensors" if command == "encode" else "out")
    result = cli(command, "dcgan:resolution=32,width=0.125", *extra, "-o", out)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    capability = "decode" if command == "decode" else "encode"
    assert line == (
        f"artkit: error: model 'dcgan' cannot {capability}; it supports: sample, interpolate, render"
    )
    assert result.stdout == "" and not out.exists()


def test_encode_writes_safetensors_only(ckpt, pictures, tmp_path):
    result = cli("encode", ckpt, pictures[0], "-o", tmp_path / "z.pt")
    assert result.exit_code == 2
    assert "latents are written as .safetensors" in one_error_line(result.stderr)


def test_a_missing_image_is_a_one_line_error(ckpt, tmp_path):
    result = cli("reconstruct", ckpt, tmp_path / "nope.png", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "nope.png" in one_error_line(result.stderr)


# -- sample and interpolate on a VAE ---------------------------------------------------------------
def test_sample_a_vae_with_temperature(ckpt, tmp_path):
    result = cli("sample", ckpt, "--seeds", "3,4", "--temperature", "0.5", "-o", tmp_path / "t")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(tmp_path / "t" / f"00000{s}.png") for s in (3, 4)]
    prov = read_provenance(tmp_path / "t/000003.png")
    assert prov["temperature"] == 0.5 and prov["truncation"] == 0.5 and prov["model"] == "vae"
    # the same setting as --truncation, and a different picture from temperature 1
    assert (
        cli("sample", ckpt, "--seeds", "3", "--truncation", "0.5", "-o", tmp_path / "u").exit_code
        == 0
    )
    assert cli("sample", ckpt, "--seeds", "3", "-o", tmp_path / "one").exit_code == 0
    same = pixels(tmp_path / "u/000003.png")
    assert np.array_equal(pixels(tmp_path / "t/000003.png"), same)
    assert not np.array_equal(pixels(tmp_path / "one/000003.png"), same)
    result = cli("sample", ckpt, "--temperature", "0.5", "--truncation", "0.7", "-o", tmp_path)
    assert result.exit_code == 2
    assert "same setting" in one_error_line(result.stderr)


def test_interpolate_accepts_a_vae_checkpoint(ckpt, run_dir, tmp_path):
    from artkit.animation import read_frames

    assert cli("sample", run_dir, "--seeds", "1,2", "-o", tmp_path / "keys").exit_code == 0
    walk = tmp_path / "walk.png"
    result = cli("interpolate", ckpt, "--seeds", "1,2", "--frames", "5", "--no-loop", "-o", walk)
    assert result.exit_code == 0, result.stderr
    frames = [np.asarray(f.convert("RGB"), dtype=np.int16) for f in read_frames(walk)]
    assert len(frames) == 5
    for index, seed in ((0, 1), (4, 2)):
        key = pixels(tmp_path / "keys" / f"{seed:06d}.png")
        assert np.abs(frames[index] - key).max() <= 1, index
    assert read_provenance(walk)["model"] == "vae"
    result = cli("interpolate", ckpt, "--seeds", "1,2", "--temperature", "0.8", "-o", walk)
    assert result.exit_code == 0, result.stderr
    assert read_provenance(walk)["temperature"] == 0.8


def test_checkpoint_is_first_in_help():
    for command in ("encode", "decode", "reconstruct", "morph"):
        result = run_cli([command, "--help"])
        assert result.exit_code == 0
        assert f"artkit {command} CHECKPOINT" in " ".join(result.stdout.split())
