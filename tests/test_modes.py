"""artkit.nn.modes: a network's mode switched for one block, every module's own mode after."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artkit.nn.modes import eval_mode, train_mode


def model_with_an_eval_copy() -> nn.Module:
    """A training model holding an inference copy in eval mode, as the GANs hold G_ema."""
    model = nn.Module()
    model.G = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model.G_ema = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model.train()
    model.G_ema.eval()
    return model


def modes(model: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


def test_eval_mode_restores_each_modules_own_mode():
    model = model_with_an_eval_copy()
    before = modes(model)
    with eval_mode(model):
        assert not any(modes(model).values())
    assert modes(model) == before
    assert model.G.training and not model.G_ema.training  # not model.train(True) whole


def test_the_mode_comes_back_when_the_block_raises():
    model = model_with_an_eval_copy()
    before = modes(model)
    with pytest.raises(RuntimeError), eval_mode(model):
        model.G(torch.randn(3, 5))  # wrong width: raises inside the block
    assert modes(model) == before


def test_train_mode_and_several_modules():
    a, b = nn.BatchNorm1d(2).eval(), nn.Dropout().train()
    with train_mode(a, b):
        assert a.training and b.training
    assert not a.training and b.training
    with eval_mode(a, b):
        assert not a.training and not b.training
    assert not a.training and b.training
