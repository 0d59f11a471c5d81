"""The model contract every registered model follows.

A registry factory (``register_models``) builds an :class:`ArtModel`: a handful of
named networks (``G``, ``D``, ``G_ema``, ``E`` ...) plus a config dataclass. The
checkpoint module saves each network's tensors under its name as a prefix
(``G.net.0.weight``) and the config as JSON, and rebuilds the model from those.

Capabilities are optional methods; commands check for them with
:meth:`ArtModel.capabilities` so ``artkit sample`` on a model that cannot sample
is a one-line error naming what it *can* do:

- ``sample(n, generator, **opts) -> Tensor (N, C, H, W) in [-1, 1]``
- ``encode(images) -> Tensor``, ``decode(z) -> images``
- ``translate(images) -> images``, ``stylize(content, style) -> images``

For training a model also implements ``configure_optimizers(options)`` and
``training_step(batch, step, ctx) -> dict[str, float]``; the generic trainer in
:mod:`artkit.train` owns everything around the step (loop, devices, precision,
DDP, EMA, checkpoints, resume, signals, metrics).

This module imports torch and is only ever imported lazily.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from artkit.errors import CapabilityError

CAPABILITIES = ("sample", "encode", "decode", "translate", "stylize")

#: Which command uses which capability (for error messages).
COMMANDS_FOR = {
    "sample": ["sample", "interpolate", "render"],
    "encode": ["encode", "reconstruct", "morph"],
    "decode": ["decode"],
    "translate": ["translate"],
    "stylize": ["stylize"],
}


class ArtModel(nn.Module):
    """Base class: named networks + a config dataclass + optional capabilities.

    Subclasses set ``network_names`` and build those attributes in ``__init__``.
    ``ema_pairs`` maps a trained network to its exponential-moving-average copy
    (``{"G": "G_ema"}``); the trainer keeps the copy up to date, and inference
    methods should use it.
    """

    network_names: ClassVar[tuple[str, ...]] = ()
    ema_pairs: ClassVar[dict[str, str]] = {}

    def __init__(self, config: Any, *, registry_name: str = ""):
        super().__init__()
        self.config = config
        self.registry_name = registry_name

    # -- capabilities ---------------------------------------------------------
    def capabilities(self) -> list[str]:
        return [c for c in CAPABILITIES if callable(getattr(self, c, None))]

    def require(self, capability: str) -> None:
        """Raise a one-line CapabilityError unless this model has ``capability``."""
        if capability in self.capabilities():
            return
        can = [cmd for c in self.capabilities() for cmd in COMMANDS_FOR.get(c, [])]
        hint = f"it supports: {', '.join(can)}" if can else "it has no inference capability"
        raise CapabilityError(f"model {self.registry_name!r} cannot {capability}; {hint}")

    # -- networks and tensors -------------------------------------------------
    @property
    def networks(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.network_names}

    def inference_network(self, name: str) -> nn.Module:
        """The EMA copy of ``name`` when there is one, else the network itself."""
        return getattr(self, self.ema_pairs.get(name, name))

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config) if dataclasses.is_dataclass(self.config) else {}

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")
