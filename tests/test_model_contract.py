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
from artkit.model import (
    ArtModel,
    Encoder,
    LatentModel,
    LatentSampler,
    StepContext,
    Trainable,
    Translator,
)
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
