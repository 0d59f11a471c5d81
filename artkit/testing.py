"""Helpers for testing artkit and artkit plugins.

- :func:`plugin_registered` registers a plugin object for the duration of a
  ``with`` block (inline plugin classes in tests, as in simonw/llm);
- :func:`run_cli` runs the artkit command line in-process and returns the result
  (exit code, stdout, stderr), with plugins from the current host;
- the ``artkit_plugin`` pytest fixture (auto-loaded through the ``pytest11`` entry point
  :mod:`artkit.pytest_plugin`) registers a plugin for one test;
- :func:`tiny_images` makes small real pictures in code;
- :func:`check_model`, :func:`check_loss` and :func:`check_postprocessor` check a
  registered component against artkit's contracts (the built-ins pass the same
  checks); a failure is a :class:`ConformanceError` that says which rule broke.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any


@contextlib.contextmanager
def plugin_registered(plugin: Any, name: str | None = None) -> Iterator[Any]:
    """Register ``plugin`` (an object or module with ``@artkit.hookimpl`` functions) for one block."""
    from artkit.plugins import get_host

    host = get_host()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    host.pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        host.pm.unregister(name=name)
        host.infos.pop(name, None)


def run_cli(args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None):
    """Invoke ``artkit ARGS`` in-process; returns typer's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from artkit.cli import build_full_app

    runner = CliRunner()
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        app = build_full_app(list(args))
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --------------------------------------------------------------------------- fixtures


def register_plugin_fixture() -> Any:
    """The ``artkit_plugin`` pytest fixture (see :mod:`artkit.pytest_plugin`)."""
    import pytest

    @pytest.fixture
    def artkit_plugin() -> Iterator[Any]:
        """Call it with a plugin object (or module) to register it for this test only."""
        names: list[str] = []

        def register(plugin: Any, name: str | None = None) -> Any:
            from artkit.plugins import get_host

            host = get_host()
            name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
            host.pm.register(plugin, name=name)
            names.append(name)
            return plugin

        yield register
        from artkit.plugins import get_host

        host = get_host()
        for name in names:
            host.pm.unregister(name=name)
            host.infos.pop(name, None)

    return artkit_plugin


# --------------------------------------------------------------------------- tiny data


def tiny_images(n: int = 4, size: int = 16, mode: str = "RGB", seed: int = 0) -> list[Any]:
    """``n`` small, varied, real pictures (gradients, discs, stripes) made in code."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    images = []
    for _ in range(n):
        im = Image.linear_gradient("L").resize((size, size)).rotate(rng.choice([0, 90, 180, 270]))
        im = Image.merge(
            "RGB", (im, im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), im.point(lambda v: 255 - v))
        )
        draw = ImageDraw.Draw(im)
        r = rng.randint(size // 6, size // 3)
        cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
        draw.ellipse(
            (cx - r, cy - r, cx + r, cy + r), fill=tuple(rng.randint(0, 255) for _ in "rgb")
        )
        for x in range(0, size, max(2, size // 4)):
            draw.line((x, 0, x, size // 4), fill=(255, 255, 255))
        images.append(im.convert(mode) if mode != "RGBA" else _with_alpha(im))
    return images


def _with_alpha(im: Any) -> Any:
    from PIL import Image

    alpha = Image.radial_gradient("L").resize(im.size).point(lambda v: 255 - v)
    out = im.convert("RGBA")
    out.putalpha(alpha)
    return out


# --------------------------------------------------------------------------- conformance


class ConformanceError(AssertionError):
    """A component breaks artkit's contract; the message says which rule and how."""


def _fail(kind: str, name: str, rule: str) -> ConformanceError:
    return ConformanceError(f"{kind} {name!r}: {rule}")


def _entry(kind: str, name: str) -> Any:
    from artkit.plugins import get_registry

    registry = get_registry(kind)
    if name not in registry:
        raise _fail(kind[:-1], name, f"not registered (registered: {', '.join(registry.names())})")
    return registry.get(name)


