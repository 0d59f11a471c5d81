"""The generic training loop, shared by every trainable model family.

A model owns its step (:meth:`training_step`) and its optimisers; the
:class:`~artkit.train.loop.Trainer` owns everything around them: devices,
precision, DDP, EMA, the data order, checkpoints and exact resume, signals,
progress and metrics. Modules here import torch; the CLI imports them lazily.
"""

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """``artkit.train(...)`` is :func:`artkit.api.train.train`; the package stays a package."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from artkit.api.train import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
