"""Feature extractors for evaluation: images (N, C, H, W) in [-1, 1] -> features (N, D).

- ``inception`` (:mod:`artkit.eval.inception`): the FID network. Only with the
  standard weights file (``pt_inception-2015-12-05-6726825d.pth``, checked by its
  SHA-256) is the distance an FID.
- ``vgg16``: artkit_style's VGG16 (same weight lookup as style transfer), its
  deepest style layer average-pooled: 512 features. Without VGG weights artkit_style
  falls back to random-multiscale features and says so; the name reported is then
  ``random-multiscale``.
- ``random-conv``: a fixed-seed random convolutional network, needing no weights.
  Random features separate blur, noise, colour and layout changes, and are fixed
  for a given seed and width; numbers are comparable only with numbers computed
  with the same features, never with published FIDs, and they know nothing of
  semantics (a cat and a dog of the same texture and colour look alike to them).
- ``checkpoint:path=RUN``: features of a model trained with artkit on your own
  data -- its ``embed(images)`` when the model has one (a classifier plugin), else a
  VAE encoder's mean, else the input of a GAN discriminator's last layer.

Every extractor is an :class:`Embedder`: ``name``, ``standard_fid`` (True only for
the verified FID weights), ``label`` ("FID" or "FD (name)"), ``input_size``,
``native_input`` and ``embed(images) -> (N, D)`` float32.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.errors import ArtkitError, UsageError
from artkit.eval.embedder import Embedder
from artkit.eval.random_conv import RandomConv, build_random_conv

__all__ = [
    "Embedder",
    "RandomConv",
    "build_random_conv",
    "features_for",
    "get_features",
    "identity",
]


# --------------------------------------------------------------------------- vgg16


class PooledStyleFeatures(Embedder):
    """A style extractor's deepest style layer, average-pooled (VGG16: 512 features)."""

    input_size = 224

    def __init__(self, extractor: Any) -> None:
        super().__init__()
        self.extractor = extractor
        self.layer = list(extractor.style_layers)[-1]
        self.name = getattr(extractor, "name", "vgg16")

    def forward(self, x: Tensor) -> Tensor:
        return self.extractor(x, [self.layer])[self.layer].mean((2, 3))


# --------------------------------------------------------------------------- checkpoint


class CheckpointFeatures(Embedder):
    """Features of an artkit model: its ``embed``, a VAE's encoder mean, or a GAN discriminator's last input."""

    def __init__(self, path: str, device: Any) -> None:
        super().__init__()
        from artkit.checkpoint import load_model, sha256_file, weights_file

        given = Path(path).expanduser()
        file = weights_file(given)
        if not file.is_file():
            raise UsageError(f"checkpoint:path={path}: no such file")
        with torch.random.fork_rng(devices=[]):
            self.model = load_model(file, device=str(device)).eval().requires_grad_(False)
        from artkit.config_checks import image_size

        # (height, width): an "HxW" model takes its own aspect
        self.input_size = image_size(getattr(self.model.config, "resolution", 64))
        self.channels = int(getattr(self.model.config, "channels", 3))
        self.name = f"checkpoint:{self.model.registry_name}@{sha256_file(file)[:12]}"
        self._captured: Tensor | None = None
        from artkit.model import EmbeddingModel, Encoder

        if isinstance(self.model, EmbeddingModel):
            self.how = "embed"
        elif isinstance(self.model, Encoder):
            self.how = "encode"
        else:
            D = self.model.networks.get("D")
            last = [
                m
                for m in (D.modules() if D is not None else [])
                if isinstance(m, nn.Linear | nn.Conv2d)
            ]
            if not last:
                raise UsageError(
                    f"{path}: model {self.model.registry_name!r} has no embed(), encoder or "
                    "discriminator to take features from"
                )
            last[-1].register_forward_hook(self._capture)
            self.how = "discriminator"

    def _capture(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._captured = inputs[0]

    def prepare(self, images: Tensor) -> Tensor:
        x = self.to_rgb(images) if self.channels == 3 else images[:, :4]
        if self.channels == 1 and x.shape[1] != 1:
            x = x[:, :3].mean(1, keepdim=True)
        if tuple(x.shape[-2:]) != self.input_hw:
            x = F.interpolate(x, size=self.input_hw, mode="bilinear", antialias=True)
        return x

    def forward(self, x: Tensor) -> Tensor:
        try:
            if self.how == "embed":
                return self.model.embed(x).flatten(1)
            if self.how == "encode":
                z = self.model.encode(x)
                return (z[0] if isinstance(z, tuple) else z).flatten(1)
            self.model.D(x)
        except RuntimeError as exc:  # e.g. a conditional discriminator that wants a pair
            raise ArtkitError(
                f"cannot take features from {self.name} ({self.how}): {' '.join(str(exc).split())[:160]}"
            ) from None
        assert self._captured is not None
        return self._captured.flatten(1)


def build_checkpoint_features(path: str = "", device: Any = "cpu", **_: Any) -> Embedder:
    if not path:
        raise UsageError("checkpoint features need a path: --features checkpoint:path=RUN")
    return CheckpointFeatures(path, device)


# --------------------------------------------------------------------------- lookup


def get_features(
    spec: str = "auto", *, weights: str | None = None, device: Any = "cpu", notice: Any = None
) -> Embedder:
    """An evaluation extractor by name or spec, ready on ``device``.

    ``auto``: the FID Inception when its weights can be found (or downloaded), else
    ``random-conv`` with a one-line ``notice``. ``inception`` without weights is an
    error (it was asked for by name). Other names come from the ``extractors``
    registry: evaluation extractors (``random-conv``, ``checkpoint``, third-party
    ones returning an :class:`Embedder` or anything with ``embed``) and style
    extractors (``vgg16``), whose deepest style layer is pooled.
    """
    from artkit.eval.inception import build_inception
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    notice = notice or (lambda message: None)
    name, options = parse_spec(spec or "auto")
    if name in ("auto", "inception"):
        given = weights or options.get("weights") or None
        with torch.random.fork_rng(devices=[]):
            return build_inception(given, device, notice, fallback=name == "auto")
    entry = get_registry("extractors").get(name)
    opts = {**options, **({"weights": weights} if weights else {})}
    with torch.random.fork_rng(devices=[]):
        # an extractor that can fall back (no weights -> random features) says so
        # through ``notice=`` when its factory takes one
        extra = {"notice": notice} if _accepts(entry.factory, "notice") else {}
        made = entry.create(opts, device=device, **extra)
    if isinstance(made, Embedder):
        return made.to(device).eval()
    if callable(getattr(made, "embed", None)):
        return made
    if hasattr(made, "style_layers"):
        return PooledStyleFeatures(made).to(device).eval()
    raise ArtkitError(f"extractor {name!r} gives neither embeddings nor style features")


def features_for(spec: str, model: Any = None) -> str:
    """The extractor spec to use: ``spec``, except that ``auto`` (or nothing) becomes the
    model's own ``eval_features`` when it names one (piano rolls are not pictures)."""
    if (spec or "auto") == "auto" and getattr(model, "eval_features", ""):
        return str(model.eval_features)
    return spec or "auto"


def _accepts(factory: Any, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def identity(extractor: Any) -> str:
    """A short stable id for cache keys: the name plus a hash of the weights."""
    digest = hashlib.sha256()
    for key, value in sorted(extractor.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().reshape(-1)[:1024].float().numpy().tobytes())
    return f"{extractor.name}-{digest.hexdigest()[:12]}"
