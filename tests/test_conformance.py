"""Every registered model, loss, post-processor, dataset and extractor passes artkit.testing's checks.

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
from artkit.testing import (
    ConformanceError,
    check_dataset,
    check_extractor,
    check_loss,
    check_model,
    check_postprocessor,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def names(kind: str) -> list[str]:
    reset()
    try:
        return get_registry(kind).names()
    finally:
        reset()


@pytest.mark.parametrize("name", names("models"))
def test_every_model_conforms(name, tmp_path):
    check_model(name, tmp_dir=tmp_path)


@pytest.mark.parametrize("name", names("losses"))
def test_every_loss_conforms(name):
    check_loss(name)


@pytest.mark.parametrize("name", names("postprocessors"))
def test_every_postprocessor_conforms(name):
    check_postprocessor(name)


@pytest.mark.parametrize("name", names("datasets"))
def test_every_dataset_conforms(name, tmp_path):
    check_dataset(name, tmp_dir=tmp_path)


def tiny_model_file(folder):
    from artkit.checkpoint import build_model, save_model

    model = build_model("vae", {"resolution": 32, "width": 0.125, "z_dim": 8})
    return {"path": str(save_model(model, folder / "tiny-vae.safetensors"))}


#: settings for components whose plugin declares no ``test_params`` of its own (yet)
UNDECLARED = {"checkpoint": tiny_model_file}


@pytest.mark.parametrize("name", names("extractors"))
def test_every_extractor_conforms(name, monkeypatch, tmp_path):
    monkeypatch.setenv("ARTKIT_OFFLINE", "1")  # no weight downloads: vgg falls back, with a notice
    declared = get_registry("extractors").get(name).extra.get("test_params")
    params = UNDECLARED[name](tmp_path) if name in UNDECLARED and not declared else {}
    check_extractor(name, **params)


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


def broken_mlp_gan(name: str, **patches):
    """A plugin registering ``name``: the real mlp-gan with some methods replaced."""

    class BrokenGAN:
        @artkit.hookimpl
        def register_models(self, register):
            from artkit_gan.configs import MLPGANConfig

            def build(**options):
                from artkit_gan.torch_model import build_mlp_gan

                model = build_mlp_gan(**options)
                for method, make in patches.items():
                    setattr(model, method, make(model))
                return model

            register(name, build, params=MLPGANConfig, test_config={"resolution": 8, "hidden": 8})

    return BrokenGAN()


def frozen_optimizers(model):
    return lambda options: {
        net: torch.optim.SGD(getattr(model, net).parameters(), lr=0.0) for net in ("D", "G")
    }


def one_generator_for_the_batch(model):
    from artkit.device import make_generator

    return lambda seeds, truncation=1.0: model.latents(len(seeds), make_generator(seeds[0]))


@pytest.mark.parametrize(
    "patches, train, rule",
    [
        ({"sample": lambda m: lambda n, generator=None, **kw: torch.zeros(n, 1, 8, 8)}, 0,
         "different seeds gave the same samples"),
        ({"sample": lambda m: lambda n, generator=None, **kw: torch.ones(n, 1, 8, 8) * 2}, 0,
         r"sample\(2\) must be in \[-1, 1\], got \[2.000, 2.000\]"),
        ({"latents_for_seeds": one_generator_for_the_batch}, 0,
         "seed 5 gave a different image alone than in a batch with seed 4"),
        ({"configure_optimizers": frozen_optimizers}, 2, "a training step changed no weights"),
    ],
)  # fmt: skip
def test_model_check_fails_on_broken_models(artkit_plugin, tmp_path, patches, train, rule):
    artkit_plugin(broken_mlp_gan("broken-gan", **patches), name="broken-gan")
    with pytest.raises(ConformanceError, match=rule) as info:
        check_model("broken-gan", train_steps=train, tmp_dir=tmp_path)
    assert str(info.value).startswith("model 'broken-gan': ")


def test_model_check_names_the_methods_artkit_sample_needs(toy_plugin):
    # tests/toy_plugin.py has sample() only: artkit sample would fail on it
    with pytest.raises(ConformanceError, match=r"has no latents_for_seeds\(\); artkit sample"):
        check_model("toy", train_steps=0)


def test_model_check_wants_usage_errors_for_bad_options(artkit_plugin):
    from dataclasses import dataclass

    @dataclass
    class LaxConfig:
        z_dim: int = 8

    class Lax:
        @artkit.hookimpl
        def register_models(self, register):
            from artkit_gan.torch_model import build_mlp_gan

            # no params= declared: unknown options reach the dataclass, a TypeError
            register("lax", lambda **options: build_mlp_gan(**vars(LaxConfig(**options))))

    artkit_plugin(Lax(), name="lax")
    with pytest.raises(
        ConformanceError, match=r"must raise UsageError .*, not TypeError; register"
    ):
        check_model("lax")


class SquashedSource:
    """A dataset source whose items are half as wide as they must be."""

    def __init__(self, resolution, channels, count=4):
        self.resolution, self.channels, self.count = resolution, channels, count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        import numpy as np

        if not -self.count <= index < self.count:
            raise IndexError(index)
        return np.zeros((self.resolution, self.resolution // 2, self.channels), np.uint8)

    def fingerprint(self):
        return "00c0ffee"


def test_dataset_check_fails_on_items_of_the_wrong_shape(artkit_plugin, tmp_path):
    from dataclasses import dataclass

    @dataclass
    class SquashedConfig:
        count: int = 4

    class Squashed:
        @artkit.hookimpl
        def register_datasets(self, register):
            register("squashed", SquashedSource, params=SquashedConfig)

    artkit_plugin(Squashed(), name="squashed")
    with pytest.raises(
        ConformanceError, match=r"channels=1: item 0 is uint8 \(16, 8, 1\), not uint8 \(16, 16, 1\)"
    ):
        check_dataset("squashed", tmp_dir=tmp_path)


def test_extractor_check_fails_when_no_gradient_reaches_the_image(artkit_plugin):
    class Detached:
        @artkit.hookimpl
        def register_extractors(self, register):
            def build(device="cpu", **options):
                from artkit_style.nn_extractors import build_random_multiscale

                extractor = build_random_multiscale(device=device).freeze()
                forward = extractor.forward
                extractor.forward = lambda images, layers: forward(images.detach(), layers)
                return extractor

            register("detached", build)

    artkit_plugin(Detached(), name="detached")
    with pytest.raises(ConformanceError, match="no finite gradient reaches the input image"):
        check_extractor("detached")


def test_extractor_check_fails_when_features_depend_on_the_batch(artkit_plugin):
    class BatchNormed:
        @artkit.hookimpl
        def register_extractors(self, register):
            class Embedder(torch.nn.Module):
                def embed(self, images):  # centred over the batch: one image alone is all 0
                    flat = images.flatten(1)
                    return flat - flat.mean(0)

            register("batch-normed", lambda device="cpu": Embedder())

    artkit_plugin(BatchNormed(), name="batch-normed")
    with pytest.raises(ConformanceError, match="features depend on the rest of its batch"):
        check_extractor("batch-normed")


def test_postprocessor_check_holds_steps_to_keeps_size(artkit_plugin):
    class Shrinks:
        @artkit.hookimpl
        def register_postprocessors(self, register):
            register("shrink", lambda image: image.resize((4, 4)), keeps_size=True)

    artkit_plugin(Shrinks(), name="shrinks")
    with pytest.raises(
        ConformanceError, match=r"keeps_size=True but turned \(24, 24\) into \(4, 4\)"
    ):
        check_postprocessor("shrink")


def test_the_fixture_unregisters_after_the_test():
    assert "noisy" not in get_registry("postprocessors")
    assert "backwards" not in get_registry("losses")
    assert "broken-gan" not in get_registry("models")


def test_tiny_images_are_real_and_varied():
    from artkit.testing import tiny_images

    images = tiny_images(4, 20, mode="RGBA")
    assert all(isinstance(im, Image.Image) and im.size == (20, 20) for im in images)
    assert len({im.tobytes() for im in images}) == 4
    assert images[0].getchannel("A").getextrema() != (255, 255)
