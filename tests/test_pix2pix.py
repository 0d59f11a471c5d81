"""pix2pix under the generic trainer: real (tiny) training runs on CPU.

A colouriser trained for real on the built-in ``emoji`` dataset makes held-out
black-and-white emoji closer in colour to the originals than the black-and-white
versions are (measured with scikit-image's Lab, independently of artkit's own);
the Lab conversion matches scikit-image; translation is deterministic, keeps any
size and tiles without seams; paired training from two folders and from
side-by-side images writes loadable weights; the pairs stay aligned through the
trainer's augmentations; every GAN loss trains it; exact resume is bit-exact.
"""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from artkit.assets import skip_reason
from artkit.checkpoint import build_model, load_model, read_header
from artkit.errors import UsageError
from artkit.plugins import get_registry
from artkit.torch_images import from_uint8, pil_to_tensor, to_uint8
from artkit.train.augment import augment_batch
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from artkit_translate.nn_colour import fit_channels, images_to_lab, lab_to_images, lightness
from artkit_translate.torch_tiles import run_tiled, spans
from tests.helpers import assert_same_tensors, metrics

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"resolution": 32, "width": 8, "d_width": 8}


# -- helpers -------------------------------------------------------------------
def make(**overrides):
    torch.manual_seed(1234)
    return build_model("pix2pix", {**TINY, **overrides})


def dataset(spec: str, net):
    name, _, rest = spec.partition(":")
    options = dict(part.split("=", 1) for part in rest.split(",") if part)
    cfg = net.config
    return (
        get_registry("datasets")
        .get(name)
        .create(options, resolution=cfg.resolution, channels=cfg.channels)
    )


def train(
    out, *, net=None, data="shapes:count=32", loss="lsgan", resume=False, model_opts=None, **opts
):
    """Train with the Python API; returns (trainer, result)."""
    net = net if net is not None else make(**(model_opts or {}))
    options = TrainOptions(
        **{
            "steps": 4,
            "batch_size": 8,
            "log_every": 1,
            "checkpoint_every": 1000,
            "sample_every": 0,
            "device": "cpu",
            "precision": "fp32",
            "loss": loss,
            **opts,
        }
    )
    loss_obj = get_registry("losses").get(loss).create()
    trainer = Trainer(
        net, dataset(data, net), options, out, resume=resume, quiet=True, loss=loss_obj
    )
    return trainer, trainer.run()


def write_pairs(root, count=24, size=40):
    """Folders a/ (inverted shapes, .png) and b/ (the shapes, .jpg and .png), plus side-by-side files."""
    shapes = (
        get_registry("datasets").get("shapes").create({"count": count}, resolution=size, channels=3)
    )
    for sub in ("a", "b", "sbs"):
        (root / sub).mkdir(parents=True)
    for i in range(count):
        b = Image.fromarray(shapes[i])
        a = ImageOps.invert(b)
        a.save(root / "a" / f"{i:03d}.png")
        b.save(root / "b" / f"{i:03d}.png")
        pair = Image.new("RGB", (2 * size, size))
        pair.paste(a, (0, 0))
        pair.paste(b, (size, 0))
        pair.save(root / "sbs" / f"{i:03d}.png")
    return root


