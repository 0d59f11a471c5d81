"""``artkit.render(SERIES.toml)``: render a series spec from Python, as ``artkit render`` does."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from artkit.errors import UsageError


def render(
    spec_path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    shard: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    jobs: int | None = None,
    force: bool = False,
    quiet: bool = True,
    on_record: Callable[[Any, str, bool], None] | None = None,
) -> Any:
    """Render every image of the series not already there; returns the run's statistics.

    The result has ``rendered``, ``skipped``, ``replaced``, ``seconds`` and
    ``outputs`` (the manifest, sheets and walks written). ``shard="2/4"`` renders
    one shard; ``force=True`` renders everything again.
    """
    from artkit.render.plan import Shard
    from artkit.render.runner import render_series
    from artkit.render.spec import load_spec

    spec = load_spec(Path(spec_path), out=Path(out) if out is not None else None)
    chosen = Shard.parse(shard) if shard else None
    if jobs is not None and jobs < 1:
        raise UsageError("jobs must be at least 1")
    return render_series(
        spec,
        shard=chosen,
        device=device,
        precision=precision,
        jobs=jobs,
        force=force,
        quiet=quiet,
        on_record=on_record,
    )
