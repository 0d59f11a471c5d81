"""fast-style: the Johnson transformation network, its training step and the stylize path.

Tiny sizes throughout (64 px crops, width 8, 2 residual blocks, random-multiscale
features: no weights needed) so real training runs take seconds on one CPU thread.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model, load_model, load_tensors, read_header, save_model
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from tests.helpers import assert_same_tensors, metrics, one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {
    "resolution": 64,
    "width": 8,
    "residual_blocks": 2,
    "extractor": "random-multiscale",
    "style_size": 64,
}


@pytest.fixture(scope="module")
def style_file(tmp_path_factory) -> Path:
    """A made-up 'painting': diagonal colour stripes with noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:80]
    stripes = ((x + y) // 6) % 3
    palette = np.array([[220, 60, 40], [30, 90, 200], [250, 210, 60]], dtype=np.float64)
    image = palette[stripes] + rng.normal(0, 20, (96, 80, 3))
    path = tmp_path_factory.mktemp("style") / "stripes.png"
    Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(path)
    return path


def make_model(style: Path | str, **overrides):
    torch.manual_seed(1234)
    return build_model("fast-style", {**TINY, "style": str(style), **overrides})


def train(out: Path, style: Path, *, net=None, resume=False, **opts):
    net = net if net is not None else make_model(style)
    options = TrainOptions(
        **{
            "steps": 4,
            "batch_size": 4,
            "lr": 1e-3,
            "log_every": 1,
            "checkpoint_every": 1000,
            "sample_every": 0,
            "device": "cpu",
            "precision": "fp32",
            **opts,
        }
    )
    cfg = net.config
    source = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": 32}, resolution=cfg.resolution, channels=cfg.channels)
    )
    trainer = Trainer(net, source, options, out, resume=resume, quiet=True)
    return trainer, trainer.run()


# -- the network -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(37, 53), (64, 64), (5, 3), (1, 1)])
def test_the_network_keeps_any_image_size_and_stays_in_range(size):
    from artkit_style.nn_transformer import TransformerNet

    torch.manual_seed(0)
    net = TransformerNet(width=8, residual_blocks=2)
    x = torch.rand(2, 3, *size) * 2 - 1
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all() and y.abs().max() <= 1


def test_the_network_is_johnsons():
    from torch import nn

    net = make_model("unused").T
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in (convs[0], convs[-1])] == [(9, 9), (9, 9)]
    assert all(c.padding == (0, 0) for c in convs)  # reflection pads do the padding
    assert not any(isinstance(m, nn.ConvTranspose2d | nn.BatchNorm2d) for m in net.modules())
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(n.affine for n in norms)
    assert len(net.residuals) == 2


def test_a_fast_style_model_can_only_stylize():
    net = make_model("unused")
    assert net.capabilities() == ["stylize"]
    assert list(net.state_dict()) == [f"T.{k}" for k in net.T.state_dict()]


# -- training -----------------------------------------------------------------------------------
def test_training_lowers_the_loss_and_changes_the_weights(tmp_path, style_file):
    net = make_model(style_file)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trainer, result = train(tmp_path, style_file, net=net, steps=6)
    assert (result.step, result.reason) == (6, "done")
    rows = metrics(tmp_path)
    assert [r["step"] for r in rows] == list(range(1, 7))
    for row in rows:
        for key in ("loss", "content", "style", "tv"):
            assert math.isfinite(row[key]), row
        cfg = net.config
        style_weight = cfg.resolved_style_weight(net._extractor)
        total = cfg.content_weight * row["content"] + style_weight * row["style"]
        assert row["loss"] == pytest.approx(total + cfg.tv_weight * row["tv"], rel=1e-4)
    assert rows[-1]["loss"] < 0.8 * rows[0]["loss"]
    assert rows[-1]["style"] < rows[0]["style"]

    weights, meta = load_tensors(trainer.weights_path)
    assert meta["artkit.model"] == "fast-style" and meta["artkit.step"] == "6"
    assert sorted(weights) == sorted(before)  # T alone: no extractor, no style targets
    changed = [k for k in weights if not torch.equal(weights[k], before[k])]
    assert len(changed) == len(weights)
    assert json.loads(meta["artkit.config"])["style"] == str(style_file)


def test_a_model_round_trips_through_safetensors(tmp_path, style_file):
    # (channels_last weights would pick other conv kernels: equal up to rounding only)
    trainer, _ = train(tmp_path / "run", style_file, steps=2, channels_last=False)
    model = trainer.model
    path = save_model(model, tmp_path / "copy.safetensors", step=2)
    loaded = load_model(path)
    assert loaded.config == model.config and loaded.registry_name == "fast-style"
    x = torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(0)) * 2 - 1
    a, b = model.stylize(x), loaded.stylize(x)
    assert a.dtype == torch.float32 and a.shape == x.shape
    assert torch.equal(a, b)
    # the trainer's own weights file is the same model
    assert torch.equal(load_model(trainer.weights_path).stylize(x), a)


def test_exact_resume_reproduces_an_uninterrupted_run(tmp_path, style_file):
    # 32 images, batch 4: 8 steps per epoch; checkpoints every 2 steps
    a, b = tmp_path / "a", tmp_path / "b"
    train(a, style_file, steps=4, checkpoint_every=2)
    train(b, style_file, steps=2, checkpoint_every=2)
    assert read_header(b / "weights.safetensors").step == 2
    _, result = train(b, style_file, steps=4, checkpoint_every=2, resume=True)
    assert result.step == 4
    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "state.safetensors", b / "state.safetensors")
    keys = ("step", "loss", "content", "style", "tv")
    assert [{k: r[k] for k in keys} for r in metrics(b)] == [
        {k: r[k] for k in keys} for r in metrics(a)
    ]