def skimage_delta_e(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIE76 difference of two uint8 RGB batches (N, H, W, 3), by scikit-image."""
    from skimage.color import rgb2lab

    return float(np.linalg.norm(rgb2lab(a / 255.0) - rgb2lab(b / 255.0), axis=-1).mean())


# -- colour maths ---------------------------------------------------------------------
def test_lab_conversion_matches_scikit_image_and_round_trips():
    from skimage.color import rgb2lab

    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(2, 3, 16, 16, generator=g)
    rgb[0, :, 0, 0], rgb[0, :, 0, 1] = 0.0, 1.0  # black and white exactly
    lab = images_to_lab(rgb * 2 - 1)
    ref = torch.from_numpy(rgb2lab(rgb.permute(0, 2, 3, 1).double().numpy())).permute(0, 3, 1, 2)
    assert (lab - ref.float()).abs().max() < 0.01
    assert (lab_to_images(lab) - (rgb * 2 - 1)).abs().max() < 1e-4
    assert lab[0, 0, 0, 0].abs() < 1e-3 and (lab[0, 0, 0, 1] - 100).abs() < 1e-3


def test_channel_fitting_matches_pillow():
    g = torch.Generator().manual_seed(1)
    rgba = (torch.rand(1, 4, 8, 8, generator=g) * 255).round().to(torch.uint8)
    image = Image.fromarray(rgba[0].permute(1, 2, 0).numpy(), "RGBA")
    x = from_uint8(rgba.clone())
    flat = Image.new("RGBA", image.size, "white")
    flat.alpha_composite(image)
    for channels, expected in ((3, flat.convert("RGB")), (1, flat.convert("L"))):
        ours = to_uint8(fit_channels(x, channels))[0].astype(int)
        theirs = np.asarray(expected).reshape(8, 8, channels).astype(int)
        assert np.abs(ours - theirs).max() <= 1
    grey = fit_channels(fit_channels(x, 1), 4)
    assert grey.shape[1] == 4 and torch.equal(grey[:, 0], grey[:, 2]) and (grey[:, 3] == 1).all()


# -- networks and inference ----------------------------------------------------------
@pytest.mark.parametrize(
    ("resolution", "depth"), [(32, 3), (64, 4), (128, 5), (256, 6), (96, 4), (48, 3)]
)
def test_depth_follows_the_resolution(resolution, depth):
    net = build_model("pix2pix", {"resolution": resolution, "width": 4, "d_width": 4})
    assert net.config.levels == depth
    x = torch.zeros(1, 1, resolution, resolution)
    assert net.G(x).shape == (1, 2, resolution, resolution)
    dropouts = [m for m in net.G.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == min(3, depth - 2)  # the paper's: next to the bottleneck, not outermost


def test_the_discriminator_is_conditioned_and_judges_patches():
    net = make(task="paired", in_channels=1, out_channels=4)
    assert net.D.net[0].in_channels == 1 + 4
    logits = net.D(torch.zeros(2, 5, 64, 64))
    assert (
        logits.shape[0] == 2 and logits.shape[1] == 1 and logits.shape[-1] > 1
    )  # a grid, not one logit


@pytest.mark.parametrize("size", [(37, 51), (5, 3), (1, 1), (64, 64)])
def test_any_size_is_padded_and_cropped_back(size):
    net = make().eval()
    h, w = size
    x = torch.rand(2, 3, h, w) * 2 - 1
    out = net.translate(x)
    assert out.shape == (2, 3, h, w) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1


def test_colorize_lab_keeps_the_lightness_of_grey_and_colour_inputs():
    net = make().eval()
    colour = torch.rand(1, 3, 24, 40) * 2 - 1
    grey = fit_channels(colour, 1)
    for x in (colour, grey):
        out = net.translate(x)
        assert (lightness(out) - lightness(fit_channels(x, 3))).abs().mean() < 0.01
    # a colour picture and its lightness-only version colourise the same
    assert torch.allclose(net.translate(colour), net.translate(lab_grey(colour)), atol=1e-3)


def lab_grey(x):
    lab = images_to_lab(x)
    return lab_to_images(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))


def test_translation_is_deterministic_and_noise_is_seeded():
    net = make().eval()
    x = torch.rand(1, 3, 32, 48) * 2 - 1
    plain = net.translate(x)
    assert torch.equal(plain, net.translate(x))
    a, b = net.translate(x, noise_seed=7), net.translate(x, noise_seed=7)
    assert torch.equal(a, b)
    assert not torch.equal(a, plain) and not torch.equal(a, net.translate(x, noise_seed=8))
    assert not any(m.training for m in net.G_ema.modules())  # noise left no module in train mode


def test_tile_windows_cover_the_image_with_the_overlap():
    for n, tile, overlap, multiple in ((150, 96, 32, 8), (1000, 256, 64, 16), (64, 96, 32, 8)):
        windows = spans(n, tile, overlap, multiple)
        assert windows[0][0] == 0 and windows[-1][1] == n
        for (_, end), (start, _) in pairwise(windows):
            assert end - start >= overlap
        assert all((e - s) % multiple == 0 or e - s == n for s, e in windows)


# -- a colouriser trained for real --------------------------------------------------------
@pytest.fixture(scope="module")
def colouriser(tmp_path_factory, one_thread):
    """pix2pix:task=colorize trained 600 steps on crops of the skimage/sklearn photos at 32 px."""
    reason = skip_reason(
        "samples"
    )  # the dev extra installs them; a bare `pip install -e .` does not
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("pix2pix") / "run"
    torch.manual_seed(0)
    net = build_model("pix2pix", {"resolution": 32, "width": 16, "d_width": 8})
    trainer, result = train(
        out,
        net=net,
        data="samples:names=photos,crops=200",
        steps=600,
        batch_size=16,
        lr=5e-4,
        log_every=200,
    )
    assert (result.step, result.reason) == (600, "done")
    return trainer, out


def test_the_colouriser_brings_held_out_photos_closer_to_their_colours(colouriser):
    trainer, out = colouriser
    model = load_model(out / "weights.safetensors")
    originals = trainer.holdout.permute(0, 2, 3, 1).cpu().numpy()  # never trained on
    assert len(originals) >= 50
    # what a user has: black-and-white pictures (Pillow's greyscale, one channel)
    grey = [Image.fromarray(o).convert("L") for o in originals]
    coloured = to_uint8(model.translate(pil_to_tensor(grey, 1)))
    grey_rgb = np.stack([np.asarray(g.convert("RGB")) for g in grey])
    model_error = skimage_delta_e(coloured, originals)
    grey_error = skimage_delta_e(grey_rgb, originals)
    assert model_error < 0.9 * grey_error, (model_error, grey_error)
    # and the trainer logged the same story on its held-out split
    last = metrics(out)[-1]
    assert last["val_colour_error"] < 0.9 * last["val_grey_colour_error"], last
    assert {"d_loss", "g_adv", "g_l1", "val_l1"} <= set(last)


def test_tiles_blend_without_seams(colouriser):
    _, out = colouriser
    model = load_model(out / "weights.safetensors")
    from artkit_data.samples import sample_image

    photo = sample_image("camera").convert("RGB").resize((200, 150), Image.Resampling.LANCZOS)
    x = pil_to_tensor([photo], 3)
    whole = model.translate(x)
    tiled = model.translate(x, tile=96, overlap=32)
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().mean() < 0.05

    def excess_jump(img):
        """The largest column-to-column change beyond the untiled picture's own."""
        jumps = (img[..., 1:] - img[..., :-1]).abs().mean(dim=(0, 1, 2))
        own = (whole[..., 1:] - whole[..., :-1]).abs().mean(dim=(0, 1, 2))
        return (jumps - own).max().item()

    assert excess_jump(tiled) < 0.02
    # the same tiles without feathering (no overlap) show their edges: bigger jumps, and
    # further from the untiled picture (each pixel saw less of its surroundings)
    hard = run_tiled(lambda t: model.translate(t), x, tile=64, overlap=0, multiple=8)
    assert excess_jump(hard) > 1.5 * excess_jump(tiled)
    assert (hard - whole).abs().mean() > 1.25 * (tiled - whole).abs().mean()


# -- paired data ----------------------------------------------------------------------------
def test_paired_and_side_by_side_hold_the_same_aligned_pairs(tmp_path, capsys):
    root = write_pairs(tmp_path)
    (root / "a" / "lonely.png").write_bytes((root / "a" / "000.png").read_bytes())
    net = make(task="paired")
    paired = dataset(f"paired:a={root / 'a'},b={root / 'b'}", net)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 of 25" in err[0] and "lonely.png" in err[0] and "24 pairs" in err[0]
    sbs = dataset(f"side-by-side:path={root / 'sbs'}", net)
    assert paired.as_array().shape == sbs.as_array().shape == (24, 32, 32, 6)
    assert np.abs(paired.as_array().astype(int) - sbs.as_array().astype(int)).max() <= 1
    swapped = dataset(f"side-by-side:path={root / 'sbs'},direction=BtoA", net)
    assert np.array_equal(swapped.as_array()[..., :3], sbs.as_array()[..., 3:])
    # A is B inverted: the trainer's flips, quarter turns and crops keep it so
    batch = from_uint8(torch.from_numpy(paired.as_array()).permute(0, 3, 1, 2).contiguous())
    moved = augment_batch(batch, ("flip", "rot90", "crop"), seed=3, step=5)
    assert not torch.allclose(moved, batch)
    assert (moved[:, :3] + moved[:, 3:]).abs().max() < 0.02
    # built at 3 channels (artkit data preview), the items are A | B side by side
    view = (
        get_registry("datasets")
        .get("paired")
        .create({"a": str(root / "a"), "b": str(root / "b")}, resolution=32, channels=3)
    )
    assert view[0].shape == (32, 64, 3) and view.label(0) == "000"


@pytest.mark.parametrize("layout", ["paired", "side-by-side"])
def test_paired_training_writes_weights_that_translate(tmp_path, layout):
    root = write_pairs(tmp_path / "data")
    spec = (
        f"paired:a={root / 'a'},b={root / 'b'}"
        if layout == "paired"
        else f"side-by-side:path={root / 'sbs'}"
    )
    net = make(task="paired", in_channels=1, out_channels=3)
    assert net.config.channels == 6  # both halves decoded as RGB, A reduced to grey
    _, result = train(tmp_path / "run", net=net, data=spec, steps=6, data_augment="flip,crop")
    assert result.step == 6
    model = load_model(tmp_path / "run" / "weights.safetensors")
    assert read_header(tmp_path / "run" / "weights.safetensors").model == "pix2pix"
    out = model.translate(torch.rand(1, 1, 45, 33) * 2 - 1)
    assert out.shape == (1, 3, 45, 33)


def test_training_on_the_wrong_kind_of_data_is_a_one_line_error(tmp_path):
    root = write_pairs(tmp_path / "data", count=8)
    net = make()  # colorize
    with pytest.raises(UsageError, match="task=paired"):
        net.split_batch(from_uint8(torch.zeros(2, 3, 32, 64, dtype=torch.uint8)))
    with pytest.raises(UsageError, match="channels=6"):
        get_registry("datasets").get("folder").create(
            {"path": str(root / "a")}, resolution=32, channels=make(task="paired").config.channels
        )


# -- training options ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("loss", "opts", "model_opts"),
    [
        ("bce", {}, {}),
        ("hinge", {"r1": 0.5}, {"norm": "instance"}),
        ("lsgan", {"augment": "color,translation,cutout"}, {"space": "rgb"}),
        ("wgan-gp", {"d_steps": 2}, {}),
        ("lsgan", {"precision": "bf16"}, {}),
    ],
    ids=["bce", "hinge-r1-instance", "lsgan-augment-rgb", "wgan-gp-2d", "bf16"],
)
def test_every_gan_loss_and_option_trains(tmp_path, loss, opts, model_opts):
    _, result = train(tmp_path, loss=loss, model_opts=model_opts, **opts)
    assert result.step == 4
    rows = metrics(tmp_path)
    assert all(np.isfinite(r["g_l1"]) and np.isfinite(r["d_loss"]) for r in rows)
    assert load_model(tmp_path / "weights.safetensors").translate(
        torch.zeros(1, 3, 20, 20)
    ).shape == (
        1,
        3,
        20,
        20,
    )


