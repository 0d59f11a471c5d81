"""``--patience`` early stopping and ``--lr-schedule``/``--warmup``: real tiny trainings.

A GAN whose evaluations stop improving stops early, says why and keeps the best
weights; killed and resumed it stops at the same step with the same weights. A VAE
stops on its held-out metric. A run killed (a real SIGINT) and resumed under a
cosine schedule with warm-up ends bit-identical to an uninterrupted one, its logged
learning rates follow :func:`lr_factor`, and ``artkit plot`` draws them.
"""

from __future__ import annotations

import json
import math
import os
import signal

import pytest
import torch

from artkit.checkpoint import build_model, load_tensors, read_header
from artkit.errors import UsageError
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.train import state as train_state
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from artkit.train.schedule import lr_factor, parse_schedule
from tests.helpers import assert_same_tensors, metrics, one_error_line

# a generator that gets worse at once on 8 images: its FD stops improving within a few steps
GAN_SPEC = "mlp-gan:resolution=16,hidden=32,channels=3"
EVERY, PATIENCE = 1, 3
GAN_RUN = [
    "--data", "shapes:count=8", "-b", "8", "--eval-every", str(EVERY), "--eval-n", "10",
    "--patience", str(PATIENCE), "--log-every", "2", "--sample-every", "0", "--loss", "bce",
]  # fmt: skip
CLI = ["--device", "cpu", "--precision", "fp32"]


@pytest.fixture(autouse=True)
def offline_and_one_thread(monkeypatch):
    monkeypatch.setenv("ARTKIT_OFFLINE", "1")  # random-conv features: no downloads, cheap
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- the schedule as a function ------------------------------------------------------
def test_lr_factor_warmup_cosine_linear_and_step():
    # warm-up: (step + 1) / W over the first W steps, then the schedule
    assert [lr_factor(s, "constant", warmup=4) for s in range(6)] == [0.25, 0.5, 0.75, 1, 1, 1]
    cosine = [lr_factor(s, "cosine", warmup=3, total=12) for s in range(12)]
    assert cosine[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert cosine[3:] == sorted(cosine[3:], reverse=True)  # decays after the warm-up
    assert cosine[3 + 9 // 2] == pytest.approx(0.5 * (1 + math.cos(math.pi * 4 / 9)))
    assert lr_factor(999, "cosine", total=1000) < 1e-5  # ends at ~0
    assert lr_factor(10_000, "cosine", total=1000) == 0.0
    assert lr_factor(50, "linear", total=100) == pytest.approx(0.5)
    assert lr_factor(99, "linear", total=100) == pytest.approx(0.01)
    step = [lr_factor(s, "step:every=10,gamma=0.5") for s in (0, 9, 10, 19, 20, 35)]
    assert step == [1, 1, 0.5, 0.5, 0.25, 0.125]
    assert lr_factor(25, "step:every=10") == pytest.approx(0.01)  # gamma defaults to 0.1
    assert not parse_schedule("constant").active and parse_schedule("constant", 5).active
    with pytest.raises(
        UsageError, match="needs the run's length: give --steps, --epochs or --max-time"
    ):
        lr_factor(3, "cosine")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr-schedule", "cosin"], "--lr-schedule 'cosin': unknown schedule; use constant, cosine, linear or step:every=N,gamma=G"),
        (["--lr-schedule", "step"], "step needs every=N"),
        (["--lr-schedule", "step:every=0,gamma=0.5"], "every must be at least 1"),
        (["--lr-schedule", "step:every=ten"], "every must be a whole number"),
        (["--lr-schedule", "step:every=5,decay=2"], "unknown key 'decay'"),
        (["--lr-schedule", "cosine:min=0"], "cosine takes no parameters"),
        (["--warmup", "-1"], "--warmup must be a whole number of steps >= 0"),
        (["--patience", "3"], "--patience counts evaluations: give --eval-every N"),
        (["--patience", "3", "--eval-every", "2", "--min-delta", "-1"], "--min-delta must be"),
        (["--eval-every", "2", "--eval-metric", "val"], "has no held-out split"),
        (["--mode-seeking", "-0.5"], "--mode-seeking must be a weight from 0 (off) to 100"),
        (["--mode-seeking", "nan"], "--mode-seeking must be a weight from 0 (off) to 100"),
    ],
)  # fmt: skip
def test_schedule_and_patience_mistakes_are_one_line_usage_errors(tmp_path, args, message):
    base = ["--data", "shapes:count=8", "-b", "8", "-o", str(tmp_path / "r")]
    base += ["--steps", "2"]
    result = run_cli([*CLI, "train", GAN_SPEC, *base, *args])
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result.stderr)
    assert not (tmp_path / "r").exists()


