"""``artkit project``: pictures into a GAN's latent space, and walks between them.

A tiny FastGAN trained for real on shapes; two of its training pictures projected
through the command line must come closer, in pixels and in the perceptual
distance, than the best of 1,000 random seeds. The saved latent redraws the saved
reconstruction exactly, and ``artkit interpolate --latents`` walks from one
projected picture to the other. Models that cannot be projected, unreadable
pictures and bad options are one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.api.latents import read_latents
from artkit.checkpoint import load_model, load_tensors, save_tensors, sha256_file
from artkit.images import read_provenance
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.torch_images import pil_to_tensor, to_pil
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from tests.helpers import one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS = 150


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_thread) -> Path:
    """A FastGAN (32 px, z_dim 32) trained for 40 real steps on shapes: its run folder."""
    out = tmp_path_factory.mktemp("gan") / "run"
    torch.manual_seed(0)
    from artkit.checkpoint import build_model

    net = build_model("fastgan", {"resolution": 32, "width": 0.25, "z_dim": 32})
    source = (
        get_registry("datasets").get("shapes").create({"count": 256}, resolution=32, channels=3)
    )
    options = TrainOptions(
        steps=40, batch_size=16, sample_every=0, log_every=20, device="cpu", precision="fp32"
    )
    loss = get_registry("losses").get(net.default_loss).create()
    Trainer(net, source, options, out, quiet=True, loss=loss).run()
    # two of the pictures it was trained on
    for i in (5, 17):
        source.image(i).save(out.parent / f"shape{i}.png")
    return out


def cli(*args, input: str | None = None):
    return run_cli(["--device", "cpu", "--precision", "fp32", *map(str, args)], input=input)


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def projected(run_dir) -> list[dict]:
    """Both pictures projected by the command line (paths on stdin): its --json records."""
    pictures = [run_dir.parent / "shape5.png", run_dir.parent / "shape17.png"]
    out = run_dir.parent / "projected"
    result = cli(
        "project", run_dir, "--steps", STEPS, "-o", out, "--json",
        input="".join(f"{p}\n" for p in pictures),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(out / "shape5.png"), str(out / "shape17.png")]
    assert [r["source"] for r in records] == [str(p) for p in pictures]
    return records


def test_projection_is_closer_than_the_best_of_1000_random_seeds(run_dir, projected):
    from artkit.api.project import PerceptualDistance

    net = load_model(run_dir / "weights.safetensors", device="cpu").eval()
    metric = PerceptualDistance("random-conv", "cpu")
    sources = [Path(r["source"]) for r in projected]
    targets = [pil_to_tensor([Image.open(s).convert("RGB")], 3) for s in sources]
    target_maps = [metric.maps(t) for t in targets]
    best_mse, best_feat = [float("inf")] * 2, [float("inf")] * 2
    with torch.no_grad():
        for start in range(0, 1000, 250):
            images = net.generate(net.latents_for_seeds(list(range(start, start + 250))))
            maps = metric.maps(images)
            for i, target in enumerate(targets):
                mse = (images - target).pow(2).flatten(1).mean(1)
                feat = metric.distance(maps, target_maps[i])
                best_mse[i] = min(best_mse[i], float(mse.min()))
                best_feat[i] = min(best_feat[i], float(feat.min()))
    for record, source, mse, feat in zip(projected, sources, best_mse, best_feat, strict=True):
        assert record["pixel_mse"] < mse, (record, mse)
        assert record["feature_distance"] < feat, (record, feat)

        # the saved latent redraws the saved picture, whose provenance says how it was made
        [(key, z)] = read_latents(Path(record["latents"]), 32)
        assert key == str(source)
        with torch.no_grad():
            [redrawn] = to_pil(net.generate(z[None]))
        assert np.array_equal(np.asarray(redrawn, dtype=np.int16), pixels(record["path"]))
        prov = read_provenance(record["path"])
        assert prov["command"] == "project" and prov["model"] == "fastgan"
        assert prov["source_sha256"] == sha256_file(source)
        assert (prov["steps"], prov["seed"], prov["features"]) == (STEPS, 0, "random-conv")
        assert prov["pixel_mse"] == pytest.approx(record["pixel_mse"], abs=1e-5)
        assert prov["checkpoint_sha256"] == sha256_file(run_dir / "weights.safetensors")
        _, meta = load_tensors(record["latents"])
        assert meta["artkit.kind"] == "latents" and meta["artkit.command"] == "project"


def test_interpolate_walks_between_projected_pictures(run_dir, projected, tmp_path):
    a, b = (Path(r["latents"]) for r in projected)
    walk = tmp_path / "walk.png"  # APNG: lossless frames to compare
    result = cli(
        "interpolate", run_dir, "--latents", a, "--latents", b, "--frames", 5, "--no-loop",
        "-o", walk,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{walk}\n"
    with Image.open(walk) as im:
        assert im.n_frames == 5
        frames = []
        for i in range(5):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB"), dtype=np.int16))
    # the walk starts and ends at the two projections
    assert np.abs(frames[0] - pixels(projected[0]["path"])).max() <= 1
    assert np.abs(frames[-1] - pixels(projected[1]["path"])).max() <= 1
    assert not np.array_equal(frames[0], frames[2])

    # one latent is no walk; latents of another size are refused in one line
    result = cli("interpolate", run_dir, "--latents", a, "-o", tmp_path / "w.gif")
    assert "at least two" in one_error_line(result.stderr) and result.exit_code == 2
    result = cli(
        "interpolate", "fastgan:resolution=32,z_dim=16", "--latents", a, "--latents", b,
        "-o", tmp_path / "w.gif",
    )  # fmt: skip
    assert "needs 16 values" in one_error_line(result.stderr) and result.exit_code == 2
    # latents made with another checkpoint: walked, with a warning
    tensors, meta = load_tensors(b)
    other = tmp_path / "other.safetensors"
    save_tensors(other, tensors, {**meta, "artkit.source_checkpoint_sha256": "0" * 64})
    result = cli("interpolate", run_dir, "--latents", a, "--latents", other, "--frames", 3,
                 "-o", tmp_path / "w.gif")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "made with another checkpoint" in result.stderr


def test_bad_inputs_are_one_line_errors(run_dir, tmp_path):
    picture = run_dir.parent / "shape5.png"
    out = tmp_path / "out"
    for model, word in (("vae:resolution=32", "artkit encode"), ("fast-style", "generates")):
        result = cli("project", model, picture, "-o", out)
        line = one_error_line(result.stderr)
        assert "project needs a model that generates from latents" in line and word in line
        assert result.exit_code == 2 and not out.exists()
    result = cli("project", run_dir, picture, "--steps", 0, "-o", out)
    assert "--steps" in one_error_line(result.stderr) and result.exit_code == 2
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    result = cli("project", run_dir, broken, "-o", out)
    assert "broken.png" in one_error_line(result.stderr) and result.exit_code == 1
    # a file artkit did not write is never replaced
    out.mkdir(exist_ok=True)
    Image.new("RGB", (8, 8)).save(out / "shape5.png")
    result = cli("project", run_dir, picture, "-o", out)
    assert "not written by artkit" in one_error_line(result.stderr)
    assert not (out / "shape5.safetensors").exists()
