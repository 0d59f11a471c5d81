"""Training progress for people: a rich bar on a terminal, plain periodic lines otherwise.

Everything goes to stderr; stdout stays free for data.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    def __init__(
        self, total: int | None, *, start_step: int, quiet: bool, time_budget: float | None
    ):
        self.total, self.start_step, self.quiet = total, start_step, quiet
        self.time_budget = time_budget
        self.t0 = time.perf_counter()
        self._bar = None
        if not quiet and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"),
                TextColumn("{task.fields[losses]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task(
                "train", total=total, completed=start_step, speed="", losses=""
            )
            self._bar.start()

    @property
    def live(self) -> bool:
        """True when a live bar is shown (it wants an update every step)."""
        return self._bar is not None

    def eta(self, step: int) -> float | None:
        done = step - self.start_step
        elapsed = time.perf_counter() - self.t0
        if done <= 0:
            return None
        by_steps = (self.total - step) * elapsed / done if self.total else None
        by_time = self.time_budget - elapsed if self.time_budget else None
        options = [x for x in (by_steps, by_time) if x is not None]
        return min(options) if options else None

    def set_total(self, total: int) -> None:
        """The run's planned length changed (fitted to its time budget)."""
        self.total = total
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def update(self, step: int, metrics: dict[str, Any], *, log_line: bool) -> None:
        losses = "  ".join(
            f"{k} {v:.3f}" for k, v in metrics.items() if k.endswith("loss") or k in ("kl", "recon")
        )
        speed = f"{metrics.get('it_per_s', 0):.1f} it/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=step, speed=speed, losses=losses)
        elif log_line and not self.quiet:
            total = f"/{self.total}" if self.total else ""
            eta = self.eta(step)
            eta_text = f"  eta {_fmt_time(eta)}" if eta is not None else ""
            print(f"step {step}{total}  {speed}  {losses}{eta_text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
