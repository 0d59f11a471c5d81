"""The typed model contract (artkit.model): capabilities, declared defaults, LatentModel.

Every attribute the core reads from a model is declared on ArtModel with a default
(so the core reads it plainly), every built-in family satisfies the capability
Protocols it claims, the trainer's context matches the documented StepContext, and
LatentModel draws the same latents the families drew before they shared it.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
import torch

from artkit.checkpoint import build_model
from artkit.device import make_generator
from artkit.errors import UsageError
from artkit.model import (
    ADVERSARIAL_OPTIONS,
    ArtModel,
    Encoder,
    LatentModel,
    LatentSampler,
    StepContext,
    Trainable,
    Translator,
)
from artkit.plugins import get_registry
from artkit.train.loop import TrainContext

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "dcgan": {"resolution": 32, "width": 0.125, "z_dim": 8},
    "mlp-gan": {"resolution": 8, "hidden": 16, "z_dim": 8},
    "vae": {"resolution": 32, "width": 0.25, "z_dim": 8},
    "pix2pix": {"resolution": 32, "width": 8, "d_width": 8},
}

#: what the core reads from a model besides its networks and capabilities
DECLARED = {
    "network_names": (),
    "ema_pairs": {},
    "trained_networks": (),
    "holdout_fraction": 0.0,
    "default_lr": 2e-4,
    "default_loss": "",
    "loss_method": "d_loss",
    "adversarial_options": None,
}


def test_every_attribute_the_core_reads_is_declared_with_its_default():
    for name, default in DECLARED.items():
        assert getattr(ArtModel, name) == default, name
    source = inspect.getsource(ArtModel)
    for name in DECLARED:
        # each carries a one-line ``#:`` comment, the docstring of a class attribute
        assert "#: " in source.split(f"    {name}:")[0].rsplit("\n", 2)[-2], name
    for method in ("evaluate", "prepare_for_inference"):
        assert inspect.getdoc(getattr(ArtModel, method)), method


def test_defaults_are_harmless():
    model = ArtModel(None, registry_name="bare")
    assert model.evaluate(torch.zeros(1, 3, 4, 4)) == {}
    assert model.prepare_for_inference("cpu", "fp32", compile=False) is None
    # capability methods are never defaulted: a bare model can do nothing
    assert model.capabilities() == []
    assert not isinstance(model, LatentSampler | Encoder | Translator | Trainable)


@pytest.mark.parametrize(
    ("name", "protocols"),
    [
        ("dcgan", (LatentSampler, Trainable)),
        ("mlp-gan", (LatentSampler, Trainable)),
        ("vae", (LatentSampler, Encoder, Trainable)),
        ("pix2pix", (Translator, Trainable)),
    ],
)
def test_built_in_families_satisfy_their_protocols(name, protocols):
    model = build_model(name, TINY[name])
    for protocol in protocols:
        assert isinstance(model, protocol), protocol.__name__
    assert isinstance(model, LatentModel) == (LatentSampler in protocols)


def test_the_trainer_context_is_the_documented_step_context():
    documented = {n for n in vars(StepContext) if not n.startswith("_")} | set(
        StepContext.__annotations__
    )
    ctx_members = {n for n in vars(TrainContext) if not n.startswith("_")}
    init_source = inspect.getsource(TrainContext.__init__)
    ctx_members |= {n for n in documented if f"self.{n}" in init_source}
    assert documented <= ctx_members, documented - ctx_members


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_latents_for_seeds_are_per_seed_draws_scaled_by_truncation(name):
    model = build_model(name, TINY[name])
    z = model.latents_for_seeds([3, 1, 3], truncation=0.5)
    expected = torch.randn(1, model.z_dim, generator=make_generator(1)) * 0.5
    assert z.shape == (3, model.z_dim)
    assert torch.equal(z[1:2], expected)
    assert torch.equal(z[0], z[2])
    # sample(n, generator) draws n latents from that generator, then generate()s them
    a = model.sample(2, make_generator(7), truncation=0.7)
    b = model.generate(torch.randn(2, model.z_dim, generator=make_generator(7)) * 0.7)
    assert torch.equal(a, b)


def test_model_docstring_documents_the_calls_that_exist():
    import artkit.model

    doc = artkit.model.__doc__
    assert "stylize(content, style)" not in doc
    assert "sample(n, generator, **opts)" not in doc
    for name in (
        "latents_for_seeds",
        "generate",
        "encode",
        "translate",
        "stylize",
        "training_step",
    ):
        assert name in doc


def test_no_getattr_with_default_on_models_in_the_trainer():
    """The trainer reads declared attributes plainly (defaults live on ArtModel)."""
    for path in (ROOT / "artkit" / "train").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "getattr"
                and len(node.args) == 3
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in DECLARED
            ):
                raise AssertionError(
                    f"{path.name}:{node.lineno} getattr(..., {node.args[1].value!r}, ...)"
                )


def _trainable_built_ins() -> list[type]:
    """Every model class the built-in plugins define that ``artkit train`` can train."""
    import importlib

    for entry in get_registry("models"):  # the factories' modules define the classes
        importlib.import_module(entry.factory_ref.partition(":")[0])

    def below(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *below(sub))]

    found = {
        c for c in below(ArtModel)
        if c.__module__.startswith("artkit_") and callable(getattr(c, "training_step", None))
    }  # fmt: skip
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def test_every_built_in_trainable_declares_exactly_the_adversarial_options_it_reads():
    import re
    import sys

    classes = _trainable_built_ins()
    names = {c.__name__ for c in classes}
    assert {"GAN", "FastGAN", "VAE", "Pix2Pix", "MuseGAN", "MusicVAE", "FastStyle"} <= names
    for cls in classes:
        assert cls.adversarial_options is not None, cls.__name__
        # what its modules read from the train options (adversarial_optimizers reads --lr-d)
        source = "".join(
            inspect.getsource(sys.modules[c.__module__])
            for c in cls.__mro__
            if isinstance(c, type) and issubclass(c, ArtModel) and c.__module__ != "artkit.model"
        )
        read = set(
            re.findall(r"\b(?:opts|options)\.(" + "|".join(ADVERSARIAL_OPTIONS) + r")\b", source)
        )
        if "adversarial_optimizers(" in source:
            read.add("lr_d")
        assert set(cls.adversarial_options) == read, cls.__name__


@pytest.mark.parametrize(
    ("spec", "flags", "message"),
    [
        ("vae:resolution=32,width=0.25", ["--r1", "10"], "model 'vae' does not use --r1; leave it out"),
        ("vae:resolution=32,width=0.25", ["--lr-d", "1e-3"], "model 'vae' does not use --lr-d; leave it out"),
        ("vae:resolution=32,width=0.25", ["--augment", "color"], "model 'vae' does not use --augment; leave it out"),
        ("pix2pix:resolution=32,width=8,d_width=8", ["--mode-seeking", "0.1"],
         "model 'pix2pix' does not use --mode-seeking; leave it out"),
        ("musegan", ["--mode-seeking", "0.1"],
         "model 'musegan' does not use --mode-seeking; musegan takes it as a model option: "
         "musegan:mode_seeking=..."),
    ],
)  # fmt: skip
def test_an_option_the_model_does_not_read_is_refused_not_ignored(tmp_path, spec, flags, message):
    from artkit.testing import run_cli
    from tests.helpers import one_error_line

    out = tmp_path / "run"
    result = run_cli(["--device", "cpu", "train", spec, "--data", "shapes:count=8", "--steps", "1",
                      *flags, "-o", str(out)])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert one_error_line(result.stderr) == f"artkit: error: {message}"
    assert not out.exists()


def test_a_model_that_declares_nothing_refuses_nothing():
    # a third-party model written before the declaration existed keeps working
    model = ArtModel(None, registry_name="old-plugin")
    model.refuse_unread_options(set(ADVERSARIAL_OPTIONS))
    # and one that declares is held to it, by its registered name
    model.adversarial_options = frozenset({"r1"})
    model.refuse_unread_options({"r1", "steps", "lr"})
    with pytest.raises(UsageError, match="model 'old-plugin' does not use --d-steps"):
        model.refuse_unread_options({"r1", "d_steps"})


def test_musegan_refuses_diffaugment_before_any_run_folder_is_made():
    from artkit.train.options import TrainOptions

    net = build_model("musegan", {})
    assert "augment" in net.adversarial_options  # read, to refuse it with the reason
    with pytest.raises(UsageError, match="transposes phrases itself"):
        net.configure_optimizers(TrainOptions(steps=1, augment="color"))
    assert set(net.configure_optimizers(TrainOptions(steps=1))) == {"D", "G"}
