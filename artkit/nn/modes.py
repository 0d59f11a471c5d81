"""Switch networks between training and eval mode for one block, then put every module back.

Sampling, evaluating and measuring statistics each need a network in another mode
for a moment. ``net.train(was_training)`` afterwards is not a restore: it sets every
submodule to one mode, so a model whose EMA copies live in eval mode inside a
training model (the GAN family's ``G_ema``) would come back with them training.
These context managers record each submodule's own flag and restore exactly that,
also when the block raises.

This module imports torch and is only ever imported lazily.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def _mode(modules: tuple[nn.Module, ...], training: bool) -> Iterator[None]:
    before = [(sub, sub.training) for m in modules for sub in m.modules()]
    try:
        for m in modules:
            m.train(training)
        yield
    finally:
        for sub, was in before:
            sub.training = was


def eval_mode(*modules: nn.Module) -> contextlib.AbstractContextManager[None]:
    """``modules`` in eval mode inside the block; afterwards each submodule's own mode again."""
    return _mode(modules, False)


def train_mode(*modules: nn.Module) -> contextlib.AbstractContextManager[None]:
    """``modules`` in training mode inside the block; afterwards each submodule's own mode again."""
    return _mode(modules, True)