# -- inference ------------------------------------------------------------------------------------
def test_the_prepared_path_matches_plain_fp32():
    model = make_model("unused")
    x = torch.rand(1, 3, 40, 44, generator=torch.Generator().manual_seed(0)) * 2 - 1
    plain = model.stylize(x)
    plan = model.prepare_for_inference("cpu", "fp32", channels_last=True)
    assert plan.describe() == "fp32+channels_last"
    assert torch.allclose(model.stylize(x), plain, atol=1e-5)
    plan = model.prepare_for_inference("cpu", "bf16", channels_last=True)
    out = model.stylize(x)
    assert out.dtype == torch.float32 and out.is_contiguous()
    assert (out - plain).abs().max() < 0.1


def test_compile_is_chosen_for_many_images_and_falls_back_when_it_fails(monkeypatch, capsys):
    from artkit_style import torch_fast

    calls = []

    def broken_compile(module, **kwargs):
        calls.append(kwargs)

        def run(x):
            raise RuntimeError("no C++ compiler here\nsecond line")

        return run

    monkeypatch.setattr(torch_fast.torch, "compile", broken_compile)
    model = make_model("unused")
    x = torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(0)) * 2 - 1
    plain = model.stylize(x)
    assert model.prepare_for_inference("cpu", "fp32", images=1).compiled is None
    assert calls == []
    n = torch_fast.COMPILE_MIN_IMAGES
    plan = model.prepare_for_inference("cpu", "fp32", channels_last=False, images=n)
    assert plan.compiled is not None and len(calls) == 1
    assert torch.equal(model.stylize(x), plain)  # fell back to eager
    assert plan.compiled is None and plan.describe() == "fp32"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "torch.compile failed (no C++ compiler here)" in err


# -- the command line ------------------------------------------------------------------------------
def test_cli_trains_fast_style_and_sample_refuses_it(tmp_path, style_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # (the defaults, 256 px and width 32, take ~10 s a step on one thread: shrink them)
    spec = "fast-style:resolution=64,width=8,residual_blocks=2"
    args = ["--device", "cpu", "train", spec, "--style", str(style_file)]
    result = run_cli([*args, "--data", "shapes:count=32", "--steps", "2", "-b", "4", "-o", "run"])
    assert result.exit_code == 0, result.stderr
    weights = tmp_path / "run" / "weights.safetensors"
    assert result.stdout.strip() == str(Path("run") / "weights.safetensors")
    header = read_header(weights)
    assert header.model == "fast-style" and header.step == 2
    assert header.config["style"] == str(style_file) and header.config["width"] == 8
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"] == "fast-style" and config["data"] == "shapes:count=32"

    result = run_cli(["--device", "cpu", "sample", str(weights), "-n", "2", "-o", "out"])
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == (
        "artkit: error: model 'fast-style' cannot sample; it supports: stylize"
    )
    assert not (tmp_path / "out").exists()


def test_cli_needs_a_readable_style(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = "fast-style:resolution=64,width=8,residual_blocks=2"
    result = run_cli(["--device", "cpu", "train", spec, "--data", "shapes:count=8", "-o", "a"])
    assert result.exit_code == 2
    assert "fast-style needs a style image" in one_error_line(result.stderr)
    args = ["--device", "cpu", "train", spec, "--style", "missing.png", "--data", "shapes"]
    result = run_cli([*args, "-o", "b"])
    assert result.exit_code == 1
    assert "missing.png" in one_error_line(result.stderr)
    assert not (tmp_path / "b" / "weights.safetensors").exists()


def test_a_bundled_sample_photo_is_a_style(tmp_path, monkeypatch):
    pytest.importorskip("artkit_data.samples")
    pytest.importorskip("skimage")
    monkeypatch.chdir(tmp_path)
    spec = "fast-style:resolution=64,width=8,residual_blocks=2,extractor=random-multiscale"
    args = ["--device", "cpu", "train", spec, "--style", "sample:coffee"]
    result = run_cli([*args, "--data", "shapes:count=64", "--steps", "3", "-b", "4", "-o", "run"])
    assert result.exit_code == 0, result.stderr
    assert read_header(tmp_path / "run" / "weights.safetensors").step == 3


@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
def test_layout_keeping_padding_and_norm_equal_the_stock_layers(fmt):
    """The transformer's own ReflectionPad2d / InstanceNorm2d keep NHWC and change no value."""
    from artkit_style.nn_transformer import InstanceNorm2d, ReflectionPad2d

    torch.manual_seed(0)
    for pad in (1, 4):
        for shape in ((2, 5, 9, 7), (1, 3, 16, 16)):
            x = torch.randn(shape).contiguous(memory_format=fmt)
            y = ReflectionPad2d(pad)(x)
            assert torch.equal(y, torch.nn.functional.pad(x, (pad,) * 4, mode="reflect"))
            assert y.is_contiguous(memory_format=fmt)
    ours = InstanceNorm2d(5, affine=True)
    torch.nn.init.normal_(ours.weight)
    torch.nn.init.normal_(ours.bias)
    stock = torch.nn.InstanceNorm2d(5, affine=True)
    stock.load_state_dict(ours.state_dict())  # the same keys: old checkpoints load
    x = torch.randn(2, 5, 9, 7).contiguous(memory_format=fmt)
    assert torch.allclose(ours(x), stock(x), atol=1e-5)
