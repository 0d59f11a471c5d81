"""Every registered model, loss and post-processor passes artkit.testing's conformance checks.

The same checks a third-party plugin author runs (``artkit.testing``), parametrised
over the whole registry, so a built-in is held to the plugin contract too. The
checks themselves are shown to fail on broken components registered inline with
the ``artkit_plugin`` fixture (from the ``pytest11`` entry point).
"""

from __future__ import annotations

import random

import pytest
import torch
from PIL import Image

import artkit
from artkit.plugins import get_registry, reset
from artkit.testing import ConformanceError, check_loss, check_model, check_postprocessor


def names(kind: str) -> list[str]:
    reset()
    try:
        return get_registry(kind).names()
    finally:
        reset()


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", names("models"))
def test_every_model_conforms(name, tmp_path):
    check_model(name, tmp_dir=tmp_path)


@pytest.mark.parametrize("name", names("losses"))
def test_every_loss_conforms(name):
    check_loss(name)


@pytest.mark.parametrize("name", names("postprocessors"))
def test_every_postprocessor_conforms(name):
    check_postprocessor(name)


# -- the checks catch broken components -------------------------------------------------------


class BrokenSteps:
    @artkit.hookimpl
    def register_postprocessors(self, register):
        def noisy(image):
            out = image.copy()
            out.putpixel((0, 0), (random.randrange(256),) * len(image.getbands()))
            return out

        def in_place(image):
            image.paste(0, (0, 0, 4, 4))
            return image

        def not_an_image(image):
            return "oops"

        register("noisy", noisy)
        register("in-place", in_place)
        register("not-an-image", not_an_image)


class BackwardsLoss:
    @artkit.hookimpl
    def register_losses(self, register):
        class Backwards:
            def d_loss(self, real, fake):
                return (real.float() - fake.float()).mean()  # rewards the wrong side

            def g_loss(self, fake, real=None):
                return fake.float().mean()

        register("backwards", Backwards)


@pytest.mark.parametrize(
    "step, rule",
    [
        ("noisy", "not deterministic"),
        ("in-place", "modified its input image in place"),
        ("not-an-image", "returned str, not a PIL image"),
    ],
)
def test_postprocessor_check_fails_on_broken_steps(artkit_plugin, step, rule):
    artkit_plugin(BrokenSteps(), name="broken-steps")
    with pytest.raises(ConformanceError, match=rule) as info:
        check_postprocessor(step)
    assert str(info.value).startswith(f"post-processor {step!r}: ")


def test_loss_check_fails_on_a_loss_pointing_the_wrong_way(artkit_plugin):
    artkit_plugin(BackwardsLoss(), name="backwards-loss")
    with pytest.raises(ConformanceError, match="d_loss must be lower when real scores high"):
        check_loss("backwards")


def test_model_check_fails_when_sampling_ignores_the_seed(artkit_plugin):
    class SeedBlind:
        @artkit.hookimpl
        def register_models(self, register):
            def build(**options):
                from artkit_gan.torch_model import build_mlp_gan

                model = build_mlp_gan(**options)
                model.sample = lambda n, generator=None, **kw: torch.zeros(n, 1, 8, 8)
                return model

            from artkit_gan.configs import MLPGANConfig

            register(
                "seed-blind", build, params=MLPGANConfig, test_config={"resolution": 8, "hidden": 8}
            )

    artkit_plugin(SeedBlind(), name="seed-blind")
    with pytest.raises(ConformanceError, match="different seeds gave the same samples"):
        check_model("seed-blind", train_steps=0)


def test_the_fixture_unregisters_after_the_test():
    assert "noisy" not in get_registry("postprocessors")
    assert "backwards" not in get_registry("losses")


def test_tiny_images_are_real_and_varied():
    from artkit.testing import tiny_images

    images = tiny_images(4, 20, mode="RGBA")
    assert all(isinstance(im, Image.Image) and im.size == (20, 20) for im in images)
    assert len({im.tobytes() for im in images}) == 4
    assert images[0].getchannel("A").getextrema() != (255, 255)
