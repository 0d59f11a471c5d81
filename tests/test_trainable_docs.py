"""README's "Writing a trainable model" covers the whole trainable contract in artkit.model.

Every member of :class:`StepContext`, every class attribute and method
:class:`ArtModel` declares and both :class:`Trainable` methods must be named in that
section, and the defaults it states must be the real ones: a new attribute or a
changed default without a line there fails here, so the docs cannot drift.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from artkit.model import ArtModel, StepContext, Trainable
from artkit.train.loop import TrainContext

README = Path(__file__).resolve().parent.parent / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("#### Writing a trainable model")
    # inside Plugins, right after the register_models hook reference
    assert text.index("### register_models(register)") < start
    assert start < text.index("### register_losses(register)")
    return text[start : text.index("\n### ", start)]


def public(cls: type) -> list[str]:
    """Names a class declares itself: annotated attributes, methods and properties."""
    names = set(vars(cls).get("__annotations__", {}))
    names |= {n for n, v in vars(cls).items() if callable(v) or isinstance(v, property)}
    return sorted(n for n in names if not n.startswith("_"))


def class_vars(cls: type) -> list[str]:
    return [n for n, t in vars(cls)["__annotations__"].items() if "ClassVar" in str(t)]


@pytest.mark.parametrize(
    "owner, name",
    [("StepContext", n) for n in public(StepContext)]
    + [("ArtModel", n) for n in public(ArtModel)]
    + [("Trainable", n) for n in public(Trainable)],
)
def test_every_contract_member_is_in_the_section(owner, name):
    assert re.search(rf"`(ctx\.)?{re.escape(name)}\b", section()), (
        f"README's 'Writing a trainable model' does not mention {owner}.{name}"
    )


def test_the_defaults_in_the_table_are_the_real_ones():
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section(), re.M))
    names = class_vars(ArtModel)
    assert {"default_lr", "default_loss", "loss_method", "ema_pairs"} <= set(names)
    for name in names:
        assert name in rows, f"{name} has no row with its default"
        assert ast.literal_eval(rows[name]) == getattr(ArtModel, name), name


def test_the_trainers_context_has_every_step_context_member():
    """``TrainContext`` is what a step really gets; ``StepContext`` documents it."""
    init = inspect.getsource(TrainContext.__init__)
    for name in public(StepContext):
        if callable(getattr(StepContext, name, None)):
            assert callable(getattr(TrainContext, name, None)), name
        else:
            assert f"self.{name}" in init, name
