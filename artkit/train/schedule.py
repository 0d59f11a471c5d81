"""``--lr-schedule`` and ``--warmup``: the learning rate as a pure function of the step.

Before each training step the trainer sets every parameter group of every
optimiser the model configures to ``base_lr * lr_factor(step)``, where ``base_lr``
is the rate that group was configured with (``--lr``, ``--lr-d``, a model's own
choice) and ``step`` counts the steps taken before this one. The factor depends on
nothing but the step and the run's length, so a resumed run needs no saved
scheduler state and stays bit-exact.

- ``constant``: 1.
- ``cosine``: half a cosine from 1 down to 0 over the steps after the warm-up.
- ``linear``: a straight line from 1 down to 0 over the steps after the warm-up.
- ``step:every=N,gamma=G``: multiplied by ``G`` (default 0.1) every ``N`` steps.

``--warmup W`` multiplies the first ``W`` steps by ``(step + 1) / W``: a linear
ramp from ``lr / W`` on the first step to the full rate on step ``W``.

``cosine`` and ``linear`` decay over the run's total steps (``--steps`` or
``--epochs``). With only ``--max-time`` the trainer plans the total from the run's
own speed (:mod:`artkit.train.budget`): until its first plan, 5% into the budget,
the length counts as unbounded (``total=math.inf``) and the rate holds at its
start. Resuming with a different ``--steps`` re-stretches the decay from there on.

No torch here: the options check parses specs at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from artkit.errors import UsageError

#: the accepted forms, for error messages and help
FORMS = "constant, cosine, linear or step:every=N,gamma=G"
KINDS = ("constant", "cosine", "linear", "step")


@dataclass(frozen=True)
class Schedule:
    """A parsed ``--lr-schedule`` plus ``--warmup``."""

    kind: str = "constant"
    every: int = 0  # step: steps between decays
    gamma: float = 0.1  # step: the factor applied at each decay
    warmup: int = 0

    @property
    def active(self) -> bool:
        """Does the learning rate ever differ from the base rate?"""
        return self.kind != "constant" or self.warmup > 0

    @property
    def needs_total(self) -> bool:
        """Does the decay need the run's total number of steps?"""
        return self.kind in ("cosine", "linear")

    def factor(self, step: int, total: float | None = None) -> float:
        """The multiplier of the base learning rate for the step taken after ``step`` steps
        (``total``: the run's steps; ``math.inf`` holds a decay at its start)."""
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup > 0 else 1.0
        if self.kind == "constant":
            return warm
        if self.kind == "step":
            return warm * self.gamma ** (step // self.every)
        if total is None:
            raise UsageError(
                f"--lr-schedule {self.kind} needs the run's length: give --steps, --epochs "
                "or --max-time"
            )
        span = max(1, total - self.warmup)
        progress = min(1.0, max(0.0, (step - self.warmup) / span))
        if self.kind == "cosine":
            return warm * 0.5 * (1.0 + math.cos(math.pi * progress))
        return warm * (1.0 - progress)  # linear


def parse_schedule(text: str, warmup: int = 0) -> Schedule:
    """``cosine`` / ``step:every=500,gamma=0.5`` -> :class:`Schedule`; a one-line UsageError otherwise."""
    spec = (text or "constant").strip()
    name, sep, rest = spec.partition(":")
    name = name.strip().lower()

    def bad(why: str) -> UsageError:
        return UsageError(f"--lr-schedule {text!r}: {why}; use {FORMS}")

    if name not in KINDS:
        raise bad("unknown schedule")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise UsageError(f"--warmup must be a whole number of steps >= 0, got {warmup!r}")
    params: dict[str, str] = {}
    for item in rest.split(",") if sep else []:
        if not item.strip():
            continue
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise bad(f"expected key=value, got {item.strip()!r}")
        params[key.strip().lower()] = value.strip()
    if name != "step":
        if params:
            raise bad(f"{name} takes no parameters")
        return Schedule(name, warmup=warmup)
    unknown = sorted(set(params) - {"every", "gamma"})
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (step takes every and gamma)")
    if "every" not in params:
        raise bad("step needs every=N, the steps between decays")
    try:
        every = int(params["every"])
        gamma = float(params.get("gamma", "0.1"))
    except ValueError:
        raise bad("every must be a whole number and gamma a number") from None
    if every < 1 or not (0 < gamma < math.inf):
        raise bad("every must be at least 1 and gamma positive")
    return Schedule("step", every=every, gamma=gamma, warmup=warmup)


def lr_factor(
    step: int, schedule: str | Schedule = "constant", *, warmup: int = 0, total: int | None = None
) -> float:
    """The learning-rate multiplier for the step taken after ``step`` steps (pure: resumable).

    ``schedule`` is an ``--lr-schedule`` spec or a parsed :class:`Schedule` (whose own
    warm-up then applies); ``total`` is the run's length, needed by cosine and linear.
    """
    parsed = schedule if isinstance(schedule, Schedule) else parse_schedule(schedule, warmup)
    return parsed.factor(step, total)
