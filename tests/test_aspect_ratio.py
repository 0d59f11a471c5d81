"""Non-square images: ``resolution=HxW`` models, datasets cropped or padded to that aspect.

A DCGAN trained for real at 32x64 (height x width) samples, reproduces, renders,
grids and walks at 64x32 px (width x height); FastGAN, the VAE and pix2pix train
and round-trip through a checkpoint at a non-square size; the datasets crop, pad
or stretch to the aspect; a size a network cannot take is a one-line error.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model, load_model
from artkit.config_checks import image_size
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from tests.helpers import one_error_line, read_image

pytestmark = pytest.mark.usefixtures("one_thread")


def cli(*args: object):
    return run_cli(["--device", "cpu", *map(str, args)])


def sizes(paths) -> set[tuple[int, int]]:
    return {read_image(p).size for p in paths}


def test_dcgan_trains_samples_reproduces_renders_grids_and_walks_at_32x64(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = "dcgan:resolution=32x64,width=0.125,z_dim=16"
    result = cli("train", spec, "--data", "shapes:count=16", "--steps", 2, "--batch-size", 8,
                 "--sample-every", 0, "-o", "run")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_model("run/weights.safetensors").config.resolution == "32x64"

    result = cli("sample", "run", "-n", 2, "-o", "out")
    assert result.exit_code == 0, result.output
    made = sorted(Path("out").glob("*.png"))
    assert len(made) == 2 and sizes(made) == {(64, 32)}
    assert np.asarray(Image.open(made[0])).std() > 0  # a picture, not a blank

    result = cli("reproduce", made[1])
    assert result.exit_code == 0 and "identical" in result.output, result.output

    Path("s.toml").write_text(
        textwrap.dedent(
            """
            series = "w"
            out = "renders"
            template = "{series}/{seed:04d}-t{truncation}.png"
            [sweep]
            checkpoint = ["run"]
            seed = "0-1"
            truncation = [0.5, 1.0]
            """
        )
    )
    result = cli("render", "s.toml")
    assert result.exit_code == 0, result.output
    rendered = sorted(Path("renders/w").glob("*.png"))
    assert len(rendered) == 4 and sizes(rendered) == {(64, 32)}

    result = cli("grid", *made, "-o", "sheet.png")
    assert result.exit_code == 0, result.output
    w, h = read_image("sheet.png").size
    assert 2 * 64 <= w < 2 * 64 + 16 and 32 <= h < 32 + 16  # two cells side by side

    result = cli(
        "interpolate", "run", "--seeds", "1,2", "--frames", 3, "--no-loop", "-o", "walk.png"
    )
    assert result.exit_code == 0, result.output
    walk = Image.open("walk.png")
    assert walk.size == (64, 32) and walk.n_frames == 3


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("fastgan", {"resolution": "32x64", "width": 0.125, "z_dim": 16}),
        ("vae", {"resolution": "64x32", "width": 0.125, "z_dim": 8, "prior": "normal"}),
        ("pix2pix", {"resolution": "32x64", "width": 8, "d_width": 8}),
    ],
)
def test_other_families_train_and_round_trip_a_checkpoint_off_square(tmp_path, model, options):
    torch.manual_seed(0)
    net = build_model(model, options)
    h, w = image_size(net.config.resolution)
    assert (h, w) == image_size(options["resolution"]) and h != w
    data = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": 8}, resolution=options["resolution"], channels=3)
    )
    assert data[0].shape == (h, w, 3)
    opts = TrainOptions(steps=1, batch_size=4, sample_every=0, log_every=1, device="cpu",
                        precision="fp32")  # fmt: skip
    loss = get_registry("losses").get(net.default_loss).create() if net.default_loss else None
    assert Trainer(net, data, opts, tmp_path / "run", quiet=True, loss=loss).run().step == 1
    again = load_model(tmp_path / "run" / "weights.safetensors")
    assert again.config.resolution == options["resolution"]
    if model == "pix2pix":
        x = torch.rand(1, 3, h, w) * 2 - 1
        out = again.translate(x)
        assert out.shape == (1, 3, h, w) and torch.equal(out, again.translate(x))
    else:
        images = again.sample(2, generator=torch.Generator().manual_seed(1))
        assert images.shape == (2, 3, h, w) and again.image_shape == (3, h, w)
        assert torch.isfinite(images).all() and images.std() > 0
    if model == "vae":
        mean, _logvar = again.encode(images)  # and back through the non-square encoder
        assert mean.shape == (2, 8) and again.decode(mean).shape == (2, 3, h, w)


@pytest.mark.parametrize("size", ["30x64", "64x", "0x64", "32x256"])
def test_a_size_the_network_cannot_take_is_one_line(tmp_path, size):
    result = cli("train", f"dcgan:resolution={size}", "--data", "shapes", "--steps", 1,
                 "-o", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert f"resolution='{size}'" in line and "32, 64 or 128" in line and "HEIGHTxWIDTH" in line
    assert not (tmp_path / "r").exists()


def test_datasets_crop_pad_and_stretch_to_the_aspect(tmp_path):
    # a square picture: left half red, right half blue, a green band across the middle
    pic = np.zeros((96, 96, 3), np.uint8)
    pic[:, :48] = (255, 0, 0)
    pic[:, 48:] = (0, 0, 255)
    pic[40:56] = (0, 255, 0)
    (tmp_path / "pics").mkdir()
    Image.fromarray(pic).save(tmp_path / "pics" / "a.png")
    datasets = get_registry("datasets")

    def folder(fit: str, size: str):
        return datasets.get("folder").create({"path": str(tmp_path / "pics"), "fit": fit,
                                              "background": "black"}, resolution=size, channels=3)  # fmt: skip

    crop = folder("crop", "32x64")[0]  # the middle band at full width: mostly green
    assert crop.shape == (32, 64, 3)
    assert crop[16, 2, 1] > 200 and crop[2, 2, 0] > 200 and crop[2, 61, 2] > 200
    pad = folder("pad", "32x64")[0]  # the whole square in the middle, black either side
    assert pad.shape == (32, 64, 3) and pad[:, :15].max() == 0 and pad[:, -15:].max() == 0
    assert pad[2, 20, 0] > 200 and pad[2, 44, 2] > 200
    stretch = folder("stretch", "64x32")[0]  # squeezed sideways: every band kept
    assert stretch.shape == (64, 32, 3) and stretch[32, 16, 1] > 200 and stretch[2, 2, 0] > 200
    source = folder("crop", "32x64")
    assert source.resolution == "32x64" and source.cache_hit  # the cache keys the size

    for name, opts in [("shapes", {"count": 2}),
                       ("single-image", {"path": str(tmp_path / "pics" / "a.png"), "count": 3})]:  # fmt: skip
        for size in ("32x64", "48x32"):
            src = datasets.get(name).create(opts, resolution=size, channels=3)
            assert src[0].shape == (*image_size(size), 3) and src.resolution == size
    assert datasets.get("shapes").create({"count": 1}, resolution=32, channels=3).resolution == 32
