"""Writing a series' files: atomic writes with the post chain applied, progress, stale temps."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from artkit.render.spec import SeriesSpec

_STALE_TEMP = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}$")


class RenderProgress:
    """A rich bar with ETA on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, total: int, *, quiet: bool, label: str, unit: str = "img"):
        self.total, self.quiet, self.label = total, quiet, label
        self.unit = unit  # "img", or a medium's files ("files")
        self.done = self.skipped = 0
        self.t0 = self._last = time.perf_counter()
        self._bar = None
        if not quiet and sys.stderr.isatty() and total:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(f"[bold]{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(label, total=total, rate="")
            self._bar.start()

    def advance(self, *, skipped: bool) -> None:
        self.done += 1
        self.skipped += skipped
        now = time.perf_counter()
        rendered = self.done - self.skipped
        rate = rendered / (now - self.t0) if now > self.t0 else 0.0
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{rate:.1f} {self.unit}/s")
        elif not self.quiet and (now - self._last >= 5 or self.done == self.total):
            self._last = now
            left = self.total - self.done
            eta = f"  eta {left / rate:.0f}s" if rate > 0 and left else ""
            print(
                f"{self.label}: {self.done}/{self.total}  ({self.skipped} already there)  "
                f"{rate:.1f} {self.unit}/s{eta}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def clean_stale_temps(folder: Path) -> int:
    """Remove ``.NAME.tmp-PID-xxxx`` files left by killed runs (never a live process's)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        m = _STALE_TEMP.match(entry.name)
        if not m or not entry.is_file():
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_one(
    image: Any,
    target: Path,
    provenance: dict[str, Any],
    chain: list[Any],
    spec: SeriesSpec,
    medium: Any = None,
) -> str:
    """Run the post chain on ``image``, write it atomically with provenance; its sha256.

    A series of another medium's files (``spec.medium``, MIDI say) is written by that
    medium instead (no post chain there; ``spec.audio`` adds its sound).
    """
    from artkit.api.post import run_chain
    from artkit.images import save_image

    if spec.medium != "image":
        from artkit.media import save, takes_parameter

        target.parent.mkdir(parents=True, exist_ok=True)  # a medium's save may not
        # no fsync per file (like images) where the medium's save has that option
        extra = (
            {"durable": False}
            if takes_parameter(medium.save, "durable", through_kwargs=True)
            else {}
        )
        written = save(medium, image, target, provenance, audio=spec.audio, **extra)
        return sha_file(written)

    if chain:
        image = run_chain(image, chain, str(target))
    save_image(
        image,
        target,
        provenance=provenance,
        format=spec.format,
        quality=spec.quality,
        durable=False,
    )
    return sha_file(target)


def sha_file(path: Path) -> str:
    """The sha256 of a file's bytes (hex)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
