"""``tinygan``'s own tests: the conformance check, then a real run of a few dozen steps
on ``shapes``, its samples, and a series sweeping its own sampling option."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import artkit
from artkit.errors import UsageError
from artkit.images import read_provenance
from artkit.testing import check_model, run_cli

TINY = "tinygan:resolution=16,width=8"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """40 real steps on 64 shapes (a couple of seconds on a CPU), shared by the tests below."""
    out = tmp_path_factory.mktemp("tinygan") / "run"
    return artkit.train(
        TINY, "shapes:count=64", steps=40, out=out, batch_size=16, log_every=10,
        sample_every=0, device="cpu", precision="fp32", seed=0,
    )  # fmt: skip


def test_tinygan_passes_the_model_checks(tmp_path):
    check_model("tinygan", tmp_dir=tmp_path)  # options, sampling, round trip, train + resume


def test_a_real_run_logs_finite_losses_and_learns(run):
    assert run.step == 40 and run.weights.is_file()
    rows = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40]
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows)
    config = json.loads((run.path / "config.json").read_text())["options"]
    assert config["loss"] == "hinge" and config["lr"] == 1e-3  # the model's defaults
    trained, fresh = artkit.load(run.path), artkit.load(TINY)
    pixels = [np.asarray(m.sample(seeds=[1])[0], np.float32) for m in (trained, fresh)]
    assert np.abs(pixels[0] - pixels[1]).mean() > 1  # the weights moved (G_ema included)


def test_contrast_is_a_sampling_option(run):
    model = artkit.load(run.path, device="cpu")
    soft, bold = (model.sample(seeds=[3, 4], contrast=c) for c in (0.25, 4.0))
    spread = [np.asarray(im, np.float32).std() for im in (soft[0], bold[0])]
    assert spread[0] < spread[1]  # bolder: pixels pushed toward the ends
    assert read_provenance(soft[0])["options"] == {"contrast": 0.25}  # so reproduce can redo it
    with pytest.raises(UsageError, match="no sampler option 'feed'"):
        model.sample(seeds=[3], feed=2)
    with pytest.raises(UsageError, match="contrast=-1 must be a number above 0"):
        model.sample(seeds=[3], contrast=-1)


def test_a_series_sweeps_contrast(run, tmp_path):
    spec = tmp_path / "series.toml"
    spec.write_text(
        f'series = "tiny"\nout = "renders"\ntemplate = "c{{contrast}}/{{seed}}.png"\n'
        f'[model]\ncheckpoint = "{run.path}"\n'
        '[sweep]\nseed = "0-2"\ncontrast = [0.5, 3.0]\n'
    )
    dry = run_cli(["render", str(spec), "--dry-run"])
    assert dry.exit_code == 0 and "total     6 images" in dry.stdout, dry.output
    stats = artkit.render(spec, device="cpu")
    assert stats.rendered == 6
    drawn = Image.open(tmp_path / "renders" / "c3.0" / "2.png").convert("RGB")
    expected = artkit.load(run.path, device="cpu").sample(seeds=[2], contrast=3.0)[0]
    assert np.array_equal(np.asarray(drawn), np.asarray(expected.convert("RGB")))
    same = run_cli(["--device", "cpu", "reproduce", str(tmp_path / "renders" / "c0.5" / "1.png")])
    assert same.exit_code == 0 and same.stdout.strip().endswith(": identical"), same.output


def test_an_option_it_does_not_take_fails_the_dry_run(run, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        f'series = "bad"\ntemplate = "{{feed}}/{{seed}}.png"\n[model]\ncheckpoint = "{run.path}"\n'
        '[sweep]\nseed = "0-1"\nfeed = [1, 2]\n'
    )
    result = run_cli(["render", str(spec), "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "artkit: error: sweep.feed: model 'tinygan' has no sampler option 'feed' "
        "(it takes: truncation, contrast)"
    ]


def test_tinygan_trains_with_the_plugins_own_loss_too(tmp_path):
    run = artkit.train(
        TINY, "shapes:count=16", steps=3, loss="ragan", batch_size=8, sample_every=0,
        log_every=3, out=tmp_path / "r", device="cpu", precision="fp32",
    )  # fmt: skip
    assert run.step == 3 and torch.isfinite(torch.tensor(run.metrics["g_loss"]))
