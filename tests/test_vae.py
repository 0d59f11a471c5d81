"""The VAE family under the generic trainer: real (tiny) training runs on CPU.

A VAE trained for real on the built-in ``shapes`` dataset reconstructs images it
never saw better than the dataset's mean image does; every registered
reconstruction loss trains it; exact resume is bit-exact (fp32 and bf16);
beta, KL warm-up and free bits do what they say; the held-out split logs
``val_recon_mse``, ``val_kl`` and ``val_elbo``; ``artkit train vae`` works from
the command line and refuses GAN-only losses.
"""

from __future__ import annotations

import json
import math
import re

import pytest
import torch
import torch.nn.functional as F

from artkit.checkpoint import build_model, load_model, load_tensors, read_header
from artkit.errors import UsageError
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.torch_images import from_uint8
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from tests.helpers import assert_same_tensors, metrics, one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"resolution": 32, "width": 0.25, "z_dim": 16}
RECONSTRUCTION_LOSSES = ("bce", "l1", "mse")


# -- helpers -------------------------------------------------------------------
def make_vae(name="vae", **overrides):
    torch.manual_seed(1234)
    return build_model(name, {**TINY, **overrides})


def shapes(count, *, seed=0, resolution=32, channels=3):
    return (
        get_registry("datasets")
        .get("shapes")
        .create({"count": count, "seed": seed}, resolution=resolution, channels=channels)
    )


def as_tensor(source) -> torch.Tensor:
    return from_uint8(torch.from_numpy(source.as_array()).permute(0, 3, 1, 2))


def train(
    out, *, net=None, loss="mse", resume=False, count=32, model="vae", model_opts=None, **opts
):
    """Train with the Python API; returns (trainer, result)."""
    net = net if net is not None else make_vae(model, **(model_opts or {}))
    options = TrainOptions(
        **{
            "steps": 4,
            "batch_size": 8,
            "lr": 1e-3,
            "log_every": 1,
            "checkpoint_every": 1000,
            "sample_every": 0,
            "device": "cpu",
            "precision": "fp32",
            "loss": loss,
            **opts,
        }
    )
    loss_obj = get_registry("losses").get(loss).create()
    cfg = net.config
    source = shapes(count, resolution=cfg.resolution, channels=cfg.channels)
    trainer = Trainer(net, source, options, out, resume=resume, quiet=True, loss=loss_obj)
    return trainer, trainer.run()


# -- a VAE trained for real ------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread):
    """A tiny VAE trained 120 steps on 256 shapes; its trainer and run folder."""
    out = tmp_path_factory.mktemp("vae") / "run"
    net = make_vae()
    trainer, result = train(
        out, net=net, count=256, steps=120, batch_size=32, log_every=40, sample_every=120
    )
    assert (result.step, result.reason) == (120, "done")
    return trainer, out


def test_trained_vae_reconstructs_unseen_images_better_than_the_mean_image(trained):
    trainer, run = trained
    model = load_model(run / "weights.safetensors")
    train_images = as_tensor(shapes(256))
    mean_image = train_images.mean(0, keepdim=True)
    # 1. the trainer's own held-out split (never trained on)
    # 2. images from another seed of the dataset (never seen at all)
    for label, held in (
        ("holdout", from_uint8(trainer.holdout.cpu().float().contiguous())),
        ("seed-1", as_tensor(shapes(64, seed=1))),
    ):
        baseline = (held - mean_image).square().mean().item()
        vae = (model.reconstruct(held) - held).square().mean().item()
        print(f"{label}: {len(held)} images, VAE MSE {vae:.4f}, mean-image MSE {baseline:.4f}")
        assert vae < 0.6 * baseline, (label, vae, baseline)


def test_held_out_metrics_are_logged(trained):
    trainer, run = trained
    rows = metrics(run)
    assert [r["step"] for r in rows] == [40, 80, 120]
    assert len(trainer.holdout) == round(256 * 0.05)  # holdout_fraction = 0.05
    for row in rows:
        for key in ("loss", "recon", "kl", "beta", "val_recon_mse", "val_kl", "val_elbo"):
            assert math.isfinite(row[key]), (key, row)
        assert row["val_elbo"] < 0 and row["val_kl"] >= 0 and row["beta"] == 1.0
        # the ELBO is -(reconstruction + KL) in the training loss's units (summed squared error)
        recon = row["val_recon_mse"] * 3 * 32 * 32
        assert row["val_elbo"] == pytest.approx(-(recon + row["val_kl"]), rel=1e-4)
    assert rows[-1]["val_recon_mse"] < rows[0]["val_recon_mse"]
    assert rows[-1]["recon"] < rows[0]["recon"]
    # a VAE samples: the trainer wrote a grid
    assert (run / "samples" / "step-000120.png").exists()


