"""The GAN family under the generic trainer: real (tiny) training runs on CPU.

Every model x loss trains a few steps and its losses move; exact resume is
bit-exact; the NaN/Inf guard skips steps and stops with the last good
checkpoint intact; SIGINT leaves a loadable, resumable checkpoint; a 2-process
torchrun (gloo) run keeps the ranks in sync and writes once; a folder dataset
with corrupt files trains and reports them.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import artkit
from artkit.checkpoint import build_model, load_model, load_tensors, read_header
from artkit.errors import CheckpointError
from artkit.plugins import get_registry
from artkit.testing import plugin_registered, run_cli
from artkit.train.loop import Trainer, TrainingStopped
from artkit.train.options import TrainOptions
from tests.helpers import assert_same_tensors, metrics, one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

MLP = ("mlp-gan", {"resolution": 8, "hidden": 32})
DC = ("dcgan", {"resolution": 32, "width": 0.125})
MLP_SPEC = "mlp-gan:resolution=8,hidden=32"
LOSSES = ("bce", "hinge", "lsgan", "wgan-gp")
# Subprocesses: one thread each, the machine is small and may be shared.
SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_COLOR": "1"}


# -- helpers -------------------------------------------------------------------
def make_model(model=MLP, **overrides):
    torch.manual_seed(1234)
    name, config = model
    return build_model(name, {**config, **overrides})


def shapes_for(net, count=32):
    cfg = net.config
    return (
        get_registry("datasets")
        .get("shapes")
        .create({"count": count}, resolution=cfg.resolution, channels=cfg.channels)
    )


def train(out, model=MLP, *, net=None, loss="bce", resume=False, count=32, model_opts=None, **opts):
    """Train with the Python API; returns (trainer, result)."""
    net = net if net is not None else make_model(model, **(model_opts or {}))
    options = TrainOptions(
        **{
            "steps": 4,
            "batch_size": 8,
            "log_every": 1,
            "checkpoint_every": 1000,
            "sample_every": 0,
            "device": "cpu",
            "precision": "fp32",
            "loss": loss if isinstance(loss, str) else "custom",
            **opts,
        }
    )
    loss_obj = loss if not isinstance(loss, str) else get_registry("losses").get(loss).create()
    trainer = Trainer(
        net, shapes_for(net, count), options, out, resume=resume, quiet=True, loss=loss_obj
    )
    return trainer, trainer.run()


def artkit_proc(*args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "artkit", "--device", "cpu", *args],
        capture_output=True,
        text=True,
        env=SUB_ENV,
        cwd=cwd,
        timeout=timeout,
    )


# -- every model x loss ------------------------------------------------------------
CASES = [
    pytest.param(model, loss, {}, id=f"{model[0]}-{loss}") for model in (MLP, DC) for loss in LOSSES
] + [
    pytest.param(DC, "hinge", {"r1": 0.5}, id="dcgan-hinge-r1"),
    pytest.param(DC, "bce", {"augment": "color,translation,cutout"}, id="dcgan-bce-augment"),
    pytest.param(MLP, "wgan-gp", {"augment": "color,translation,cutout"}, id="mlp-wgan-gp-augment"),
    pytest.param(DC, "wgan-gp", {"precision": "bf16"}, id="dcgan-wgan-gp-bf16"),
]


@pytest.mark.parametrize(("model", "loss", "extra"), CASES)
def test_every_model_and_loss_trains_and_its_losses_move(tmp_path, model, loss, extra):
    net = make_model(model)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    steps = 4
    trainer, result = train(tmp_path, net=net, loss=loss, steps=steps, **extra)
    assert (result.step, result.reason) == (steps, "done")

    rows = metrics(tmp_path)
    assert [r["step"] for r in rows] == list(range(1, steps + 1))
    for row in rows:
        for key in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert math.isfinite(row[key]), (key, row)
    first, last = rows[0], rows[-1]
    assert first["d_loss"] != last["d_loss"] and first["g_loss"] != last["g_loss"]

    # the file on disk is what was trained: every G, D and G_ema parameter moved
    weights, meta = load_tensors(trainer.weights_path)
    assert meta["artkit.model"] == model[0] and meta["artkit.step"] == str(steps)
    for net_name in ("G", "D"):
        for name, _ in getattr(net, net_name).named_parameters():
            key = f"{net_name}.{name}"
            assert torch.isfinite(weights[key]).all()
            # (hinge and WGAN give D's last bias a gradient of exactly 0: real and fake cancel)
            if net_name == "G" or not name.endswith("bias"):
                assert not torch.equal(weights[key], before[key]), f"{key} did not change"
    g_ema = [k for k in weights if k.startswith("G_ema.") and weights[k].is_floating_point()]
    assert any(not torch.equal(weights[k], before[k]) for k in g_ema)
    # and it loads back as a model that samples
    loaded = load_model(trainer.weights_path)
    cfg = loaded.config
    images = loaded.sample(2, generator=torch.Generator().manual_seed(0))
    assert images.shape == (2, cfg.channels, cfg.resolution, cfg.resolution)
    assert images.abs().max() <= 1
    options = json.loads((tmp_path / "config.json").read_text())["options"]
    assert options["loss"] == loss


def test_training_writes_the_run_folder(tmp_path):
    train(tmp_path, steps=4, log_every=2, checkpoint_every=2, sample_every=2)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "step-000002.png",
        "step-000004.png",
    ]
    assert [r["step"] for r in metrics(tmp_path)] == [2, 4]
    assert read_header(tmp_path / "weights.safetensors").step == 4
    assert read_header(tmp_path / "state.safetensors").step == 4
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]  # no temp files left
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == "mlp-gan" and config["model_config"]["hidden"] == 32


# -- exact resume -----------------------------------------------------------------
RESUME_CASES = [
    pytest.param(MLP, "bce", {}, {}, id="mlp-bce"),
    pytest.param(
        DC, "lsgan", {}, {"augment": "color,translation,cutout"}, id="dcgan-lsgan-augment"
    ),
    pytest.param(DC, "hinge", {"d_norm": "batch"}, {"r1": 0.5}, id="dcgan-batchnorm-r1"),
    pytest.param(MLP, "wgan-gp", {}, {"ema": False, "d_steps": 2}, id="mlp-wgan-gp-no-ema"),
    pytest.param(DC, "bce", {}, {"precision": "bf16"}, id="dcgan-bce-bf16"),
]


@pytest.mark.parametrize(("model", "loss", "model_opts", "opts"), RESUME_CASES)
def test_exact_resume_reproduces_an_uninterrupted_run(tmp_path, model, loss, model_opts, opts):
    # 32 images, batch 8: 4 steps per epoch, so the resumed half crosses an epoch boundary
    n = 3
    a, b = tmp_path / "a", tmp_path / "b"
    common = dict(loss=loss, model_opts=model_opts, checkpoint_every=2, **opts)
    train(a, model, steps=2 * n, **common)
    train(b, model, steps=n, **common)
    assert read_header(b / "weights.safetensors").step == n
    _, result = train(b, model, steps=2 * n, resume=True, **common)
    assert result.step == 2 * n

    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "state.safetensors", b / "state.safetensors")
    keys = ("step", "d_loss", "g_loss", "d_real", "d_fake", "epoch")
    rows_a = [{k: r[k] for k in keys} for r in metrics(a)]
    rows_b = [{k: r[k] for k in keys} for r in metrics(b)]
    assert rows_b == rows_a


def test_resume_refuses_weights_and_state_from_different_steps(tmp_path, monkeypatch):
    """A crash between writing state and weights is caught on resume, never half-loaded."""
    import artkit.train.loop as loop

    real_save = loop.save_model
    calls = []

    def crash_on_second(model, path, **kw):
        calls.append(kw["step"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_save(model, path, **kw)

    monkeypatch.setattr(loop, "save_model", crash_on_second)
    with pytest.raises(RuntimeError, match="disk full"):
        train(tmp_path, steps=4, checkpoint_every=2)
    monkeypatch.undo()
    assert read_header(tmp_path / "weights.safetensors").step == 2  # old weights intact
    assert read_header(tmp_path / "state.safetensors").step == 4
    load_model(tmp_path / "weights.safetensors")
    with pytest.raises(CheckpointError, match="weights are at step 2 but training state at step 4"):
        train(tmp_path, steps=6, resume=True)


def test_resume_without_a_checkpoint_is_a_usage_error(tmp_path):
    result = run_cli(["train", "--resume", str(tmp_path / "nothing-here")])
    assert result.exit_code == 2
    assert "no config.json" in one_error_line(result.stderr)


def test_same_seed_same_weights_in_one_process(tmp_path):
    args = ["--data", "shapes:count=16", "--steps", "1", "-b", "8", "--sample-every", "0"]
    for name in ("a", "b"):
        torch.rand(3)  # whatever else the process did before
        result = run_cli(
            ["--device", "cpu", "--seed", "5", "train", MLP_SPEC, *args, "-o", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.stderr
    assert_same_tensors(tmp_path / "a/weights.safetensors", tmp_path / "b/weights.safetensors")


# -- the NaN/Inf guard --------------------------------------------------------------
class FlakyLoss:
    """BCE, except d_loss is ``bad`` on the calls listed in ``bad_calls`` (1-based)."""

    needs_gradient_penalty = False

    def __init__(self, bad_calls, bad=float("nan")):
        self.bad_calls, self.bad, self.calls = set(bad_calls), bad, 0

    def d_loss(self, real_logits, fake_logits):
        self.calls += 1
        loss = F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()
        return loss * self.bad if self.calls in self.bad_calls else loss

    def g_loss(self, fake_logits, real_logits=None):
        return F.softplus(-fake_logits.float()).mean()


class FlakyLossPlugin:
    @artkit.hookimpl
    def register_losses(self, register):
        register("nan-after-3", lambda: FlakyLoss(range(4, 10**6)), family="gan")
        register("inf-after-3", lambda: FlakyLoss(range(4, 10**6), float("inf")), family="gan")
        register("nan-twice", lambda: FlakyLoss({3, 4}), family="gan")


@pytest.mark.parametrize("loss", ["nan-after-3", "inf-after-3"])
def test_non_finite_losses_stop_training_with_the_last_good_checkpoint(tmp_path, loss):
    run = tmp_path / "run"
    args = [
        "--device", "cpu", "train", MLP_SPEC, "--data", "shapes:count=32", "--loss", loss,
        "--steps", "50", "-b", "8", "--log-every", "1", "--checkpoint-every", "2",
        "--sample-every", "0", "--max-nan-steps", "3", "-o", str(run),
    ]  # fmt: skip
    with plugin_registered(FlakyLossPlugin(), name="flaky"):
        result = run_cli(args)
    assert result.exit_code == 1, result.stderr
    word = "nan" if loss.startswith("nan") else "inf"
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: warning:")]
    assert warnings == [
        f"artkit: warning: step {s} skipped: D loss is {word} ({k} in a row)"
        for k, s in enumerate((3, 4, 5), start=1)
    ]
    error = one_error_line(result.stderr)
    assert "training stopped at step 5: 3 non-finite steps in a row" in error
    assert "last good checkpoint" in error and str(run) in error
    assert result.stdout == ""  # no weights path printed for a failed run

    # the files on disk are the step-2 checkpoint: loadable, finite, consistent
    assert read_header(run / "weights.safetensors").step == 2
    assert read_header(run / "state.safetensors").step == 2
    model = load_model(run / "weights.safetensors")
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
    rows = metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3]  # skipped steps are not logged
    assert all(math.isfinite(r["d_loss"]) for r in rows)

    # ... and a run can go on from it with a sane loss
    result = run_cli(
        ["--device", "cpu", "train", "--resume", str(run), "--loss", "bce", "--steps", "4"]
    )
    assert result.exit_code == 0, result.stderr
    assert read_header(run / "weights.safetensors").step == 4


def test_a_few_non_finite_steps_are_skipped_and_training_goes_on(tmp_path):
    run = tmp_path / "run"
    args = [
        "--device", "cpu", "train", MLP_SPEC, "--data", "shapes:count=32", "--loss", "nan-twice",
        "--steps", "6", "-b", "8", "--log-every", "1", "--sample-every", "0",
        "--max-nan-steps", "3", "-o", str(run),
    ]  # fmt: skip
    with plugin_registered(FlakyLossPlugin(), name="flaky"):
        result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    assert "step 2 skipped: D loss is nan (1 in a row)" in result.stderr
    assert "step 3 skipped: D loss is nan (2 in a row)" in result.stderr
    assert result.stderr.count("skipped") == 2
    assert [r["step"] for r in metrics(run)] == [1, 2, 5, 6]
    assert read_header(run / "weights.safetensors").step == 6
    weights, _ = load_tensors(run / "weights.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point())


class NaNGradientLoss(FlakyLoss):
    """A finite loss whose gradient is NaN: d sqrt(|x - x|) = inf * 0."""

    def d_loss(self, real_logits, fake_logits):
        loss = super().d_loss(real_logits, fake_logits)
        return loss + torch.sqrt((real_logits - real_logits.detach()).abs()).sum()


def test_non_finite_gradients_are_caught_too(tmp_path):
    with pytest.raises(TrainingStopped, match="D gradients are not finite"):
        train(tmp_path, loss=NaNGradientLoss(()), steps=10, max_nan_steps=2, checkpoint_every=1)
    assert not (tmp_path / "weights.safetensors").exists()  # never trained a good step


# -- SIGINT / SIGTERM -------------------------------------------------------------------
SIGNAL_RUN = [
    "train", MLP_SPEC, "--data", "shapes:count=32", "-b", "8", "--log-every", "1",
    "--sample-every", "0", "--checkpoint-every", "100000",
]  # fmt: skip


def interrupt_a_run(tmp_path: Path, sig: signal.Signals) -> tuple[int, str, str]:
    """Start a long CLI training run, wait for its first logged step, send ``sig``."""
    run = tmp_path / "run"
    command = [sys.executable, "-m", "artkit", "--device", "cpu", *SIGNAL_RUN]
    proc = subprocess.Popen(
        [*command, "--steps", "1000000", "-o", "run"],
        cwd=tmp_path,
        env=SUB_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (run / "metrics.jsonl").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never logged a step"
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def test_sigint_leaves_a_loadable_checkpoint_that_resumes(tmp_path):
    code, out, err = interrupt_a_run(tmp_path, signal.SIGINT)
    assert code == 130, err
    assert "SIGINT received" in err and "resume with: artkit train --resume run" in err
    assert "Traceback" not in err
    assert out.strip() == "run/weights.safetensors"
    run = tmp_path / "run"
    stopped = read_header(run / "weights.safetensors").step
    assert stopped is not None and stopped > 0
    assert read_header(run / "state.safetensors").step == stopped
    assert [r["step"] for r in metrics(run)] == list(range(1, stopped + 1))
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]
    load_model(run / "weights.safetensors")

    # --resume continues from exactly there
    target = stopped + 3
    resumed = artkit_proc("train", "--resume", "run", "--steps", str(target), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert read_header(run / "weights.safetensors").step == target
    assert [r["step"] for r in metrics(run)] == list(range(1, target + 1))


def test_sigterm_also_checkpoints_and_exits_143(tmp_path):
    code, _, err = interrupt_a_run(tmp_path, signal.SIGTERM)
    assert code == 143, err
    assert "SIGTERM received" in err and "Traceback" not in err
    header = read_header(tmp_path / "run/weights.safetensors")
    assert header.step > 0 and read_header(tmp_path / "run/state.safetensors").step == header.step


def test_cli_exact_resume_matches_an_uninterrupted_run(tmp_path):
    straight = artkit_proc("--seed", "3", *SIGNAL_RUN, "--steps", "4", "-o", "a", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    half = artkit_proc("--seed", "3", *SIGNAL_RUN, "--steps", "2", "-o", "b", cwd=tmp_path)
    assert half.returncode == 0, half.stderr
    rest = artkit_proc("--seed", "3", "train", "--resume", "b", "--steps", "4", cwd=tmp_path)
    assert rest.returncode == 0, rest.stderr
    assert read_header(tmp_path / "b/weights.safetensors").step == 4
    assert_same_tensors(tmp_path / "a/weights.safetensors", tmp_path / "b/weights.safetensors")


# -- DDP under torchrun ---------------------------------------------------------------
PROBE_PLUGIN = """
\"\"\"A GAN that logs, per rank and step, hashes of its batch and of its G and D weights.\"\"\"
import sys
sys.path.insert(0, {repo!r})
import artkit
from artkit_gan.configs import MLPGANConfig
from tests.rank_log import digest, log_each_step


