"""Grey painting: grey data train generators that paint one grey channel (``artkit.nn.grey``).

A grey generator (``grey=true`` on fastgan, dcgan and the VAE's decoder) cannot
tint: R, G and B are one painted channel. Sources that know or can see that
their pictures are grey ask for it in ``model_defaults`` (``glyphs`` and grey
``idx`` files by construction; ``folder``, ``samples`` and ``single-image`` by
looking, :func:`artkit.data.grey_to_paint`), and the user's ``grey=false`` wins.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import artkit
from artkit.checkpoint import build_model, load_model
from artkit.data import grey_to_paint
from artkit_data import samples as samples_mod
from artkit_data.idx import write_idx
from artkit_data.samples import SamplesDataset
from artkit_data.single_image import SingleImageDataset


@pytest.mark.parametrize("palette", [0, 3])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_a_grey_generator_paints_red_green_and_blue_alike(channels, palette):
    torch.manual_seed(0)
    options = {"width": 0.125, "z_dim": 16, "channels": channels, "palette": palette}
    grey, free = (build_model("fastgan", {**options, "grey": g}) for g in (True, False))
    for net in (grey, free):
        for p in net.G.parameters():  # louder weights than the init's, so channels differ
            p.data.normal_(0, 0.5)
    z = torch.randn(4, 16)
    images, tinted = grey.G.eval()(z), free.G.eval()(z)
    assert images.shape == tinted.shape == (4, channels, 32, 32) and images.abs().max() <= 1
    if channels == 1:
        return
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])
    assert not torch.allclose(tinted[:, 0], tinted[:, 1])  # a free painter tints
    if channels == 4:  # alpha is painted on its own
        assert not torch.allclose(images[:, 3], images[:, 0])
    # one grey channel (plus alpha) is painted: no weights are spent on colour
    head = grey.G.to_image
    painted = head.pick.out_features // palette if palette else head[0].out_channels
    assert painted == (2 if channels == 4 else 1)


@pytest.mark.parametrize(
    ("spec", "colour", "grey"),
    [
        ("fastgan:width=0.125", False, True),  # grey files read as RGB: a grey painter
        ("fastgan:width=0.125,grey=false", False, False),  # the user wins
        ("fastgan:width=0.125,channels=1", False, False),  # one channel is grey already
        ("fastgan:width=0.125", True, False),  # colour files: colour
        ("dcgan:width=0.125,resolution=32", False, True),  # the classic paints grey too
        ("vae:width=0.125,resolution=32", False, True),  # and so does the VAE's decoder
    ],
)
def test_grey_data_ask_for_a_grey_painter(tmp_path, spec, colour, grey):
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 255, (8, 32, 32, 3) if colour else (8, 32, 32), dtype=np.uint8)
    images = write_idx(tmp_path / "train-images-idx3-ubyte", pictures)
    trained = artkit.train(
        spec, f"idx:path={images}", steps=2, batch_size=4, sample_every=0,
        out=tmp_path / "run", device="cpu", seed=0,
    )  # fmt: skip
    net = load_model(trained.weights).eval()
    assert net.config.grey is grey
    if grey:  # trained (bf16 where the CPU has it) and reloaded, it still cannot tint
        drawn = artkit.load(trained.path, device="cpu").sample(range(4))
        assert all(im.mode == "RGB" for im in drawn)
        pixels = np.stack([np.asarray(im) for im in drawn]).astype(int)
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_grey_to_paint_looks_at_every_picture():
    pictures = np.repeat(np.random.default_rng(0).integers(0, 255, (300, 4, 4, 1)), 3, axis=-1)
    assert grey_to_paint(pictures.astype(np.uint8), 3) == {"grey": True}
    pictures[299, 1, 2, 0] += 1  # one pixel of the last block leans red
    assert grey_to_paint(pictures.astype(np.uint8), 3) == {}
    alpha = np.concatenate([pictures[:2, ..., :1].repeat(3, -1), pictures[:2, ..., :1] // 2], -1)
    assert grey_to_paint(alpha.astype(np.uint8), 4) == {"grey": True}  # alpha is its own
    assert grey_to_paint(pictures[..., :1].astype(np.uint8), 1) == {}  # one channel: nothing to tie


@pytest.mark.parametrize("colourful", [False, True])
def test_a_folder_of_grey_pictures_asks_for_a_grey_painter(tmp_path, colourful):
    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8), "L").save(
            folder / f"{i}.png"
        )
    if colourful:
        Image.new("RGB", (40, 40), (200, 30, 30)).save(folder / "red.png")
    trained = artkit.train(
        "fastgan:width=0.125", f"folder:path={folder}", steps=1, batch_size=4, sample_every=0,
        out=tmp_path / "run", device="cpu", seed=0,
    )  # fmt: skip
    assert load_model(trained.weights).config.grey is not colourful


@pytest.mark.parametrize("colourful", [False, True])
def test_a_grey_picture_asks_single_image_for_a_grey_painter(tmp_path, colourful):
    rng = np.random.default_rng(0)
    picture = np.repeat(rng.integers(0, 255, (60, 80, 1), dtype=np.uint8), 3, axis=-1)
    if colourful:
        picture[7, 9, 1] ^= 1  # one pixel leaning green makes it a colour picture
    Image.fromarray(picture, "RGB").save(tmp_path / "etching.png")
    path = tmp_path / "etching.png"
    ds = SingleImageDataset(resolution=32, channels=3, path=str(path), count=16, cache=False)
    assert ds.model_defaults() == ({} if colourful else {"grey": True})
    if not colourful:  # crops of a grey picture are grey: the promise grey painting keeps
        crops = ds.as_array()
        assert (crops[..., 0] == crops[..., 1]).all() and (crops[..., 1] == crops[..., 2]).all()
        trained = artkit.train(
            "fastgan:width=0.125", f"single-image:path={path},count=16", steps=1,
            batch_size=4, sample_every=0, out=tmp_path / "run", device="cpu", seed=0,
        )  # fmt: skip
        assert load_model(trained.weights).config.grey is True
    rgba = SingleImageDataset(resolution=32, channels=4, path=str(path), count=4, cache=False)
    assert rgba.model_defaults() == ({} if colourful else {"grey": True})
    one = SingleImageDataset(resolution=32, channels=1, path=str(path), count=4, cache=False)
    assert one.model_defaults() == {}  # one channel is grey already


@pytest.mark.skipif(
    not samples_mod.installed(),
    reason="scikit-image / scikit-learn not installed (pip install 'artkit[samples]')",
)
def test_grey_sample_photos_ask_for_a_grey_painter():
    assert SamplesDataset(resolution=16, channels=3, names="camera/moon").model_defaults() == {
        "grey": True
    }
    assert (
        SamplesDataset(resolution=16, channels=3, names="camera/astronaut").model_defaults() == {}
    )
