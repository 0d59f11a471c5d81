"""Fitting a run's length to its time budget, from the speed the run itself measures.

A budget-aware recipe (``artkit.train.recipe``) turns ``--max-time`` into a number
of steps by timing a few steps before the run starts, so that a cosine or linear
decay can reach zero where the budget ends. That guess comes from under a second of
timing on a machine that may be busy: on 2 CPU cores the same 10-minute glyph recipe
planned 7,191 to 8,756 steps, and a run that guessed low stopped 84 s early with
its rate already at zero -- budget paid for and not used.

:class:`StepPlan` re-plans from the run's own pace: when the elapsed time crosses
each of :data:`FIT_AT` (shares of the budget), and whenever the run reaches its
plan before the last of them, the plan becomes the steps taken plus what the
remaining time buys at the average speed since the first :data:`WARM_STEPS` (which
pay for allocation and kernel selection). The decay is a function of the step and
the plan, so moving the plan early moves the rate by little: at 5% of a cosine run
the factor is 0.994 whatever the plan.

A run given only ``--max-time`` and a decaying ``--lr-schedule`` has no guess at
all: its plan starts as None (the rate holds at its start) and the first fit, at 5%
of the budget, sets it.

A run whose length follows the clock is as reproducible as the clock. The trainer
writes each new plan into ``config.json``, so ``--resume`` finishes the last plan
(it does not fit again) and is exact from there. No torch here.
"""

from __future__ import annotations

#: shares of the budget at which the plan is fitted again
FIT_AT = (0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95)
#: steps not counted in the speed (first-step allocation, kernel choice)
WARM_STEPS = 3


class StepPlan:
    """The planned total steps of a run with a time budget, re-fitted as it runs.

    ``budget`` is in seconds from ``t0``; times are passed in (``time.perf_counter()``
    values), so the fit is a pure function of the steps and times it is shown.
    ``planned`` None: no guess; the first fit by the clock makes the plan.
    """

    def __init__(
        self, planned: int | None, *, budget: float, t0: float, start_step: int = 0
    ) -> None:
        self.planned = None if planned is None else max(1, int(planned))
        self.budget, self.t0 = float(budget), float(t0)
        self.mark_step: int | None = None
        self.mark_t = t0
        self.start_step = start_step
        self._next = 0  # index into FIT_AT

    def after_step(self, step: int, now: float) -> int | None:
        """Call after each step (``step`` = steps taken): the new plan when it changed, else None."""
        if self.mark_step is None:
            if step - self.start_step >= WARM_STEPS:
                self.mark_step, self.mark_t = step, now
            elif self.planned is None or step < self.planned:
                return None
        elapsed = now - self.t0
        crossed = False
        while self._next < len(FIT_AT) and elapsed >= FIT_AT[self._next] * self.budget:
            self._next += 1
            crossed = True
        early = self.planned is not None and step >= self.planned and self._next < len(FIT_AT)
        if not (crossed or early):
            return None
        plan = self._fit(step, now)
        if plan == self.planned:
            return None
        self.planned = plan
        return plan

    def _fit(self, step: int, now: float) -> int:
        remaining = self.budget - (now - self.t0)
        if self.mark_step is None or step <= self.mark_step or now <= self.mark_t:
            # no clean speed yet (the plan ran out inside the warm-up): the warm-up's own speed
            rate = (step - self.start_step) / max(now - self.t0, 1e-9)
        else:
            rate = (step - self.mark_step) / (now - self.mark_t)
        return max(step + 1, step + int(rate * max(remaining, 0.0)))