def build(**options):
    from artkit_gan.torch_model import build_mlp_gan

    model = build_mlp_gan(**options)
    return log_each_step(model, lambda batch, ctx: [
        digest([batch]), digest(model.G.parameters()), digest(model.D.parameters()),
        str(ctx.world.size),
    ])


@artkit.hookimpl
def register_models(register):
    register("probe-gan", build, params=MLPGANConfig)
"""


def test_two_process_ddp_with_gloo(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    repo = str(Path(__file__).resolve().parents[1])
    (plugins / "ddp_probe.py").write_text(PROBE_PLUGIN.format(repo=repo))
    env = {**SUB_ENV, "ARTKIT_PLUGINS_DIR": str(plugins), "PROBE_DIR": str(tmp_path)}
    steps = 6
    args = [
        "train", "probe-gan:resolution=8,hidden=32", "--data", "shapes:count=32", "-b", "8",
        "--steps", str(steps), "--log-every", "2", "--checkpoint-every", "3",
        "--sample-every", "0", "-o", "run",
    ]  # fmt: skip
    t0 = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    print(f"torchrun took {time.monotonic() - t0:.1f}s")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == ["run/weights.safetensors"]  # rank 0 prints

    # one set of files, written by rank 0 only
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json", "metrics.jsonl", "samples", "state.safetensors", "weights.safetensors",
    ]  # fmt: skip
    assert [p.name for p in (run / "samples").iterdir()] == [f"step-{steps:06d}.png"]
    rows = metrics(run)
    assert [r["step"] for r in rows] == [2, 4, 6]
    # 32 images / 2 ranks / 8 per batch: an epoch is 2 steps (4 on one process)
    assert [r["epoch"] for r in rows] == [1.0, 2.0, 3.0]
    assert read_header(run / "weights.safetensors").step == steps
    assert read_header(run / "state.safetensors").step == steps
    weights, meta = load_tensors(run / "weights.safetensors")
    assert meta["artkit.model"] == "probe-gan"
    plain = make_model(MLP)  # the probe is an mlp-gan underneath: its tensors must fit one
    plain.load_state_dict(weights, strict=True)
    assert all(torch.isfinite(t).all() for t in weights.values())

    # every step both ranks saw different data yet hold identical weights afterwards
    logs = [(tmp_path / f"rank{r}.txt").read_text().split("\n")[:-1] for r in (0, 1)]
    rank0, rank1 = ([line.split() for line in log] for log in logs)
    assert [int(r[0]) for r in rank0] == [int(r[0]) for r in rank1] == list(range(steps))
    for a, b in zip(rank0, rank1, strict=True):
        assert a[4] == b[4] == "2"
        assert a[1] != b[1], "both ranks trained on the same batch"
        assert (a[2], a[3]) == (b[2], b[3]), f"ranks diverged at step {a[0]}"
    # and per epoch the two shards cover each image once (step 0 and 1 on both ranks)
    epoch0 = {r[1] for r in rank0[:2]} | {r[1] for r in rank1[:2]}
    assert len(epoch0) == 4


NAN_ON_RANK1_PLUGIN = """
import os
import artkit
import torch.nn.functional as F