def test_old_options_without_the_new_keys_still_load():
    old = {"steps": 10, "lr": 1e-3, "eval_metric": "fd", "betas": [0.5, 0.999]}
    options = TrainOptions.from_json(old)
    assert (options.lr_schedule, options.warmup, options.patience, options.min_delta) == (
        "constant", 0, 0, 0.0,
    )  # fmt: skip
    assert options.eval_metric == "fd"  # an old run keeps ranking the way it did


# -- early stopping ------------------------------------------------------------------
def test_gan_stops_early_says_why_and_a_resumed_run_stops_at_the_same_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    whole = run_cli([*CLI, "train", GAN_SPEC, *GAN_RUN, "--steps", "60", "-o", str(a)])
    assert whole.exit_code == 0, whole.stderr
    rows = metrics(a)
    stop = rows[-1]
    assert stop["stop_reason"] == "early-stop"
    stopped = stop["step"]
    assert stopped < 60 and read_header(a / "weights.safetensors").step == stopped
    evals = [r for r in rows if "eval_fd" in r]
    best = min(evals, key=lambda r: r["eval_fd"])
    # the last PATIENCE evaluations brought no improvement, and the one before them was the best
    last = evals[-PATIENCE:]
    assert [r["step"] for r in last] == [stopped - EVERY * i for i in reversed(range(PATIENCE))]
    assert best["step"] == stopped - EVERY * PATIENCE and not any(r.get("eval_best") for r in last)
    line = (
        f"stopped early at step {stopped}: fd did not improve for {PATIENCE} evaluations "
        f"(best {best['eval_fd']:.6g} at step {best['step']})"
    )
    assert line in whole.stderr.splitlines() and stop["stop_message"] == line
    assert f"early-stop at step {stopped}" in whole.stderr
    assert read_header(a / "best.safetensors").step == best["step"]

    # killed one evaluation after its best: the patience count (1) must survive the resume
    killed_at = best["step"] + EVERY
    first = run_cli([*CLI, "train", GAN_SPEC, *GAN_RUN, "--steps", str(killed_at), "-o", str(b)])
    assert first.exit_code == 0, first.stderr
    _, meta = load_tensors(b / "state.safetensors")
    saved = train_state.unpack_meta(meta)
    assert (saved["eval_stale"], saved["eval_best_step"]) == (1, best["step"])
    rest = run_cli([*CLI, "train", "--resume", str(b), "--steps", "60"])
    assert rest.exit_code == 0, rest.stderr
    assert line in rest.stderr.splitlines()
    assert read_header(b / "weights.safetensors").step == stopped
    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "best.safetensors", b / "best.safetensors")
    config = json.loads((b / "config.json").read_text())["options"]
    assert (config["patience"], config["eval_every"], config["min_delta"]) == (PATIENCE, EVERY, 0)


def test_vae_stops_on_its_held_out_metric_and_keeps_the_best(tmp_path):
    torch.manual_seed(1234)
    net = build_model("vae", {"resolution": 32, "width": 0.25, "z_dim": 16})
    source = get_registry("datasets").get("shapes").create({"count": 40}, resolution=32, channels=3)
    options = TrainOptions(
        steps=40, batch_size=8, lr=1e-3, log_every=3, sample_every=0, checkpoint_every=1000,
        device="cpu", precision="fp32", loss="mse", eval_every=2, eval_n=10,
        patience=2, min_delta=1e9,  # nothing improves by a billion nats: stop at the 3rd
    )  # fmt: skip
    loss = get_registry("losses").get("mse").create()
    trainer = Trainer(net, source, options, tmp_path / "v", quiet=True, loss=loss)
    result = trainer.run()
    assert (result.reason, result.step) == ("early-stop", 6)
    rows = metrics(tmp_path / "v")
    evals = [r for r in rows if "eval_fd" in r]  # the VAE samples: scored too, ranked by val
    assert [r["step"] for r in evals] == [2, 4, 6]
    assert "val_elbo" in evals[0] and "val_elbo" not in evals[2]  # step 6 logged it already
    header = read_header(tmp_path / "v" / "best.safetensors")
    elbos = {r["step"]: r["val_elbo"] for r in rows if "val_elbo" in r}
    best_step = max((2, 4, 6), key=lambda s: elbos[s])  # higher ELBO is better
    assert header.step == best_step and header.metadata["artkit.eval_metric"] == "val_elbo"
    assert float(header.metadata["artkit.eval_value"]) == pytest.approx(elbos[best_step])
    assert rows[-1]["stop_message"].startswith(
        "stopped early at step 6: val_elbo did not improve by at least 1e+09 for 2 evaluations"
    )