def check_model(name: str, *, train_steps: int = 2, tmp_dir: Any = None, **config: Any) -> None:
    """Check the model contract for registry entry ``name`` (with ``config`` or its ``test_config``).

    - building with an unknown option or a wrongly typed value is a one-line UsageError;
    - it is an :class:`artkit.model.ArtModel` with its declared networks and capabilities;
    - ``sample`` gives (N, C, H, W) finite images in [-1, 1], the same for the same seed
      and different for different seeds; ``translate`` / ``stylize`` / ``encode``+``decode``
      give finite outputs of the right batch size;
    - a safetensors checkpoint round trip rebuilds a model with identical outputs;
    - a trainable model trains ``train_steps`` real steps with ``artkit train`` on a tiny
      dataset, reports finite losses and writes weights that load.
    """
    import tempfile
    from pathlib import Path

    import torch

    from artkit.checkpoint import build_model, load_model, save_model
    from artkit.errors import UsageError
    from artkit.model import ArtModel

    entry = _entry("models", name)
    hint = dict(entry.extra.get("test_config") or {})
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(tmp_dir or scratch)
        style = root / "tiny-style.png"
        tiny_images(1, 32)[0].save(style)
        cfg = {k: (str(style) if v == "{tiny_image}" else v) for k, v in {**hint, **config}.items()}

        try:
            build_model(name, {**cfg, "no_such_option_xyz": 1})
        except UsageError:
            pass
        except Exception as exc:
            raise _fail(
                "model", name, f"an unknown option must be a UsageError, not {type(exc).__name__}"
            ) from None
        else:
            raise _fail("model", name, "an unknown option must be a UsageError")
        typed = [p for p in entry.params if p.type in (int, float) and p.name not in cfg]
        if typed:
            try:
                build_model(name, {**cfg, typed[0].name: "not-a-number"})
            except (UsageError, ValueError):
                pass
            else:
                raise _fail("model", name, f"{typed[0].name}='not-a-number' must be rejected")

        torch.manual_seed(0)
        model = build_model(name, cfg)
        if not isinstance(model, ArtModel):
            raise _fail("model", name, f"the factory returned {type(model).__name__}, not ArtModel")
        for net in model.network_names:
            if not isinstance(getattr(model, net, None), torch.nn.Module):
                raise _fail("model", name, f"network {net!r} is declared but missing")
        model.eval()
        outputs = _exercise(model, name)

        path = save_model(model, root / "conformance.safetensors")
        again = load_model(path).eval()
        for key, value in _exercise(again, name).items():
            if not torch.equal(value, outputs[key]):
                raise _fail("model", name, f"{key} differs after a checkpoint round trip")

        if train_steps and callable(getattr(model, "training_step", None)):
            _train(name, cfg, entry, root, train_steps)


def _exercise(model: Any, name: str) -> dict[str, Any]:
    import torch

    from artkit.device import make_generator

    out: dict[str, Any] = {}
    caps = model.capabilities()
    with torch.no_grad():
        if "sample" in caps:
            a = model.sample(2, make_generator(1))
            b = model.sample(2, make_generator(1))
            c = model.sample(2, make_generator(2))
            _check_images(a, name, "sample(2)", n=2)
            if not torch.equal(a, b):
                raise _fail("model", name, "sample is not deterministic for one seed")
            if torch.equal(a, c):
                raise _fail("model", name, "different seeds gave the same samples")
            out["sample"] = a
        for cap in ("translate", "stylize"):
            if cap in caps:
                channels = int(getattr(model.config, "in_channels", 3) or 3)
                size = int(getattr(model.config, "resolution", 32) or 32)
                x = (
                    torch.rand(2, channels, size, size, generator=torch.Generator().manual_seed(3))
                    * 2
                    - 1
                )
                y = getattr(model, cap)(x)
                _check_images(y, name, f"{cap}(x)", n=2)
                out[cap] = y
        if "encode" in caps and "decode" in caps and "sample" in caps:
            z = model.encode(out["sample"])
            z = z[0] if isinstance(z, tuple) else z
            y = model.decode(z)
            _check_images(y, name, "decode(encode(x))", n=2)
            out["decode"] = y
    return out


def _check_images(x: Any, name: str, what: str, n: int) -> None:
    import torch

    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] != n:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise _fail("model", name, f"{what} must give ({n}, C, H, W) images, got {shape}")
    if not torch.isfinite(x).all():
        raise _fail("model", name, f"{what} gave non-finite values")
    if x.min() < -1.0001 or x.max() > 1.0001:
        raise _fail("model", name, f"{what} must be in [-1, 1], got [{x.min():.3f}, {x.max():.3f}]")


def _train(name: str, cfg: dict[str, Any], entry: Any, root: Any, steps: int) -> None:
    import json

    from artkit.checkpoint import load_model
    from artkit.cli.post import format_value

    spec = name + (":" + ",".join(f"{k}={format_value(v)}" for k, v in cfg.items()) if cfg else "")
    data = entry.extra.get("test_data", "shapes:count=8")
    run = root / "run"
    result = run_cli(
        ["--device", "cpu", "--precision", "fp32", "--seed", "0", "-q", "train", spec,
         "--data", data, "--steps", str(steps), "-b", "4", "--sample-every", "0",
         "--log-every", "1", "-o", str(run)]
    )  # fmt: skip
    if result.exit_code != 0:
        tail = (result.stderr or result.output).strip().splitlines()[-3:]
        raise _fail("model", name, f"artkit train failed: {' | '.join(tail)}")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    losses = {k: v for row in rows for k, v in row.items() if "loss" in k}
    if not rows or not losses:
        raise _fail("model", name, "training logged no losses")
    bad = {
        k: v
        for k, v in losses.items()
        if not isinstance(v, int | float) or v != v or abs(v) == float("inf")
    }
    if bad:
        raise _fail("model", name, f"training logged non-finite losses: {bad}")
    load_model(run / "weights.safetensors")