def test_evaluate_is_deterministic_and_draws_no_noise(trained):
    _, run = trained
    model = load_model(run / "weights.safetensors")
    batch = as_tensor(shapes(8, seed=3))
    state = torch.get_rng_state()
    first, second = model.evaluate(batch), model.evaluate(batch)
    assert first == second
    assert torch.equal(torch.get_rng_state(), state)
    assert set(first) == {"recon_mse", "kl", "elbo"}


def test_inference_does_not_touch_batchnorm_statistics_or_the_mode(trained):
    _, run = trained
    model = load_model(run / "weights.safetensors").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.sample(4, generator=torch.Generator().manual_seed(0))
    model.reconstruct(as_tensor(shapes(4, seed=2)))
    assert model.training and model.E.training and model.G.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # and a batch of one gives the same latent as the image in a larger batch
    images = as_tensor(shapes(4, seed=2))
    mean_all, _ = model.encode(images)
    mean_one, _ = model.encode(images[2:3])
    assert torch.allclose(mean_all[2:3], mean_one, atol=1e-5)


def test_sampling_by_seed_is_deterministic(trained):
    _, run = trained
    model = load_model(run / "weights.safetensors")
    a = model.generate(model.latents_for_seeds([3, 4], 0.5))
    b = model.generate(model.latents_for_seeds([4], 0.5))
    assert a.shape == (2, 3, 32, 32) and a.abs().max() <= 1
    assert torch.allclose(a[1:], b, atol=1e-5)  # (float kernels may block by batch size)


# -- every reconstruction loss ---------------------------------------------------------------
def test_the_registered_reconstruction_losses():
    losses = get_registry("losses")
    fitting = sorted(e.name for e in losses if hasattr(e.factory, "reconstruction"))
    assert fitting == list(RECONSTRUCTION_LOSSES)
    assert losses.get("bce").extra["family"] == ("gan", "reconstruction")
    assert losses.get("mse").extra["family"] == losses.get("l1").extra["family"] == "reconstruction"
    assert losses.get("hinge").extra["family"] == "gan"
    bce = losses.get("bce").create()
    assert hasattr(bce, "d_loss") and hasattr(bce, "g_loss")  # still the GAN loss too
    for name in ("mse", "l1"):
        assert not hasattr(losses.get(name).create(), "d_loss")


def test_reconstruction_losses_are_per_image_float32_sums():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 8, 8, generator=g) * 2 - 1
    x_hat = torch.rand(3, 3, 8, 8, generator=g) * 2 - 1
    losses = get_registry("losses")
    mse = losses.get("mse").create().reconstruction(x_hat, x)
    l1 = losses.get("l1").create().reconstruction(x_hat, x)
    bce = losses.get("bce").create().reconstruction(x_hat, x)
    assert torch.allclose(mse, F.mse_loss(x_hat, x, reduction="none").sum((1, 2, 3)))
    assert torch.allclose(l1, F.l1_loss(x_hat, x, reduction="none").sum((1, 2, 3)))
    expected = F.binary_cross_entropy((x_hat + 1) / 2, (x + 1) / 2, reduction="none")
    assert torch.allclose(bce, expected.sum((1, 2, 3)), rtol=1e-4)
    for value in (mse, l1, bce):
        assert value.shape == (3,) and value.dtype == torch.float32
    # saturated predictions stay finite; bf16 inputs give float32 out
    ends = torch.tensor([-1.0, 1.0]).repeat(3, 3, 4, 4).view(3, 3, 8, 4)
    bce_end = losses.get("bce").create().reconstruction(ends.bfloat16(), -ends.bfloat16())
    assert torch.isfinite(bce_end).all() and bce_end.dtype == torch.float32