class Loss:
    needs_gradient_penalty = False

    def __init__(self):
        self.calls = 0

    def d_loss(self, real, fake):
        self.calls += 1
        loss = F.softplus(-real.float()).mean() + F.softplus(fake.float()).mean()
        return loss * float("nan") if os.environ["RANK"] == "1" and self.calls == 3 else loss

    def g_loss(self, fake, real=None):
        return F.softplus(-fake.float()).mean()


@artkit.hookimpl
def register_losses(register):
    register("nan-on-rank1", Loss, family="gan")
"""


@pytest.mark.slow
def test_ddp_skips_a_non_finite_step_on_every_rank_together(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "nanrank.py").write_text(NAN_ON_RANK1_PLUGIN)
    env = {**SUB_ENV, "ARTKIT_PLUGINS_DIR": str(plugins)}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", "train", MLP_SPEC, "--data", "shapes:count=32",
         "-b", "8", "--steps", "6", "--sample-every", "0", "--loss", "nan-on-rank1", "-o", "run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "step 2 skipped" in result.stderr
    assert read_header(tmp_path / "run/weights.safetensors").step == 6


@pytest.mark.slow
def test_ddp_refuses_a_decay_planned_from_the_clock(tmp_path):
    # each rank would time its own steps and plan another length: a one-line error
    # before anything is written, not ranks that stop at different steps
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", "train", MLP_SPEC, "--data", "shapes:count=32",
         "-b", "8", "--max-time", "0.05", "--lr-schedule", "cosine", "--no-recipe", "-o", "run"],
        capture_output=True, text=True, env=SUB_ENV, cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert result.returncode != 0
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: error:")]
    assert errors and all("plans the run's length from its own speed" in ln for ln in errors)
    # torchrun reports the failed child with a traceback of its own; none comes from artkit
    assert "artkit/train" not in result.stderr and "artkit/api" not in result.stderr
    assert not (tmp_path / "run").exists()


# -- a folder dataset with corrupt files ---------------------------------------------------
def test_folder_dataset_with_corrupt_files_trains_and_reports_them(tmp_path):
    from PIL import Image

    source = get_registry("datasets").get("shapes").create({"count": 16}, resolution=16, channels=3)
    folder = tmp_path / "art"
    folder.mkdir()
    for i in range(16):
        Image.fromarray(source[i]).save(folder / f"img{i:02d}.png")
    good = (folder / "img00.png").read_bytes()
    (folder / "broken.png").write_bytes(good[: len(good) // 2])  # truncated
    (folder / "zz-not-an-image.jpg").write_bytes(b"this is not a jpeg at all")

    run = tmp_path / "run"
    result = run_cli(
        ["--device", "cpu", "train", MLP_SPEC + ",channels=3", "--data", f"folder:path={folder}",
         "--steps", "3", "-b", "8", "--log-every", "1", "--sample-every", "0", "-o", str(run)]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: warning:")]
    assert len(warnings) == 1, result.stderr
    assert "skipped 2 of 18 files" in warnings[0]
    assert "broken.png" in warnings[0]
    assert result.stderr.count("broken.png") == 1  # reported once, not per epoch or step
    assert "(16 images, 8px, 3 ch)" in result.stderr
    assert read_header(run / "weights.safetensors").step == 3
    assert len(metrics(run)) == 3


# -- command-line mistakes ---------------------------------------------------------------
class NotAGanLoss:
    @artkit.hookimpl
    def register_losses(self, register):
        register("pixel-l1", lambda: lambda a, b: (a - b).abs().mean(), description="Pixel L1.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "shapes"], "name a model to train"),
        (["train", MLP_SPEC], "--data is required"),
        (["train", MLP_SPEC, "--data", "shapes", "--loss", "hnge"], "did you mean 'hinge'"),
        (
            ["train", MLP_SPEC, "--data", "shapes", "--loss", "pixel-l1"],
            "does not fit model 'mlp-gan'",
        ),
        (["train", MLP_SPEC, "--data", "shapes:count=4", "-b", "8"], "fewer than one batch"),
        (["train", MLP_SPEC, "--data", "shapes", "--steps", "0"], "--steps must be at least 1"),
        (["train", "mlp-gan:resolution=2", "--data", "shapes"], "resolution=2 is not allowed"),
        (["train", "nope-gan", "--data", "shapes"], "unknown model 'nope-gan'"),
    ],
)
def test_cli_mistakes_are_one_line_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with plugin_registered(NotAGanLoss(), name="pixel"):
        result = run_cli(["--device", "cpu", *args, "--sample-every", "0"])
    assert result.exit_code == 2, result.stderr
    assert message in one_error_line(result.stderr)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.safetensors"))


def test_cli_refuses_to_overwrite_a_run_and_to_resume_another_model(tmp_path):
    run = tmp_path / "run"
    train(run, steps=1)
    before = (run / "weights.safetensors").read_bytes()
    result = run_cli(["--device", "cpu", "train", MLP_SPEC, "--data", "shapes", "-o", str(run)])
    assert result.exit_code == 2
    assert "already holds a run" in one_error_line(result.stderr)
    result = run_cli(["--device", "cpu", "train", "dcgan", "--resume", str(run)])
    assert result.exit_code == 2
    assert "that run trains 'mlp-gan'" in one_error_line(result.stderr)
    assert (run / "weights.safetensors").read_bytes() == before


@pytest.mark.slow
def test_compile_trains(tmp_path):
    """--compile wraps the networks in torch.compile (inductor takes ~1 min to compile on CPU)."""
    torch.manual_seed(0)
    model = build_model("dcgan", {"resolution": 32, "width": 0.125})
    source = get_registry("datasets").get("shapes").create({"count": 64}, resolution=32, channels=3)
    options = TrainOptions(
        steps=3, batch_size=8, sample_every=0, log_every=1, compile=True, precision="fp32"
    )
    loss = get_registry("losses").get("bce").create()
    result = Trainer(model, source, options, tmp_path, quiet=True, loss=loss).run()
    assert result.step == 3
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["d_loss"]) for r in rows)


def test_ema_follows_a_half_life_in_images_ramped_up_from_the_start(tmp_path):
    """The EMA generator is a recent average early on (not the initial weights) and a long one later."""
    trainer, _ = train(tmp_path / "run", steps=50, batch_size=8)
    trainer.step = 1
    assert trainer.ema_decay() < 1e-5  # after one step the average is G itself
    trainer.step = 50  # 400 images seen: half-life 20 images = 2.5 steps
    assert 0.7 < trainer.ema_decay() < 0.8
    trainer.step = 10**6  # ramped up: the 10k-image half-life
    assert trainer.ema_decay() == pytest.approx(0.5 ** (8 / 10_000))
    # after 50 steps G_ema sits near G, far from where both started
    start = make_model(MLP)
    model = trainer.model
    to_g = sum(
        (a - b).norm() for a, b in zip(model.G_ema.parameters(), model.G.parameters(), strict=True)
    )
    to_start = sum(
        (a - b).norm() for a, b in zip(model.G_ema.parameters(), start.G.parameters(), strict=True)
    )
    assert to_g < 0.5 * to_start, (float(to_g), float(to_start))
    # a fixed --ema-decay keeps the old schedule (and old runs resume with it)
    trainer.options.ema_decay = 0.999
    trainer.step = 50
    assert trainer.ema_decay() == pytest.approx(51 / 60)


def test_g_ema_gets_batch_norm_statistics_of_its_own_weights(tmp_path):
    """After training, G_ema's BatchNorm statistics are measured on G_ema, not copied from G."""
    from artkit.nn.batch_norm import batch_norms

    trainer, _ = train(tmp_path / "run", DC, steps=6, batch_size=8)
    model = trainer.model
    ema_layers, g_layers = batch_norms(model.G_ema), batch_norms(model.G)
    assert ema_layers and not model.G_ema.training
    # the saved G_ema carries them: sampling uses them
    saved, _ = load_tensors(tmp_path / "run" / "weights.safetensors")
    name = next(k for k in saved if k.startswith("G_ema.") and k.endswith("running_mean"))
    assert torch.equal(saved[name], model.state_dict()[name])
    stored = [layer.running_var.clone() for layer in ema_layers]
    # what G_ema's own layers see on fresh latents, in training mode (batch statistics)
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append(i[0].var((0, 2, 3))))
        for m in ema_layers
    ]
    try:
        model.G_ema.train()
        with torch.no_grad():
            model.G_ema(torch.randn(4096, model.z_dim, generator=torch.Generator().manual_seed(5)))
    finally:
        model.G_ema.eval()
        for h in hooks:
            h.remove()
    for layer, g_layer, kept, var in zip(ema_layers, g_layers, stored, seen, strict=True):
        # the stored variances are G_ema's activations' (another 4,096 latents: sampling noise) ...
        assert torch.allclose(kept, var, rtol=0.1), (kept, var)
        # ... not G's, which after 6 steps still mostly remember their start (1.0, momentum 0.1)
        assert not torch.allclose(g_layer.running_var, var, rtol=0.5)
        assert layer.momentum == g_layer.momentum == 0.1