# -- the learning-rate schedule ------------------------------------------------------
SCHEDULE = {"lr_schedule": "cosine", "warmup": 3, "lr": 2e-3, "lr_d": 1e-3}


def train_gan(out, *, resume=False, kill_after=None, steps=12):
    torch.manual_seed(1234)
    net = build_model("mlp-gan", {"resolution": 8, "hidden": 32})
    source = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": 32}, resolution=8, channels=net.config.channels)
    )
    options = TrainOptions(
        steps=steps, batch_size=8, log_every=1, checkpoint_every=1000, sample_every=0,
        device="cpu", precision="fp32", loss="bce", **SCHEDULE,
    )  # fmt: skip
    if kill_after is not None:  # a real SIGINT in the middle of a step, as from the keyboard
        plain = net.training_step

        def training_step(batch, step, ctx):
            if step == kill_after - 1:
                os.kill(os.getpid(), signal.SIGINT)
            return plain(batch, step, ctx)

        net.training_step = training_step
    loss = get_registry("losses").get("bce").create()
    return Trainer(net, source, options, out, resume=resume, quiet=True, loss=loss).run()


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory):
    """An uninterrupted cosine run and one killed at step 6 and resumed (12 steps each)."""
    root = tmp_path_factory.mktemp("sched")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    whole = train_gan(root / "a")
    killed = train_gan(root / "b", kill_after=6)
    resumed = train_gan(root / "b", resume=True)
    torch.set_num_threads(before)
    return root, whole, killed, resumed


def test_a_killed_and_resumed_cosine_run_ends_bit_identical(scheduled):
    root, whole, killed, resumed = scheduled
    assert (killed.reason, killed.step) == ("interrupted", 6)
    assert (whole.step, resumed.step) == (12, 12)
    assert_same_tensors(root / "a" / "weights.safetensors", root / "b" / "weights.safetensors")
    rows_a, rows_b = metrics(root / "a"), metrics(root / "b")
    keys = ("step", "lr", "lr_D", "d_loss", "g_loss")
    assert [[r[k] for k in keys] for r in rows_b] == [[r[k] for k in keys] for r in rows_a]
    # each optimiser follows the schedule relative to its own rate (G: --lr, D: --lr-d)
    for row in rows_a:
        factor = lr_factor(row["step"] - 1, "cosine", warmup=3, total=12)
        assert row["lr"] == pytest.approx(2e-3 * factor) and row["lr_D"] == pytest.approx(
            1e-3 * factor
        )
    assert rows_a[0]["lr"] == pytest.approx(2e-3 / 3) and rows_a[-1]["lr"] < 2e-3 * 0.05
    options = json.loads((root / "b" / "config.json").read_text())["options"]
    assert (options["lr_schedule"], options["warmup"]) == ("cosine", 3)


def test_plot_draws_the_learning_rates_in_panels_of_their_own(scheduled):
    pytest.importorskip("matplotlib")
    from artkit.cli.plot import panels, read_metrics

    root = scheduled[0]
    names = panels({"a": read_metrics(root / "a")}, None)
    assert names[-2:] == ["lr", "lr_D"] and "d_loss" in names  # after the losses
    result = run_cli(["plot", str(root / "a"), "-o", str(root / "curves.png")])
    assert result.exit_code == 0, result.stderr
    assert f"{len(names)} panels, 1 runs" in result.stderr
