"""Checks of the other components: losses, post-processors, datasets and extractors."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from artkit.checks.common import (
    _bad_values,
    _entry,
    _expect_one_line_error,
    _fail,
    _hinted,
)

# --------------------------------------------------------------------------- losses


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
        # a discriminator that has it backwards must learn something (the right one may sit
        # past a margin, as hinge's does, with nothing left to learn)
        bad.backward()
        if not (torch.isfinite(high.grad).all() and torch.isfinite(low.grad).all()):
            raise _fail("loss", name, "d_loss gradients are not finite")
        if high.grad.abs().sum() == 0 and low.grad.abs().sum() == 0:
            raise _fail("loss", name, "d_loss gives a wrong discriminator no gradient")
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
                "loss", name,
                f"reconstruction must give one finite value per image, got {tuple(worse.shape)}",
            )  # fmt: skip
        if not (perfect < worse).all():
            raise _fail("loss", name, "reconstruction must be lower for a perfect reconstruction")
        worse.sum().backward()
        if not torch.isfinite(noisy.grad).all():
            raise _fail("loss", name, "reconstruction gradients are not finite")
    if not checked:
        raise _fail("loss", name, "has neither d_loss/g_loss (GAN) nor reconstruction")


# --------------------------------------------------------------------------- post-processors


def check_postprocessor(name: str, **params: Any) -> None:
    """Check a post-processor on L, RGB and RGBA pictures: PIL in, PIL out, deterministic.

    Also: an unknown parameter, a word for a number and an unknown choice are each a
    one-line UsageError before any image is touched; the input image is never
    modified in place; an entry registered with ``keeps_size=True`` returns the
    input's size; the result is in a mode artkit can save (L, LA, RGB, RGBA, P, 1, I, F).
    """
    from PIL import Image

    from artkit.api.post import format_spec, resolve_step
    from artkit.errors import ArtkitError
    from artkit.plugins import get_registry

    registry = get_registry("postprocessors")
    entry = _entry("postprocessors", name)
    with tempfile.TemporaryDirectory() as scratch:
        params = _hinted(entry, "test_params", Path(scratch), params)
        if entry.params:  # declared parameters: anything else must be refused up front
            _expect_one_line_error(
                "post-processor", name,
                lambda: resolve_step(f"{name}:no_such_parameter_xyz=1", registry.get),
                "an unknown parameter", "no_such_parameter_xyz",
            )  # fmt: skip
            for key, value in _bad_values(entry.params, set()):
                spec = format_spec(name, {**params, key: value})
                _expect_one_line_error(
                    "post-processor", name, lambda s=spec: resolve_step(s, registry.get),
                    f"{key}={value!r}", key,
                )  # fmt: skip
        step = resolve_step(format_spec(name, params), registry.get)
        for mode in ("RGB", "RGBA", "L"):
            source = _tiny_picture(mode)
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
            if entry.extra.get("keeps_size") and first.size != source.size:
                raise _fail(
                    "post-processor", name,
                    f"is registered with keeps_size=True but turned {source.size} into {first.size}",
                )  # fmt: skip
            if first.mode not in ("L", "LA", "RGB", "RGBA", "P", "1", "I", "F"):
                raise _fail(
                    "post-processor", name, f"returned a {first.mode} image artkit cannot save"
                )
            if not isinstance(first, Image.Image):  # pragma: no cover - the step wrapper checks
                raise _fail("post-processor", name, "did not return a PIL image")


def _tiny_picture(mode: str) -> Any:
    from artkit.tiny import tiny_images

    return tiny_images(1, 24, mode=mode, seed=5)[0]


# --------------------------------------------------------------------------- datasets


def check_dataset(name: str, *, tmp_dir: str | Path | None = None, **params: Any) -> None:
    """Check a dataset: ``factory(resolution=R, channels=C, **params)`` gives an ImageSource.

    - an unknown parameter, a word for a number and an unknown choice are each refused
      with a one-line UsageError naming it;
    - for each channel count (``test_channels``, default 1, 3 and 4) at 16 and 24 px:
      at least one image; every item a uint8 array of shape (R, R, C); ``source[-1]``
      works and ``source[len(source)]`` raises IndexError (so iteration stops);
      ``resolution``/``channels`` attributes match what was asked;
    - ``fingerprint()`` is a short hex string, the same for a second build with the
      same parameters, which also gives the same pixels.
    """
    import re

    import numpy as np

    from artkit.data import ImageSource

    entry = _entry("datasets", name)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(tmp_dir or scratch)
        opts = _hinted(entry, "test_params", root, params)
        _expect_one_line_error(
            "dataset", name,
            lambda: entry.create({**opts, "no_such_parameter_xyz": 1}, resolution=16, channels=3),
            "an unknown parameter", "no_such_parameter_xyz",
        )  # fmt: skip
        for key, value in _bad_values(entry.params, set(opts)):
            _expect_one_line_error(
                "dataset", name,
                lambda k=key, v=value: entry.create({**opts, k: v}, resolution=16, channels=3),
                f"{key}={value!r}", key,
            )  # fmt: skip
        for channels in entry.extra.get("test_channels", (1, 3, 4)):
            for resolution in (16, 24):
                where = f"at resolution={resolution}, channels={channels}"
                source = entry.create(opts, resolution=resolution, channels=channels)
                if not isinstance(source, ImageSource):
                    raise _fail(
                        "dataset", name,
                        f"{type(source).__name__} is not an ImageSource (needs resolution, "
                        "channels, __len__, __getitem__ and fingerprint())",
                    )  # fmt: skip
                if (source.resolution, source.channels) != (resolution, channels):
                    raise _fail(
                        "dataset", name,
                        f"{where}: the source says resolution={source.resolution}, "
                        f"channels={source.channels}",
                    )  # fmt: skip
                n = len(source)
                if n < 1:
                    raise _fail("dataset", name, f"{where}: no images")
                for index in dict.fromkeys((0, n // 2, n - 1, -1)):
                    item = np.asarray(source[index])
                    if item.dtype != np.uint8 or item.shape != (resolution, resolution, channels):
                        raise _fail(
                            "dataset", name,
                            f"{where}: item {index} is {item.dtype} {item.shape}, "
                            f"not uint8 {(resolution, resolution, channels)}",
                        )  # fmt: skip
                try:
                    source[n]
                except IndexError:
                    pass
                else:
                    raise _fail("dataset", name, f"source[len(source)] must raise IndexError ({n})")
                mark = source.fingerprint()
                if not isinstance(mark, str) or not re.fullmatch(r"[0-9a-f]{8,64}", mark):
                    raise _fail(
                        "dataset", name, f"fingerprint() must be a short hex string, got {mark!r}"
                    )
            again = entry.create(opts, resolution=resolution, channels=channels)
            if again.fingerprint() != mark:
                raise _fail(
                    "dataset", name, "two builds with the same parameters differ in fingerprint"
                )
            if not np.array_equal(np.asarray(again[n - 1]), np.asarray(source[n - 1])):
                raise _fail(
                    "dataset", name, "two builds with the same parameters gave other pixels"
                )


# --------------------------------------------------------------------------- extractors


def check_extractor(name: str, **params: Any) -> None:
    """Check a feature extractor, of either kind artkit uses.

    Style extractors (``extractor(images, layers) -> {layer: features}``, used by
    style transfer and perceptual losses):

    - it declares ``layers``, and its ``content_layers`` and ``style_layers`` are among them;
    - on (2, 3, 32, 32) images in [-1, 1] every requested layer comes back as a finite
      (2, C, H, W) tensor, the same for the same input;
    - its parameters are frozen, yet gradients reach the input image (style transfer
      optimises the image through it) and are finite;
    - asking for a layer it does not have is a one-line UsageError naming it.

    Embedders (``embed(images) -> (N, D)``, used by ``artkit eval``): float32 finite
    features, the same for the same images, different for different ones, and each
    image's features the same alone as in a batch.
    """
    import torch

    entry = _entry("extractors", name)
    with tempfile.TemporaryDirectory() as scratch:
        opts = _hinted(entry, "test_params", Path(scratch), params)
        torch.manual_seed(0)
        extractor = entry.create(opts, device="cpu")
    if not isinstance(extractor, torch.nn.Module):
        raise _fail(
            "extractor", name, f"the factory returned {type(extractor).__name__}, not a module"
        )
    if callable(getattr(extractor, "embed", None)):
        _check_embedder(extractor, name)
    else:
        _check_feature_maps(extractor, name)


def _check_embedder(extractor: Any, name: str) -> None:
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 48, 48, generator=g) * 2 - 1
    with torch.no_grad():
        batch, again, alone = extractor.embed(x), extractor.embed(x), extractor.embed(x[2:])
    if not isinstance(batch, torch.Tensor) or batch.dim() != 2 or batch.shape[0] != 3:
        shape = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise _fail("extractor", name, f"embed(3 images) must give (3, D) features, got {shape}")
    if batch.dtype != torch.float32 or not torch.isfinite(batch).all():
        raise _fail("extractor", name, "embed must give finite float32 features")
    if not torch.equal(batch, again):
        raise _fail("extractor", name, "the same images gave different features")
    if torch.allclose(batch[0], batch[1]):
        raise _fail("extractor", name, "two different images gave the same features")
    scale = batch.abs().max().clamp(min=1e-6)
    if not torch.allclose(alone, batch[2:], atol=1e-4 * float(scale), rtol=1e-3):
        raise _fail("extractor", name, "an image's features depend on the rest of its batch")


def _check_feature_maps(extractor: Any, name: str) -> None:
    import torch

    layers = list(getattr(extractor, "layers", ()) or ())
    if not layers:
        raise _fail("extractor", name, "declares no layers")
    for attr in ("content_layers", "style_layers"):
        missing = [x for x in getattr(extractor, attr, ()) if x not in layers]
        if missing:
            raise _fail("extractor", name, f"{attr} names unknown layers: {', '.join(missing)}")
    if any(p.requires_grad for p in extractor.parameters()):
        raise _fail("extractor", name, "its parameters must be frozen (requires_grad=False)")
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(2, 3, 32, 32, generator=g) * 2 - 1).requires_grad_()
    wanted = list(dict.fromkeys([*getattr(extractor, "style_layers", ()), layers[-1]]))
    features = extractor(x, wanted)
    if not isinstance(features, dict) or set(features) != set(wanted):
        got = sorted(features) if isinstance(features, dict) else type(features).__name__
        raise _fail("extractor", name, f"asked for {wanted}, got {got}")
    for layer, f in features.items():
        if not isinstance(f, torch.Tensor) or f.dim() != 4 or f.shape[0] != 2:
            raise _fail("extractor", name, f"layer {layer!r} must be (2, C, H, W) features")
        if not torch.isfinite(f).all():
            raise _fail("extractor", name, f"layer {layer!r} has non-finite values")
    # RuntimeError "element 0 of tensors does not require grad": features cut off from x
    with contextlib.suppress(RuntimeError):
        sum(f.float().square().mean() for f in features.values()).backward()
    if x.grad is None or not torch.isfinite(x.grad).all() or x.grad.abs().sum() == 0:
        raise _fail("extractor", name, "no finite gradient reaches the input image")
    again = extractor(x.detach(), wanted)
    if any(not torch.equal(again[k], features[k].detach()) for k in wanted):
        raise _fail("extractor", name, "the same images gave different features")
    _expect_one_line_error(
        "extractor", name, lambda: extractor(x.detach(), ["no_such_layer_xyz"]),
        "an unknown layer", "no_such_layer_xyz",
    )  # fmt: skip
