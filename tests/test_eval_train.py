"""``artkit train --eval-every``: real tiny trainings that score themselves.

The logged metric is recomputed independently from ``best.safetensors``; exact
resume stays bit-exact with evaluation on (it never touches the training RNG) and
keeps the best value; a model that cannot sample is refused before training.
"""

from __future__ import annotations

import json

import pytest
import torch

from artkit.checkpoint import build_model, load_model, load_tensors, read_header
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit.train import state as train_state
from artkit.train.loop import Trainer
from artkit.train.options import TrainOptions
from tests.helpers import assert_same_tensors, metrics, one_error_line

DC = ("dcgan", {"resolution": 32, "width": 0.125})


@pytest.fixture(autouse=True)
def offline_and_one_thread(monkeypatch):
    monkeypatch.setenv("ARTKIT_OFFLINE", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def shapes(count: int = 32):
    return (
        get_registry("datasets").get("shapes").create({"count": count}, resolution=32, channels=3)
    )


def train(out, *, resume=False, **opts):
    torch.manual_seed(1234)
    net = build_model(DC[0], DC[1])
    options = TrainOptions(
        **{
            "steps": 4, "batch_size": 8, "log_every": 1, "checkpoint_every": 1000,
            "sample_every": 0, "device": "cpu", "precision": "fp32", "loss": "bce",
            "eval_every": 2, "eval_n": 16, **opts,
        }
    )  # fmt: skip
    loss = get_registry("losses").get("bce").create()
    trainer = Trainer(net, shapes(), options, out, resume=resume, quiet=True, loss=loss)
    return trainer, trainer.run()


def recompute(best, data, *, n, batch, metric="fd"):
    """The eval metric of a saved model, computed here the way the trainer documents it."""
    from artkit.device import make_generator
    from artkit.eval.features import get_features
    from artkit.eval.stats import compare, feature_stats
    from artkit.torch_images import from_uint8
    from artkit.train.evaluation import SEED_BASE

    model = load_model(best).eval()
    extractor = get_features("auto")
    images = torch.from_numpy(data.as_array().copy()).permute(0, 3, 1, 2)
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:n]
    with torch.inference_mode():
        real = feature_stats(
            (from_uint8(images[pick[i : i + batch]]).float() for i in range(0, len(pick), batch)),
            extractor,
            "cpu",
        )
        fake = feature_stats(
            (
                model.sample(min(batch, n - i), make_generator(SEED_BASE + i)).float()
                for i in range(0, n, batch)
            ),
            extractor,
            "cpu",
        )
    return compare(fake, real, [metric])[metric]


