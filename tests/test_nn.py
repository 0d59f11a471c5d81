"""Shared building blocks (artkit.nn, artkit.config_checks, artkit.images.has_alpha) and the layering.

The blocks keep the tensor names the families had before they shared them (old
checkpoints load), plugins import only ``artkit`` (never each other), and the
modules that used to import each other no longer do.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model
from artkit.config_checks import int_in, number_in, option, require
from artkit.errors import UsageError
from artkit.images import has_alpha
from artkit.nn.adversarial import adversarial_optimizers, check_penalties, d_logits
from artkit.nn.dcgan import down_block, plan_channels, pyramid_sides, up_stack
from artkit.nn.gan_losses import BCELoss, WGANGPLoss

ROOT = Path(__file__).resolve().parents[1]


# -- checkpoint keys -------------------------------------------------------------
# Names as the families had them before artkit.nn existed: changing one breaks
# every checkpoint saved so far.
KEYS = {
    ("dcgan", "spectral"): [
        "G.net.0.weight", "G.net.2.weight", "G.net.2.running_mean", "G.net.4.weight",
        "G.net.11.weight", "G.net.11.bias",
        "D.net.0.bias", "D.net.0.parametrizations.weight.original",
        "D.net.0.parametrizations.weight.0._u", "D.net.6.parametrizations.weight.original",
    ],
    ("dcgan", "batch"): ["D.net.0.weight", "D.net.0.bias", "D.net.2.weight", "D.net.3.running_var"],
    ("vae", None): [
        "E.net.0.weight", "E.net.1.running_mean", "E.net.7.weight", "E.mean.weight",
        "E.logvar.bias", "G.net.0.weight", "G.net.2.weight", "G.net.4.weight", "G.net.11.bias",
    ],
    ("pix2pix", None): [
        "G.down.0.0.weight", "G.down.1.1.weight", "G.up.0.1.weight", "G.up.1.2.running_var",
        "D.net.0.weight", "D.net.2.weight", "D.net.3.running_mean", "G_ema.down.0.0.bias",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("name", "d_norm"), list(KEYS))
def test_tensor_names_are_the_ones_checkpoints_hold(name, d_norm):
    cfg = {
        "dcgan": {"resolution": 32, "width": 0.125, "d_norm": d_norm},
        "vae": {"resolution": 32, "width": 0.25, "z_dim": 8},
        "pix2pix": {"resolution": 32, "width": 8, "d_width": 8},
    }[name]
    keys = set(build_model(name, cfg).state_dict())
    missing = [k for k in KEYS[(name, d_norm)] if k not in keys]
    assert not missing, missing


def test_dcgan_plan_and_blocks():
    assert pyramid_sides(32) == [4, 8, 16, 32]
    assert [plan_channels(s, 1.0) for s in pyramid_sides(128)] == [512, 256, 128, 64, 32, 32]
    assert plan_channels(4, 0.001) == 1
    net = torch.nn.Sequential(*up_stack(8, [16, 8, 4], 3))
    assert net(torch.randn(2, 8)).shape == (2, 3, 16, 16)
    plain, normed = down_block(3, 8, batch_norm=False), down_block(3, 8, batch_norm=True)
    assert len(plain) == 2 and plain[0].bias is not None
    assert len(normed) == 3 and normed[0].bias is None


def test_d_logits_one_call_or_two():
    calls = []

    def D(x):
        calls.append(len(x))
        return x.flatten(1).sum(1)

    real, fake = torch.ones(2, 1, 2, 2), torch.zeros(3, 1, 2, 2)
    r, f = d_logits(D, real, fake, separate=False)
    assert calls == [5] and r.tolist() == [4.0, 4.0] and f.tolist() == [0.0] * 3
    calls.clear()
    d_logits(D, real, fake, separate=True)
    assert calls == [2, 3]


def test_adversarial_optimizers_and_penalty_checks():
    G, D = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    opts = SimpleNamespace(lr=1e-3, lr_d=None, optimizer="adam", betas=(0.5, 0.9), r1=0.0)
    made = adversarial_optimizers(opts, G, D)
    assert list(made) == ["D", "G"] and made["D"].param_groups[0]["lr"] == 1e-3
    assert made["G"].param_groups[0]["betas"] == (0.5, 0.9)
    opts.optimizer, opts.lr_d = "rmsprop", 4e-3
    made = adversarial_optimizers(opts, G, D)
    assert isinstance(made["D"], torch.optim.RMSprop) and made["D"].param_groups[0]["lr"] == 4e-3

    ctx = SimpleNamespace(world=SimpleNamespace(distributed=False), options=opts)
    assert check_penalties(ctx, WGANGPLoss()) is True
    assert check_penalties(ctx, BCELoss()) is False
    assert check_penalties(ctx, object()) is False  # a plugin loss need not say
    ctx.world.distributed = True
    with pytest.raises(UsageError, match="double backward"):
        check_penalties(ctx, WGANGPLoss())


# -- config checks ---------------------------------------------------------------
def test_config_checks():
    assert int_in(3, 1, 4) and not int_in(True, 0, 4) and not int_in(3.0, 1, 4)
    assert int_in(10**9, 1) and not int_in(0, 1)
    assert number_in(0.5, 0, 1) and number_in(1, 0, 1) and not number_in(1, 0, 1, hi_open=True)
    assert not number_in(0, 0, lo_open=True) and not number_in(math.nan, 0)
    assert not number_in(False, 0)
    assert option(3, "help").metadata == {"help": "help"}
    require(True, "m", "x", 1, "anything")
    with pytest.raises(UsageError, match=r"^m: x=0 is not allowed; use an integer >= 1$"):
        require(False, "m", "x", 0, "an integer >= 1")


def test_config_checks_import_no_torch():
    import subprocess
    import sys

    code = "import sys, artkit.config_checks; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- has_alpha -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "transparency", "expected"),
    [
        ("RGBA", None, True), ("LA", None, True), ("PA", None, True),
        ("RGB", None, False), ("L", None, False), ("P", None, False), ("1", None, False),
        ("P", 0, True), ("L", 0, True), ("RGB", (0, 0, 0), True), ("1", 0, True),
    ],
)  # fmt: skip
def test_has_alpha(mode, transparency, expected):
    im = Image.new(mode, (2, 2))
    if transparency is not None:
        im.info["transparency"] = transparency
    assert has_alpha(im) is expected


# -- layering --------------------------------------------------------------------
def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:  # relative, inside a plugin package
                found.add(f"{path.parent.name}.{node.module or ''}".rstrip("."))
            elif node.module:
                found.add(node.module)
    return found


def test_plugins_never_import_each_other():
    offenders = []
    for package in sorted((ROOT / "plugins").glob("artkit_*")):
        for path in package.rglob("*.py"):
            for module in _imports(path):
                top = module.split(".")[0]
                if top.startswith("artkit_") and top != package.name:
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    # artkit_style is another team's; everything else must be clean
    assert not [o for o in offenders if not o.startswith("plugins/artkit_style/")], offenders


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("artkit/eval/features.py", "artkit/eval/inception.py"),
        ("plugins/artkit_data/samples.py", "plugins/artkit_data/single_image.py"),
        ("plugins/artkit_post/configs.py", "plugins/artkit_post/palette.py"),
    ],
)
def test_no_import_cycle(a, b):
    def module(p: str) -> str:
        parts = Path(p).with_suffix("").parts
        return ".".join(parts[1:] if parts[0] == "plugins" else parts)

    a_imports_b = any(m.endswith(module(b)) for m in _imports(ROOT / a))
    b_imports_a = any(m.endswith(module(a)) for m in _imports(ROOT / b))
    assert not (a_imports_b and b_imports_a)
