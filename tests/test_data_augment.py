"""--data-augment: per-batch dataset augmentations, deterministic by (seed, step), resume-exact."""

from __future__ import annotations

import pytest
import torch

from artkit.checkpoint import build_model, load_tensors
from artkit.errors import UsageError
from artkit.plugins import get_registry
from artkit.train.augment import augment_batch, parse_ops
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions


def test_ops_parse_and_reject_unknown():
    assert parse_ops("flip, crop,flip") == ("flip", "crop")
    with pytest.raises(UsageError, match="unknown op 'blur'; known: flip, rot90, crop, jitter"):
        parse_ops("flip,blur")
    with pytest.raises(UsageError):
        TrainOptions(data_augment="zoom")


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_augment_is_deterministic_shape_preserving_and_changes_images(channels):
    x = torch.rand(8, channels, 16, 16) * 2 - 1
    ops = parse_ops("flip,rot90,crop,jitter")
    a, b = augment_batch(x, ops, seed=3, step=5), augment_batch(x, ops, seed=3, step=5)
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, augment_batch(x, ops, seed=3, step=6))
    assert not torch.allclose(a, x)


def test_flip_only_flips():
    x = torch.rand(32, 3, 8, 8)
    y = augment_batch(x, ("flip",), seed=0, step=0)
    flipped = [torch.equal(yi, xi.flip(2)) for xi, yi in zip(x, y, strict=True)]
    kept = [torch.equal(yi, xi) for xi, yi in zip(x, y, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)


def _run(tmp_path, steps, resume=False):
    torch.manual_seed(0)
    model = build_model("mlp-gan", {"resolution": 8, "hidden": 16, "channels": 3})
    source = get_registry("datasets").get("shapes").create({"count": 64}, resolution=8, channels=3)
    options = TrainOptions(
        steps=steps, batch_size=8, sample_every=0, data_augment="flip,crop,jitter", precision="fp32"
    )
    loss = get_registry("losses").get("bce").create()
    Trainer(model, source, options, tmp_path, quiet=True, loss=loss, resume=resume).run()
    return load_tensors(tmp_path / "weights.safetensors")[0]


def test_resume_is_exact_with_data_augment(tmp_path):
    whole = _run(tmp_path / "a", 6)
    _run(tmp_path / "b", 3)
    resumed = _run(tmp_path / "b", 6, resume=True)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
