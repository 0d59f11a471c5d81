"""Reading sources and writing results for ``artkit stylize``: frames, weights, progress, animations.

Generic pieces (``sample:NAME`` sources, output names, resizing, alpha) live in the
library layer (:mod:`artkit.api.images`, :mod:`artkit.api.naming`); what is here is
specific to style transfer.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from artkit.api.images import SAMPLE_PREFIX, load_source_image
from artkit.errors import ImageError, UsageError

ANIMATED_SUFFIXES = (".gif", ".webp", ".png")


def read_source_frames(spec: str) -> tuple[list[Any], list[int], bool, str | None]:
    """``(frames, durations_ms, loop_forever, animated_suffix)``; stills give one frame."""
    if spec.startswith(SAMPLE_PREFIX):
        return [load_source_image(spec)], [0], False, None
    suffix = Path(spec).suffix.lower()
    if suffix in ANIMATED_SUFFIXES:
        from PIL import Image

        try:
            with Image.open(spec) as im:
                count = int(getattr(im, "n_frames", 1))
        except Exception:
            count = 1  # load_image below reports the problem with the file's name
        if count > 1:
            from artkit.animation import read_frames

            frames = read_frames(spec)
            durations = [int(f.info.get("duration", 100) or 100) for f in frames]
            loop = frames[0].info.get("loop") == 0
            return frames, durations, loop, suffix
    return [load_source_image(spec)], [0], False, None


def parse_style_weights(text: str | None, count: int) -> list[float]:
    if not text:
        return [1.0 / count] * count
    try:
        weights = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--style-weights {text!r}: give numbers like 0.7,0.3") from None
    if len(weights) != count:
        raise UsageError(f"--style-weights has {len(weights)} numbers for {count} --style images")
    if any(w < 0 or w != w for w in weights) or not sum(weights) > 0:
        raise UsageError("--style-weights must be >= 0 and add up to more than 0")
    total = sum(weights)
    return [w / total for w in weights]


# --------------------------------------------------------------------------- progress


class StageProgress:
    """Progress with the current loss: a rich bar on a terminal, plain lines otherwise, nothing with -q."""

    def __init__(self, label: str):
        from artkit.cli.context import settings

        self.label = label
        self.quiet = settings().quiet
        self.tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self._bar: Any = None
        self._task: Any = None
        self._stage: str | None = None
        self._next_line = 0
        self.started = time.perf_counter()

    def __enter__(self) -> StageProgress:
        if not self.quiet and self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            from artkit.cli.context import err_console

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=err_console(),
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int, losses: dict[str, float]) -> None:
        if self.quiet:
            return
        loss = f"{losses.get('total', float('nan')):.4g}"
        if self._bar is not None:
            if stage.split(" tile")[0] != (self._stage or "").split(" tile")[0]:
                self._task = self._bar.add_task(f"{self.label} {stage}", total=total, loss=loss)
            self._stage = stage
            self._bar.update(
                self._task, completed=done, description=f"{self.label} {stage}", loss=loss
            )
            return
        if (
            stage != self._stage
            and stage.split(" tile")[0] != (self._stage or "").split(" tile")[0]
        ):
            self._next_line = 0
        self._stage = stage
        if done >= self._next_line or done == total:
            detail = " ".join(f"{k} {v:.4g}" for k, v in losses.items() if k != "total")
            print(
                f"{self.label} {stage}: step {done}/{total} loss {loss} ({detail})",
                file=sys.stderr,
                flush=True,
            )
            self._next_line = done + max(1, total // 10)


# --------------------------------------------------------------------------- writing


def write_animation(
    frames: list[Any], path: Path, durations: list[int], loop: bool, provenance: dict[str, Any]
) -> Path:
    """Write frames keeping each frame's duration (uniform ones through artkit.animation)."""
    from artkit.animation import write_animation

    if len(set(durations)) == 1 and durations[0] > 0:
        return write_animation(
            frames, path, fps=1000.0 / durations[0], loop=loop, provenance=provenance
        )
    import json

    from artkit.atomic import atomic_open

    rgb = [f.convert("RGB") for f in frames]
    params: dict[str, Any] = {"save_all": True, "append_images": rgb[1:], "duration": durations}
    suffix = path.suffix.lower()
    text = json.dumps(provenance, sort_keys=True, separators=(",", ":"))
    if suffix == ".gif":
        fmt = "GIF"
        params.update(disposal=2, optimize=True, comment=text)
        if loop:
            params["loop"] = 0
    elif suffix == ".webp":
        fmt = "WEBP"
        params.update(loop=0 if loop else 1, quality=90)
    else:
        fmt = "PNG"
        params.update(loop=0 if loop else 1, default_image=False)
    try:
        with atomic_open(path) as handle:
            rgb[0].save(handle, format=fmt, **params)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot write animation {str(path)!r}: {exc}") from None
    return path


def content_sha(spec: str) -> dict[str, str]:
    """The content file's sha256, so `artkit reproduce` knows it has the right picture."""
    if spec.startswith(SAMPLE_PREFIX) or not os.path.isfile(spec):
        return {}
    from artkit.checkpoint import sha256_file

    return {"content_sha256": sha256_file(spec)}