@pytest.mark.parametrize("loss", RECONSTRUCTION_LOSSES)
def test_every_reconstruction_loss_trains_the_vae(tmp_path, loss):
    net = make_vae(z_dim=8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trainer, result = train(tmp_path, net=net, loss=loss, steps=3)
    assert result.step == 3
    rows = metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert all(math.isfinite(row[k]) for k in ("loss", "recon", "kl", "val_elbo")), row
    assert rows[0]["loss"] != rows[-1]["loss"]
    weights, meta = load_tensors(trainer.weights_path)
    assert meta["artkit.model"] == "vae"
    for net_name in ("E", "G"):
        for name, _ in getattr(net, net_name).named_parameters():
            key = f"{net_name}.{name}"
            assert not torch.equal(weights[key], before[key]), f"{key} did not change"
    options = json.loads((tmp_path / "config.json").read_text())["options"]
    assert options["loss"] == loss


# -- exact resume ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "model_opts", "opts"),
    [
        pytest.param("vae", {}, {}, id="vae-fp32"),
        pytest.param(
            "beta-vae", {"kl_warmup": 5, "free_bits": 0.1}, {"precision": "bf16"}, id="beta-bf16"
        ),
    ],
)
def test_exact_resume_reproduces_an_uninterrupted_run(tmp_path, model, model_opts, opts):
    # 64 images less a held-out 3, batch 8: 7 steps per epoch, so the resumed half crosses one
    n = 4
    a, b = tmp_path / "a", tmp_path / "b"
    common = dict(model=model, model_opts=model_opts, count=64, checkpoint_every=2, **opts)
    train(a, steps=2 * n, **common)
    train(b, steps=n, **common)
    assert read_header(b / "weights.safetensors").step == n
    _, result = train(b, steps=2 * n, resume=True, **common)
    assert result.step == 2 * n
    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "state.safetensors", b / "state.safetensors")
    keys = ("step", "epoch", "loss", "recon", "kl", "beta", "val_recon_mse", "val_kl", "val_elbo")
    rows_a = [{k: r[k] for k in keys} for r in metrics(a)]
    rows_b = [{k: r[k] for k in keys} for r in metrics(b)]
    assert rows_b == rows_a


