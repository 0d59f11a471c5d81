"""Series rendering: a TOML spec in, hundreds or thousands of images out.

The pieces, in the order a render uses them:

- :mod:`artkit.render.spec` reads and validates ``SERIES.toml`` (no torch);
- :mod:`artkit.render.template` checks and fills output-name templates;
- :mod:`artkit.render.plan` expands the sweep into numbered jobs lazily, and shards it;
- :mod:`artkit.render.runner` renders the jobs: batched generation, post-processing and
  encoding overlapped in a thread pool, resumable, deterministic; with
  :mod:`~artkit.render.models` (the model axis: load, sample, stylize one image),
  :mod:`~artkit.render.provenance` (each job's provenance and render key),
  :mod:`~artkit.render.output` (atomic writes, progress, stale temps) and
  :mod:`~artkit.render.distributed` (CPU threads, the torchrun process group);
- :mod:`artkit.render.manifest` writes ``manifest.jsonl`` and merges shard manifests;
- :mod:`artkit.render.sheets` draws labelled grid sheets and latent-walk animations;
- :mod:`artkit.render.reproduce` re-renders one image from its embedded provenance.

Only ``runner``, ``models``, ``distributed``, ``sheets`` (walks) and ``reproduce``
import torch, inside functions.
"""

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    """``artkit.render(spec)`` is :func:`artkit.api.render.render`; the package stays a package."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from artkit.api.render import render

        return render(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
