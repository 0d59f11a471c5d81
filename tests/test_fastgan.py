"""The ``fastgan`` model: its networks' shapes, its config checks, and a short real training run.

The registry-wide checks (``tests/test_conformance.py``) already cover sampling,
determinism, checkpoint round trips and a two-step train; these tests pin what is
FastGAN's own: skip-layer excitation at every size, the discriminator's decoder,
the reconstruction loss in the logged metrics, and that a few dozen steps on
shapes give usable, reloadable samples.
"""

from __future__ import annotations

import pytest
import torch

import artkit
from artkit.checkpoint import build_model, load_model
from artkit.errors import UsageError
from artkit_gan.configs import FastGANConfig
from tests.helpers import metrics

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(
    ("resolution", "channels", "gates"),
    [(32, 1, ["32"]), (32, 3, ["32"]), (64, 3, ["32", "64"]), (128, 4, ["32", "64", "128"])],
)
def test_networks_have_the_right_shapes(resolution, channels, gates):
    torch.manual_seed(0)
    model = build_model(
        "fastgan", {"resolution": resolution, "channels": channels, "width": 0.125, "z_dim": 16}
    )
    assert sorted(model.G.sle) == sorted(gates)  # side s gates side 8 s
    images = model.G(torch.randn(3, 16))
    assert images.shape == (3, channels, resolution, resolution)
    assert images.abs().max() <= 1
    logits = model.D(images)
    assert logits.shape == (3,)
    logits, recon = model.D(images, reconstruct=2)  # the decoder sees the first two only
    assert logits.shape == (3,) and recon.shape == (2, channels, 32, 32)
    assert recon.abs().max() <= 1
    # the logit conv is D's last conv: the `checkpoint:` feature extractor hooks that one
    convs = [m for m in model.D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[-1].out_channels == 1 and convs[-1].kernel_size == (4, 4)


def test_recon_weight_zero_builds_no_decoder():
    model = build_model("fastgan", {"width": 0.125, "recon_weight": 0})
    assert model.D.decoder is None
    assert not any(k.startswith("D.decoder") for k in model.state_dict())
    with pytest.raises(ValueError, match="no decoder"):
        model.D(torch.zeros(1, 3, 32, 32), reconstruct=1)


def test_d_width_widens_the_discriminator_alone():
    plain = build_model("fastgan", {"width": 0.125})
    wide = build_model("fastgan", {"width": 0.125, "d_width": 2})
    for a, b in zip(plain.G.parameters(), wide.G.parameters(), strict=True):
        assert a.shape == b.shape  # the generator is the same network

    def convs(net):
        return [m for m in net.D.modules() if isinstance(m, torch.nn.Conv2d)]

    # every hidden layer (trunk and decoder) twice as wide; image and logit layers fixed
    pairs = list(zip(convs(plain), convs(wide), strict=True))
    assert [b.out_channels for _, b in pairs[:-1] if b.out_channels > 3] == [
        2 * a.out_channels for a, _ in pairs[:-1] if a.out_channels > 3
    ]
    assert convs(wide)[-1].out_channels == 1
    logits, recon = wide.D(torch.zeros(2, 3, 32, 32), reconstruct=1)
    assert logits.shape == (2,) and recon.shape == (1, 3, 32, 32)
    with pytest.raises(UsageError, match="width x d_width at most 16"):
        FastGANConfig(width=8, d_width=4)


@pytest.mark.parametrize(("palette", "rank"), [(2, 1), (3, 2)])
def test_a_palette_generator_paints_each_image_from_its_k_colours(palette, rank):
    """Every pixel is a convex mix of K colours picked per image, so an image's pixels
    span at most K - 1 dimensions of colour space around their mean; free RGB spans 3."""
    torch.manual_seed(0)
    model = build_model("fastgan", {"width": 0.125, "z_dim": 16, "palette": palette})
    free = build_model("fastgan", {"width": 0.125, "z_dim": 16})
    for net in (model, free):
        for p in net.G.parameters():  # louder weights than the init's, so colours differ
            p.data.normal_(0, 0.5)
    z = torch.randn(4, 16)
    for images, most in ((model.G.eval()(z), rank), (free.G.eval()(z), 3)):
        assert images.shape == (4, 3, 32, 32) and images.abs().max() <= 1
        for image in images.detach():
            pixels = image.reshape(3, -1).T.double()
            spread = torch.linalg.svdvals(pixels - pixels.mean(0))
            assert (spread > 1e-4 * spread[0]).sum() == most
    # each image gets its own colours
    colours = model.G.eval()(z).detach().reshape(4, 3, -1).mean(-1)
    assert torch.cdist(colours, colours).fill_diagonal_(1).min() > 1e-3


def test_mbstd_shows_d_each_groups_spread_and_never_mixes_real_with_fake():
    torch.manual_seed(0)
    plain = build_model("fastgan", {"width": 0.125, "classes": 3})
    model = build_model("fastgan", {"width": 0.125, "classes": 3, "mbstd": 4})
    # D's last down block reads one channel more, the group's spread; nothing else changes
    assert model.D.head[0][0].in_channels == plain.D.head[0][0].in_channels + 1
    assert model.D.head[1].in_channels == plain.D.head[1].in_channels
    assert [p.shape for p in model.G.parameters()] == [p.shape for p in plain.G.parameters()]
    model.D.eval()  # spectral norm's power iteration stays put between the calls
    real, labels = torch.randn(8, 3, 32, 32), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    fake_a, fake_b = torch.randn(8, 3, 32, 32), torch.zeros(8, 3, 32, 32)
    both = torch.cat([labels, labels])
    with torch.no_grad():
        a = model.D(torch.cat([real, fake_a]), labels=both, reconstruct=8)[0]
        b = model.D(torch.cat([real, fake_b]), labels=both, reconstruct=8)[0]
        alone = model.D(real, labels=labels)
    # one call judges real and fake; the reals' logits do not depend on the fakes
    assert torch.allclose(a[:8], b[:8], atol=1e-6) and torch.allclose(a[:8], alone, atol=1e-6)
    # a picture's logit depends on its group's spread: judged one by one (a group of
    # one, spread 0) varied fakes score otherwise; identical ones score the same
    with torch.no_grad():

        def one_by_one(x):
            return torch.cat([model.D(x[i : i + 1], labels=labels[i : i + 1]) for i in range(8)])

        assert not torch.allclose(a[8:], one_by_one(fake_a), atol=1e-3)
        assert torch.allclose(b[8:], one_by_one(fake_b), atol=1e-5)


@pytest.mark.parametrize(
    "bad",
    [
        {"resolution": 48},
        {"channels": 2},
        {"width": 0},
        {"width": float("nan")},
        {"z_dim": 0},
        {"recon_weight": -1.0},
        {"palette": 1},
        {"palette": 65},
        {"palette": True},
        {"palette": 2.5},
        {"grey": 1},
        {"grey": "yes"},
        {"d_width": 0},
        {"d_width": 5},
        {"d_width": "wide"},
        {"mbstd": 1},
        {"mbstd": 65},
        {"mbstd": True},
    ],
)
def test_config_refuses_bad_values_in_one_line(bad):
    (name,) = bad
    with pytest.raises(UsageError, match=name) as info:
        FastGANConfig(**bad)
    assert "\n" not in str(info.value)


def test_a_short_run_trains_and_reloads(tmp_path):
    run = tmp_path / "run"
    trained = artkit.train(
        "fastgan:resolution=32,width=0.125",
        "shapes:count=64",
        steps=30,
        batch_size=16,
        log_every=5,
        sample_every=0,
        out=run,
        device="cpu",
        precision="fp32",
        seed=0,
    )
    assert (trained.step, trained.reason) == (30, "done")
    rows = metrics(run)
    assert all({"d_loss", "g_loss", "recon_loss"} <= set(r) for r in rows if "d_loss" in r)
    recon = [r["recon_loss"] for r in rows if "recon_loss" in r]
    assert recon[-1] < recon[0]  # D learns to describe the real images

    net = load_model(trained.weights).eval()
    assert net.config.width == 0.125 and type(net).default_loss == "hinge"
    z = net.latents_for_seeds(list(range(8)))
    images = net.generate(z)
    assert torch.isfinite(images).all() and images.abs().max() <= 1
    assert images.std() > 0.05 and (images[0] - images[1]).abs().max() > 0.01

    again = artkit.load(run, device="cpu", precision="fp32")
    assert torch.equal(again.net.generate(z), images)
    first, second = again.sample([3, 5]), again.sample([3, 5])
    assert [im.tobytes() for im in first] == [im.tobytes() for im in second]


def test_a_palette_run_trains_and_reloads(tmp_path):
    trained = artkit.train(
        "fastgan:resolution=32,width=0.125,palette=4",
        "shapes:count=64",
        steps=20,
        batch_size=16,
        log_every=5,
        sample_every=0,
        out=tmp_path / "run",
        device="cpu",
        seed=0,
    )
    net = load_model(trained.weights).eval()
    assert net.config.palette == 4
    z = net.latents_for_seeds(list(range(4)))
    images = net.generate(z)
    assert torch.isfinite(images).all() and images.std() > 0.05
    assert torch.equal(artkit.load(trained.path, device="cpu").net.generate(z), images)


@pytest.mark.parametrize(
    ("spec", "palette"), [("fastgan:width=0.125", 8), ("fastgan:width=0.125,palette=0", 0)]
)
def test_shapes_ask_for_a_palette_and_the_user_wins(tmp_path, spec, palette):
    trained = artkit.train(
        spec, "shapes:count=16", steps=1, batch_size=4, sample_every=0,
        out=tmp_path / "run", device="cpu", seed=0,
    )  # fmt: skip
    assert load_model(trained.weights).config.palette == palette


def test_reconstruction_trains_alongside_penalties_and_augment(tmp_path):
    """R1 differentiates D's real logits and WGAN-GP calls D alone; both beside the decoder."""
    trained = artkit.train(
        "fastgan:resolution=32,width=0.125,channels=1",
        "shapes:count=8",
        steps=2,
        batch_size=4,
        loss="wgan-gp",
        r1=0.5,
        augment="color,translation,cutout",
        log_every=1,
        sample_every=0,
        out=tmp_path / "run",
        device="cpu",
        precision="fp32",
        seed=0,
    )
    assert trained.reason == "done"
    assert all(torch.isfinite(torch.tensor(r["recon_loss"])) for r in metrics(trained.path))