@pytest.mark.parametrize("ema", ["--ema", "--no-ema"])
def test_eval_every_logs_the_metric_and_keeps_the_best_weights(tmp_path, ema):
    run = tmp_path / "run"
    result = run_cli(
        ["--device", "cpu", "--precision", "fp32", "-q", "train", "dcgan:resolution=32,width=0.125",
         "--data", "shapes:count=48", "--steps", "6", "-b", "8", "--eval-every", "3",
         "--eval-n", "24", "--sample-every", "0", "--log-every", "3", ema, "-o", str(run)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    evals = [r for r in metrics(run) if "eval_fd" in r]
    assert [r["step"] for r in evals] == [3, 6]
    for row in evals:
        assert row["eval_features"] == "random-conv" and row["eval_n"] == row["eval_ref_n"] == 24
        assert row["eval_fd"] > 0 and row["eval_kid_std"] >= 0
        assert 0 <= row["eval_precision"] <= 1 and 0 <= row["eval_recall"] <= 1
    best = min(evals, key=lambda r: r["eval_fd"])
    assert evals[0].get("eval_best") is True  # the first evaluation is always the best so far
    header = read_header(run / "best.safetensors")
    assert header.step == best["step"]
    assert header.metadata["artkit.eval_metric"] == "fd"
    assert header.metadata["artkit.eval_features"] == "random-conv"
    assert float(header.metadata["artkit.eval_value"]) == pytest.approx(best["eval_fd"])
    # the logged number is the weights' number: sampled from the very model that was saved
    # (without EMA, the inference copy must be refreshed before sampling, not only on save)
    again = recompute(run / "best.safetensors", shapes(48), n=24, batch=8)
    assert again == pytest.approx(best["eval_fd"], rel=1e-3)
    tensors, _ = load_tensors(run / "best.safetensors")
    same = all(
        torch.equal(tensors[k], tensors[k.replace("G.", "G_ema.", 1)])
        for k in tensors
        if k.startswith("G.")
    )
    # without EMA the sampled (and saved) generator is the trained one at that step, not a stale copy
    assert same == (ema == "--no-ema")


def test_exact_resume_with_evaluation_keeps_the_best_value(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(a, steps=6)
    train(b, steps=3)
    trainer, result = train(b, steps=6, resume=True)
    assert result.step == 6
    # evaluation never moved the training's random streams: bit-identical to one run
    assert_same_tensors(a / "weights.safetensors", b / "weights.safetensors")
    assert_same_tensors(a / "best.safetensors", b / "best.safetensors")
    rows_a = [r for r in metrics(a) if "eval_fd" in r]
    rows_b = [r for r in metrics(b) if "eval_fd" in r]
    assert [r["step"] for r in rows_b] == [2, 4, 6]
    assert [r["eval_fd"] for r in rows_b] == [r["eval_fd"] for r in rows_a]
    assert [r.get("eval_best") for r in rows_b] == [r.get("eval_best") for r in rows_a]
    # the best value lives in the training state, so the resumed run compared against it
    _, meta = load_tensors(b / "state.safetensors")
    assert train_state.unpack_meta(meta)["eval_best"] == min(r["eval_fd"] for r in rows_a)
    assert trainer.eval_best == min(r["eval_fd"] for r in rows_a)


@pytest.mark.parametrize("metric", ["recall", "coverage"])
def test_eval_metric_that_rises_keeps_the_highest(tmp_path, metric):
    train(tmp_path / "r", steps=6, eval_metric=metric)
    key = f"eval_{metric}"
    rows = [r for r in metrics(tmp_path / "r") if key in r]
    best = max(rows, key=lambda r: (r[key], -r["step"]))
    header = read_header(tmp_path / "r" / "best.safetensors")
    assert header.metadata["artkit.eval_metric"] == metric
    assert float(header.metadata["artkit.eval_value"]) == best[key]
    marked = [r["step"] for r in rows if r.get("eval_best")]
    assert marked[0] == 2 and all(  # each marked row beat every row before it
        r[key] > max(p[key] for p in rows if p["step"] < r["step"])
        for r in rows
        if r.get("eval_best") and r["step"] != 2
    )
    assert all("eval_pr" in r for r in rows)  # the harmonic mean that --eval-metric pr ranks by
    assert all(0 <= r["eval_coverage"] <= 1 and r["eval_density"] >= 0 for r in rows)


def test_eval_every_needs_a_model_that_samples(tmp_path):
    from PIL import Image

    Image.new("RGB", (16, 16), "red").save(tmp_path / "style.png")
    result = run_cli(
        ["--device", "cpu", "train", f"fast-style:width=4,residual_blocks=1,resolution=32,style={tmp_path / 'style.png'}",
         "--data", "shapes:count=8", "-b", "4", "--steps", "2", "--eval-every", "1", "-o", str(tmp_path / "r")]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "cannot sample" in one_error_line(result.stderr)
    assert not (tmp_path / "r" / "weights.safetensors").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--eval-metric", "fid"],
            "--eval-metric 'fid': use fd, kid, precision, recall, pr or coverage",
        ),
        (["--eval-n", "5"], "--eval-n at least 10"),
        (["--eval-features", "inception"], "no FID Inception weights"),
    ],
)
def test_eval_option_mistakes_are_one_line_errors(tmp_path, args, message):
    result = run_cli(
        ["--device", "cpu", "train", "dcgan:resolution=32,width=0.125", "--data", "shapes:count=16",
         "-b", "8", "--steps", "2", "--eval-every", "1", *args, "-o", str(tmp_path / "r")]
    )  # fmt: skip
    assert result.exit_code in (1, 2)
    assert message in one_error_line(result.stderr)


def test_plot_draws_a_real_run_with_its_eval_curves(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    train(tmp_path / "run", steps=6)
    result = run_cli(["plot", str(tmp_path / "run"), "-o", str(tmp_path / "curves.png")])
    assert result.exit_code == 0, result.stderr
    logged = {k for r in metrics(tmp_path / "run") for k in r}
    assert {"d_loss", "g_loss", "eval_fd", "eval_kid", "eval_precision", "eval_recall"} <= logged
    # d_loss g_loss d_real d_fake + eval fd kid precision recall pr density coverage;
    # bookkeeping is not drawn
    assert "11 panels, 1 runs" in result.stderr
    with Image.open(tmp_path / "curves.png") as im:
        im.load()
        assert im.size[0] > 1000 and im.size[1] > 700
    json.dumps(logged, default=list)