# -- beta, warm-up, free bits ------------------------------------------------------------------------
def test_beta_vae_defaults_and_kl_warmup(tmp_path):
    net = make_vae("beta-vae", kl_warmup=4)
    assert net.config.beta == 4.0 and make_vae().config.beta == 1.0
    assert [net.beta_at(s) for s in (0, 1, 2, 4, 100)] == [0.0, 1.0, 2.0, 4.0, 4.0]
    train(tmp_path, net=net, steps=5)
    assert [r["beta"] for r in metrics(tmp_path)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert read_header(tmp_path / "weights.safetensors").model == "beta-vae"
    loaded = load_model(tmp_path / "weights.safetensors")
    assert loaded.config.beta == 4.0 and loaded.config.kl_warmup == 4


class FixedLoss:
    """Reconstruction loss 0: only the KL term drives the step."""

    def reconstruction(self, x_hat, x):
        return (x_hat.float() * 0).flatten(1).sum(1)


class Ctx:
    """Just enough TrainContext to call training_step directly."""

    def __init__(self, model):
        self.loss, self.channels_last, self.stepped = FixedLoss(), False, []
        self.opt = model.configure_optimizers(TrainOptions(lr=1e-3))["vae"]
        self.model = model

    def net(self, name, sync=True):
        return getattr(self.model, name)

    def autocast(self):
        import contextlib

        return contextlib.nullcontext()

    def randn(self, *shape):
        return torch.zeros(*shape)

    def step_optimizer(self, name, loss):
        self.stepped.append((name, loss.item()))


def test_free_bits_floor_the_kl_term():
    x = as_tensor(shapes(8))
    plain, floored = make_vae(z_dim=8), make_vae(z_dim=8, free_bits=2.0)
    out_plain = plain.training_step(x, 0, ctx_p := Ctx(plain))
    out_floor = floored.training_step(x, 0, ctx_f := Ctx(floored))
    # at init the KL is near 0 nats per dimension: free bits lift the loss to the floor
    assert out_plain["kl"] == pytest.approx(out_floor["kl"])
    assert out_plain["loss"] == pytest.approx(out_plain["kl"])
    assert out_floor["loss"] == pytest.approx(2.0 * 8)
    assert ctx_p.stepped[0][0] == ctx_f.stepped[0][0] == "vae"


def test_a_gan_only_loss_is_a_usage_error_in_the_python_api_too():
    net = make_vae(z_dim=8)
    ctx = Ctx(net)
    ctx.loss = get_registry("losses").get("hinge").create()
    with pytest.raises(UsageError, match="loss 'hinge' has no reconstruction method"):
        net.training_step(as_tensor(shapes(8)), 0, ctx)


def test_configure_optimizers_uses_vae_betas_over_both_networks():
    net = make_vae()
    opts = net.configure_optimizers(TrainOptions(lr=5e-4))
    assert list(opts) == ["vae"]
    group = opts["vae"].param_groups[0]
    assert group["betas"] == (0.9, 0.999) and group["lr"] == 5e-4
    assert len(group["params"]) == len(list(net.parameters()))


# -- networks and configs -----------------------------------------------------------------------------
@pytest.mark.parametrize(("resolution", "channels"), [(32, 1), (64, 3), (128, 4)])
def test_networks_at_every_resolution_and_channel_count(resolution, channels):
    net = make_vae(resolution=resolution, channels=channels, width=0.125, z_dim=4).eval()
    x = torch.rand(2, channels, resolution, resolution) * 2 - 1
    mean, logvar = net.encode(x)
    assert mean.shape == logvar.shape == (2, 4)
    images = net.decode(mean)
    assert images.shape == (2, channels, resolution, resolution)
    assert images.dtype == torch.float32 and images.abs().max() <= 1
    assert net.capabilities() == ["sample", "encode", "decode"]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert net.decode(net.encode(x)[0]).dtype == torch.float32


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"resolution": 48}, "vae: resolution=48 is not allowed; use 32, 64 or 128"),
        ({"channels": 2}, "channels=2 is not allowed"),
        ({"z_dim": 0}, "z_dim=0 is not allowed"),
        ({"width": 0}, "width=0.0 is not allowed"),
        ({"beta": -1.0}, "beta=-1.0 is not allowed"),
        ({"kl_warmup": -3}, "kl_warmup=-3 is not allowed"),
        ({"free_bits": float("nan")}, "free_bits=nan is not allowed"),
    ],
)
def test_bad_configs_are_one_line_usage_errors(options, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        build_model("vae", options)


def test_beta_vae_errors_name_beta_vae():
    with pytest.raises(UsageError, match=r"^beta-vae: resolution=16"):
        build_model("beta-vae", {"resolution": 16})


# -- the command line --------------------------------------------------------------------------------------
def test_cli_trains_a_vae_with_held_out_metrics_and_resumes(tmp_path):
    run = tmp_path / "run"
    args = ["--device", "cpu", "--precision", "fp32", "train", "vae:resolution=32,width=0.125,z_dim=8",
            "--data", "shapes:count=48", "-b", "8", "--steps", "2", "--log-every", "1",
            "--sample-every", "0", "-o", str(run)]  # fmt: skip
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(run / "weights.safetensors")
    rows = metrics(run)
    assert [r["step"] for r in rows] == [1, 2]
    assert {"val_recon_mse", "val_kl", "val_elbo", "recon", "kl"} <= set(rows[-1])
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "vae" and config["options"]["loss"] == "mse"
    result = run_cli(["--device", "cpu", "train", "--resume", str(run), "--steps", "3"])
    assert result.exit_code == 0, result.stderr
    assert read_header(run / "weights.safetensors").step == 3


@pytest.mark.parametrize(
    ("model", "loss", "message"),
    [
        ("vae:resolution=32,width=0.125,z_dim=8", "hinge", "loss 'hinge' does not fit model 'vae'"),
        ("mlp-gan:resolution=8,hidden=8", "mse", "loss 'mse' does not fit model 'mlp-gan'"),
    ],
)
def test_cli_refuses_a_loss_of_the_other_family(tmp_path, model, loss, message):
    result = run_cli(["--device", "cpu", "train", model, "--data", "shapes:count=16", "--loss",
                      loss, "--steps", "1", "-o", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code == 2, result.stderr
    line = one_error_line(result.stderr)
    assert message in line
    expected = "bce, l1, mse" if model.startswith("vae") else "bce, hinge, lsgan, wgan-gp"
    assert line.endswith(f"use one of: {expected}")
