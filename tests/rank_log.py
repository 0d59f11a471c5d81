"""What the DDP tests' plugin files share: each rank logs digests of what it saw and holds.

A plugin file written by a test (``ARTKIT_PLUGINS_DIR``) wraps a model's training step
with :func:`log_each_step`; after the run the test compares the ranks' lines step by
step (same weights, different batches).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from typing import Any


def digest(tensors: Iterable[Any]) -> str:
    """A short hash of the tensors' bytes, in order."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def log_each_step(model: Any, fields: Callable[[Any, Any], list[str]]) -> Any:
    """``model`` whose every training step appends ``step field...`` to
    ``$PROBE_DIR/rank$RANK.txt``; ``fields(batch, ctx)`` says what, after the step."""
    plain_step = model.training_step
    log = os.path.join(os.environ["PROBE_DIR"], f"rank{os.environ.get('RANK', '0')}.txt")

    def training_step(batch: Any, step: int, ctx: Any) -> dict[str, float]:
        out = plain_step(batch, step, ctx)
        with open(log, "a") as f:
            f.write(" ".join([str(step), *fields(batch, ctx)]) + "\n")
        return out

    model.training_step = training_step
    return model