def check_loss(name: str) -> None:
    """Check a loss: float32 finite scalars with finite gradients, pointing the right way.

    GAN losses (``d_loss`` / ``g_loss``): a discriminator that scores real high and
    fake low has a lower ``d_loss`` than one that does the opposite, a generator whose
    fakes score high has a lower ``g_loss``; bf16 logits give float32 losses.
    Reconstruction losses: one value per image, lower for a perfect reconstruction.
    """
    import torch

    loss = _entry("losses", name).create()
    g = torch.Generator().manual_seed(0)
    checked = False
    if callable(getattr(loss, "d_loss", None)) and callable(getattr(loss, "g_loss", None)):
        checked = True
        high = (torch.randn(8, generator=g) + 4).requires_grad_()
        low = (torch.randn(8, generator=g) - 4).requires_grad_()
        good, bad = loss.d_loss(high, low), loss.d_loss(low, high)
        for value, what in ((good, "d_loss"), (loss.g_loss(high, low), "g_loss")):
            if value.dim() != 0 or value.dtype != torch.float32 or not torch.isfinite(value):
                raise _fail("loss", name, f"{what} must be a finite float32 scalar, got {value}")
        if not good < bad:
            raise _fail("loss", name, "d_loss must be lower when real scores high and fake low")
        if not loss.g_loss(high, high) < loss.g_loss(low, high):
            raise _fail("loss", name, "g_loss must be lower when the fakes score high")
        good.backward()
        if not (torch.isfinite(high.grad).all() and torch.isfinite(low.grad).all()):
            raise _fail("loss", name, "d_loss gradients are not finite")
        half = loss.d_loss(high.detach().bfloat16(), low.detach().bfloat16())
        if half.dtype != torch.float32:
            raise _fail("loss", name, "bf16 logits must still give a float32 loss")
    if callable(getattr(loss, "reconstruction", None)):
        checked = True
        x = torch.rand(3, 3, 8, 8, generator=g) * 2 - 1
        noisy = (x + torch.randn(3, 3, 8, 8, generator=g)).clamp(-1, 1).requires_grad_()
        perfect, worse = loss.reconstruction(x, x), loss.reconstruction(noisy, x)
        if perfect.shape != (3,) or not torch.isfinite(worse).all():
            raise _fail(
                "loss",
                name,
                f"reconstruction must give one finite value per image, got {tuple(worse.shape)}",
            )
        if not (perfect < worse).all():
            raise _fail("loss", name, "reconstruction must be lower for a perfect reconstruction")
        worse.sum().backward()
        if not torch.isfinite(noisy.grad).all():
            raise _fail("loss", name, "reconstruction gradients are not finite")
    if not checked:
        raise _fail("loss", name, "has neither d_loss/g_loss (GAN) nor reconstruction")


def check_postprocessor(name: str, **params: Any) -> None:
    """Check a post-processor on L, RGB and RGBA pictures: PIL in, PIL out, deterministic.

    Also: an unknown parameter is a one-line UsageError before any image is touched,
    and the input image is never modified in place.
    """

    from artkit.cli.post import resolve_step
    from artkit.errors import ArtkitError, UsageError
    from artkit.plugins import get_registry

    registry = get_registry("postprocessors")
    entry = _entry("postprocessors", name)
    params = {**(entry.extra.get("test_params") or {}), **params}
    spec = name + (":" + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
    if entry.params:  # declared parameters: anything else must be refused up front
        try:
            resolve_step(f"{name}:no_such_parameter_xyz=1", registry.get)
        except UsageError:
            pass
        else:
            raise _fail("post-processor", name, "an unknown parameter must be a UsageError")
    step = resolve_step(spec, registry.get)
    for mode in ("RGB", "RGBA", "L"):
        source = tiny_images(1, 24, mode=mode, seed=5)[0]
        given = source.copy()
        try:
            first, second = step(given), step(source.copy())
        except ArtkitError as exc:  # artkit's own wrapper names the broken rule
            text = str(exc).removeprefix(f"{name} ")
            raise _fail("post-processor", name, f"on a {mode} image: {text}") from None
        if given.tobytes() != source.tobytes():
            raise _fail("post-processor", name, "modified its input image in place")
        if first.tobytes() != second.tobytes() or first.size != second.size:
            raise _fail("post-processor", name, f"not deterministic on a {mode} image")
        if min(first.size) < 1:
            raise _fail("post-processor", name, f"returned an empty {first.size} image")
