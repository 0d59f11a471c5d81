"""Styles: a second thing the pictures vary by, which fastgan learns to draw in the data's shares.

A source may say each picture's style (``style_labels()``; glyphs: the font) beside its
class. ``fastgan:styles=S`` gives D a style classifier on its pooled features, trained on
the reals, and pays G for fakes whose styles, as D reads them, are spread as the data's
are. G is never told which style to draw. These tests pin the data contract, the
discriminator's outputs, the one-line errors, on a short real run that D learns the
styles and G draws both, and under two-process DDP that the ranks stay in step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import artkit
from artkit.checkpoint import build_model, load_model
from artkit.data import style_labels, styles_to_learn
from artkit.errors import ArtkitError, UsageError
from artkit.testing import plugin_registered
from artkit_gan.configs import FastGANConfig
from tests.lit_halves import INK, LitHalves
from tests.test_datasets_more import FONT, needs_font

pytestmark = pytest.mark.usefixtures("one_thread")


class LitHalvesPlugin:
    @artkit.hookimpl
    def register_datasets(self, register):
        register(
            "lit-halves",
            lambda resolution=32, channels=1, styles=True, **_: LitHalves(
                resolution, channels, styles=styles in (True, "true", "1")
            ),
            description="Left- or right-lit pictures, dim or bright.",
            test_channels=(1,),
        )


@pytest.fixture
def lit_halves():
    with plugin_registered(LitHalvesPlugin(), name="lit-halves"):
        yield


def test_style_labels_are_read_checked_and_counted():
    ds = LitHalves()
    assert style_labels(ds).dtype == np.int64 and styles_to_learn(ds) == {"styles": 2}
    assert style_labels(LitHalves(styles=False)) is None
    assert styles_to_learn(LitHalves(styles=False)) == {}

    class Broken(LitHalves):
        def style_labels(self):
            return np.array([-1] * len(self))

    with pytest.raises(ArtkitError, match=r"style_labels\(\) gives int64 \(64,\), not one style"):
        style_labels(Broken())


@needs_font
def test_glyphs_number_their_fonts_as_styles(tmp_path):
    from artkit_data.glyphs import GlyphsDataset

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name in ("b-font.ttf", "a-font.ttf"):
        (fonts / name).write_bytes(Path(FONT).read_bytes())
    ds = GlyphsDataset(resolution=16, channels=1, fonts=str(fonts), chars="AB", cache=False)
    assert ds.style_names == ("a-font", "b-font")  # by path
    assert ds.style_labels().tolist() == [0, 0, 1, 1]
    assert styles_to_learn(ds) == {"styles": 2}
    assert "styles" not in ds.model_defaults()  # opt-in: fastgan:styles=2
    one = GlyphsDataset(resolution=16, channels=1, fonts=FONT, chars="AB", cache=False)
    assert styles_to_learn(one) == {}  # one font is no choice to learn


def test_the_discriminator_hands_its_pooled_features_to_a_style_head():
    torch.manual_seed(0)
    net = build_model("fastgan", {"width": 0.125, "z_dim": 16, "classes": 2, "styles": 3})
    assert net.num_styles == 3 and net.num_classes == 2
    images = net.G(net.latents(4))
    labels = torch.tensor([0, 1, 0, 1])
    net.D.eval()  # spectral norm's power iteration would move between calls in training
    logits, pooled = net.D(images, labels=labels, features=True)
    assert logits.shape == (4,) and net.D.style_head(pooled).shape == (4, 3)
    assert torch.equal(logits, net.D(images, labels=labels))  # the logits do not change
    (logits2, recon), _ = net.D(images, reconstruct=2, labels=labels, features=True)
    assert torch.equal(logits2, logits) and recon.shape == (2, 3, 32, 32)
    # a plain classifier: not spectral-normalised as the rest of D is
    keys = net.D.state_dict()
    assert "style_head.weight" in keys and not any("style_head.parametrizations" in k for k in keys)
    plain = build_model("fastgan", {"width": 0.125, "z_dim": 16})
    assert plain.num_styles == 0 and plain.D.style_head is None
    assert build_model("shapegan", {"width": 0.125}).num_styles == 0


@pytest.mark.parametrize(
    ("field", "bad"),
    [("styles", -1), ("styles", 4097), ("styles", 2.5), ("style_weight", -1.0)],
)
def test_config_refuses_bad_styles_in_one_line(field, bad):
    with pytest.raises(UsageError, match=field) as info:
        FastGANConfig(**{field: bad})
    assert "\n" not in str(info.value)


def _train(tmp_path, model: str, data: str, steps: int = 200):
    return artkit.train(
        model,
        data,
        steps=steps,
        batch_size=16,
        lr=2e-3,
        lr_d=4e-3,
        betas=(0.0, 0.99),
        loss="hinge",
        sample_every=0,
        out=tmp_path / "run",
        device="cpu",
        precision="fp32",
        seed=0,
    )


def test_a_run_learns_the_styles_and_draws_each(tmp_path, lit_halves):
    """The data's defaults turn styles on; D learns dim from bright, G draws both, in
    about the data's shares (a quarter bright)."""
    model = "fastgan:resolution=32,channels=1,width=0.125,z_dim=16"
    trained = _train(tmp_path, model, "lit-halves")
    assert trained.reason == "done"
    config = json.loads((trained.path / "config.json").read_text())
    assert config["model_config"]["styles"] == 2 and config["model_config"]["classes"] == 2
    rows = [json.loads(line) for line in (trained.path / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "style_loss" in r]
    assert logged and all("style_gap" in r for r in logged)
    net = load_model(trained.weights).eval()
    assert net.num_styles == 2 and net.D.style_head is not None
    z = net.latents_for_seeds(list(range(64)))
    images = net.generate(z)  # [-1, 1]
    classes = z[:, -2:].argmax(1)
    pairs = zip(images, classes.tolist(), strict=True)
    lit = torch.stack([img[..., 16 * c : 16 * (c + 1)].mean() for img, c in pairs])
    ink = (lit + 1) * 127.5
    bright = (ink > sum(INK) / 2).float().mean().item()
    assert 0.05 <= bright <= 0.6, ink  # both styles drawn, bright the rarer


def test_the_style_loss_trains_the_head_not_ds_judging():
    """The classifier learns on D's features detached: learning the styles must not turn
    D's features to them (on glyphs that let G paint flat squares the head took for a
    font); G's term reaches G through D's features."""
    torch.manual_seed(0)
    net = build_model("fastgan", {"width": 0.125, "z_dim": 16, "classes": 2, "styles": 2})
    real, fake = torch.rand(4, 3, 32, 32) * 2 - 1, net.G(net.latents(4))
    labels, styles = torch.tensor([0, 1, 0, 1]), torch.tensor([0, 0, 1, 1])
    _, _, extra = net.discriminate(net.D, real, fake.detach(), labels, labels, styles)
    extra["style_loss"].backward()
    head = [p for n, p in net.D.named_parameters() if n.startswith("style_head")]
    trunk = [p for n, p in net.D.named_parameters() if not n.startswith("style_head")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head)
    assert all(p.grad is None for p in trunk)

    class Shares:
        style_shares = torch.tensor([0.5, 0.5])

    net.D.zero_grad()
    fake = net.G(net.latents(4))
    fake.retain_grad()
    _, terms = net.judge_fakes(net.D, fake, labels, Shares())
    assert set(terms) == {"style_gap"} and terms["style_gap"].item() >= 0
    terms["style_gap"].backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_styles_without_style_labels_are_a_one_line_error(tmp_path, lit_halves):
    model = "fastgan:resolution=32,channels=1,width=0.125,z_dim=16,styles=2"
    with pytest.raises(UsageError, match="has no style labels; use styles=0") as info:
        _train(tmp_path, model, "lit-halves:styles=false", steps=2)
    assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="the data's styles go up to 1: give styles=2"):
        _train(tmp_path, model.replace("styles=2", "styles=1"), "lit-halves", steps=2)
    assert not (tmp_path / "run" / "weights.safetensors").exists()