@pytest.mark.parametrize(
    ("model_opts", "opts"),
    [
        ({}, {}),
        ({"norm": "instance", "space": "rgb"}, {"augment": "translation", "ema": False}),
        ({}, {"precision": "bf16", "data_augment": "flip,jitter"}),
    ],
    ids=["lab-batchnorm", "rgb-instance-augment-no-ema", "bf16-data-augment"],
)
def test_exact_resume_reproduces_an_uninterrupted_run(tmp_path, model_opts, opts):
    # 32 images, batch 8: 4 steps per epoch, so the resumed half crosses an epoch boundary
    a, b = tmp_path / "a", tmp_path / "b"
    common = dict(model_opts=model_opts, checkpoint_every=3, **opts)
    train(a, steps=6, **common)
    train(b, steps=3, **common)
    _, result = train(b, steps=6, resume=True, **common)
    assert result.step == 6
    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "state.safetensors", b / "state.safetensors")
    keys = ("step", "d_loss", "g_adv", "g_l1")
    assert [{k: r[k] for k in keys} for r in metrics(b)] == [
        {k: r[k] for k in keys} for r in metrics(a)
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "sketch"}, "task='sketch' is not one of: colorize, paired"),
        ({"resolution": 16}, "resolution=16 is not allowed"),
        ({"resolution": 100, "depth": 3}, "not a multiple of 2**depth=8"),
        ({"in_channels": 2}, "in_channels=2 is not allowed"),
        ({"depth": 7, "resolution": 64}, "depth=7 is not allowed"),
        ({"dropout": 1.0}, "dropout=1.0 is not allowed"),
        ({"l1_weight": -1}, "l1_weight=-1.0 is not allowed"),
        ({"norm": "group"}, "norm='group' is not one of: batch, instance"),
    ],
)
def test_bad_configs_are_one_line_usage_errors(options, message):
    entry = get_registry("models").get("pix2pix")
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        entry.bind(options)
    assert "\n" not in str(info.value) and str(info.value).startswith("pix2pix: ")


@pytest.mark.slow
def test_two_process_ddp_trains_pix2pix(tmp_path):
    """torchrun with 2 gloo processes: one run folder written by rank 0, weights that translate."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", "train", "pix2pix:resolution=32,width=8,d_width=8",
         "--data", "shapes:count=32", "-b", "8", "--steps", "4", "--log-every", "2", "-o", "run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["run/weights.safetensors"]
    rows = metrics(tmp_path / "run")
    # 32 images less 2 held out, sharded over 2 ranks at 8 per batch: one step per epoch
    assert [r["step"] for r in rows] == [2, 4] and [r["epoch"] for r in rows] == [2.0, 4.0]
    assert all("val_colour_error" in r for r in rows)  # rank 0 evaluates
    model = load_model(tmp_path / "run" / "weights.safetensors")
    assert model.translate(torch.zeros(1, 1, 40, 24)).shape == (1, 3, 40, 24)