# -- under DistributedDataParallel (torchrun, gloo) ----------------------------------------
DDP_PLUGIN = """
import sys
sys.path.insert(0, {repo!r})
import artkit
from artkit_gan.configs import FastGANConfig
from tests.lit_halves import LitHalves
from tests.rank_log import digest, log_each_step


def build(**options):
    from artkit_gan.torch_fastgan import build_fastgan

    model = build_fastgan(**options)
    return log_each_step(model, lambda batch, ctx: [
        digest([ctx.styles]), digest(model.D.style_head.parameters()),
        digest(model.D.parameters()), digest(model.G.parameters()),
    ])


@artkit.hookimpl
def register_models(register):
    register("probe-fastgan", build, params=FastGANConfig)


@artkit.hookimpl
def register_datasets(register):
    register("lit-halves", lambda resolution=32, channels=1, **_: LitHalves(resolution, channels),
             description="Left- or right-lit pictures, dim or bright.", test_channels=(1,))
"""


def test_styles_train_in_step_under_two_process_ddp(tmp_path):
    """Each rank reads its own shard's styles, and the style head's gradients are averaged
    with the rest of D's: after every step both ranks hold the same head, D and G."""
    import os
    import subprocess
    import sys

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    repo = str(Path(__file__).resolve().parents[1])
    (plugins / "ddp_styles.py").write_text(DDP_PLUGIN.format(repo=repo))
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "NO_COLOR": "1",
        "ARTKIT_PLUGINS_DIR": str(plugins),
        "PROBE_DIR": str(tmp_path),
    }
    steps = 4
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", "--precision", "fp32", "train",
         "probe-fastgan:resolution=32,channels=1,width=0.125,z_dim=16", "--data", "lit-halves",
         "-b", "8", "--steps", str(steps), "--log-every", "2", "--sample-every", "0",
         "-o", "run"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model_config"]["styles"] == 2  # the data's defaults reached the ranks
    rows = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "style_loss" in r] == [2, 4]
    logs = [(tmp_path / f"rank{r}.txt").read_text().splitlines() for r in (0, 1)]
    rank0, rank1 = ([line.split() for line in log] for log in logs)
    assert [int(r[0]) for r in rank0] == [int(r[0]) for r in rank1] == list(range(steps))
    assert any(a[1] != b[1] for a, b in zip(rank0, rank1, strict=True)), "one shard on both"
    for a, b in zip(rank0, rank1, strict=True):
        assert a[2:] == b[2:], f"ranks diverged at step {a[0]}"
