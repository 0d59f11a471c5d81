"""Budget-aware recipes: what to train with when all you say is how long.

``artkit train MODEL --data D --max-time 3`` with no width, batch size or learning
rate: the model family's recipe (registered with the model as ``recipe=``) picks
them from the budget, the dataset's size and this machine, and says so in one line
that also goes into the run's ``config.json``. Anything given on the command line
wins over the recipe; ``--no-recipe`` turns it off.

A recipe is a function ``recipe(*, model, model_options, given, minutes, images,
machine) -> Recipe``: ``model_options`` are the user's, ``given`` the names of the
training options (and model options) set explicitly, which a recipe must not change.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Machine:
    """Where training runs: the device type, the CPU threads torch uses, and the
    precision and memory format the trainer will train in (a recipe times steps in
    those: a bf16 step on a CPU with AMX is about twice an fp32 one)."""

    device: str  # "cpu", "cuda", "mps", ...
    threads: int
    precision: str = "fp32"  # resolved: "fp32", "bf16" or "fp16"
    channels_last: bool = False

    @classmethod
    def detect(
        cls, device: str = "auto", precision: str = "auto", channels_last: bool | None = None
    ) -> Machine:
        """This machine as the trainer will use it (``precision``/``channels_last`` as given to it)."""
        import torch

        from artkit.device import resolve_device, resolve_precision

        found = resolve_device(device)
        threads = torch.get_num_threads() or os.cpu_count() or 1
        if channels_last is None:  # the trainer's default
            channels_last = found.type in ("cuda", "cpu")
        name = resolve_precision(precision, found).name
        return cls(found.type, threads, name, bool(channels_last))

    def __str__(self) -> str:
        where = self.device
        if self.device == "cpu":
            where = f"cpu, {self.threads} thread{'s' if self.threads != 1 else ''}"
        return where if self.precision == "fp32" else f"{where}, {self.precision}"


@dataclass
class Recipe:
    """The choices a recipe made and why; ``line()`` is what ``artkit train`` prints."""

    model_options: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    why: str = ""  # what the choice was based on, e.g. "3.0 min, 8192 images, cpu, 2 threads"
    estimated_steps: int | None = None

    def line(self) -> str:
        chosen = {**self.model_options, **self.options}
        fitted = chosen.pop("fit_steps", False)
        parts = options_text(chosen)
        planned = self.estimated_steps and "steps" not in self.options  # else it is in parts
        steps = f"; about {self.estimated_steps:,} steps" if planned else ""
        steps += "; steps refitted to the run's own speed as it goes" if fitted else ""
        return f"recipe ({self.why}): {parts or 'the defaults'}{steps}"

    def to_json(self) -> dict[str, Any]:
        return {
            "model_options": self.model_options,
            "options": self.options,
            "why": self.why,
            "estimated_steps": self.estimated_steps,
        }


def options_text(options: dict[str, Any]) -> str:
    """``{"d_width": 1.5, "lr_d": 4e-3}`` as the recipe line shows it: ``d-width 1.5, lr-d 0.004``."""
    return ", ".join(f"{k.replace('_', '-')} {_show(v)}" for k, v in options.items())


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):
        return "/".join(_show(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if value != "" else "none"


def plan(
    entry: Any,
    model_options: dict[str, Any],
    given: dict[str, Any],
    *,
    images: int,
    device: str,
) -> Recipe | None:
    """The recipe for a run, or None (no ``max_time``, ``recipe=False``, or none registered)."""
    minutes = given.get("max_time")
    recipe = entry.extra_callable("recipe")
    if not minutes or given.get("recipe") is False or recipe is None:
        return None
    explicit = frozenset(given) | frozenset(model_options)
    return recipe(
        model=entry.name,
        model_options=dict(model_options),
        given=explicit,
        minutes=float(minutes),
        images=images,
        machine=Machine.detect(
            device, given.get("precision") or "auto", given.get("channels_last")
        ),
    )


def widest_in_budget(
    widths: Sequence[float],
    steps_per_second: Callable[[float], float],
    seconds: float,
    min_steps: int,
) -> tuple[float, float]:
    """``(width, steps/s)``: the widest of ``widths`` (narrowest first) whose timed speed
    buys ``min_steps`` steps in ``seconds``; the narrowest where none does (it is still
    the best bet). Stops timing at the first width that falls short (after
    :func:`buys_steps`' second look)."""
    width, speed = widths[0], steps_per_second(widths[0])
    for candidate in widths[1:]:
        if speed * seconds < min_steps:
            break
        fits, measured = buys_steps(lambda w=candidate: steps_per_second(w), seconds, min_steps)
        if not fits:
            break
        width, speed = candidate, measured
    return width, speed


def buys_steps(
    steps_per_second: Callable[[], float], seconds: float, min_steps: int
) -> tuple[bool, float]:
    """``(fits, steps/s)``: whether a timed speed buys ``min_steps`` steps in ``seconds``.

    A timing that falls short is taken once more and the faster kept: other work on a
    shared machine only ever slows a timing. On 2 cores the same fastgan pair timed
    7.7-9.4 steps/s in fresh processes, and two of six 10-minute emoji runs in one day
    refused it (under 7.5), one while D alone, timed next, ran 10.7.
    """
    speed = steps_per_second()
    if speed * seconds < min_steps:
        speed = max(speed, steps_per_second())
    return speed * seconds >= min_steps, speed


def probe_settings(machine: Machine) -> tuple[Any, Any, Any]:
    """``(device, precision, memory format)`` a recipe's speed probe runs in: the trainer's.

    On a CPU it also tunes the allocator as the trainer will. An fp32 probe of a bf16
    run on an AMX CPU guessed 1,494 steps where the demo then took 2,782: the probe
    must time the run's own steps.
    """
    import torch

    from artkit.allocator import tune_allocator
    from artkit.device import resolve_precision

    device = torch.device(machine.device)
    if device.type == "cpu":
        tune_allocator()
    precision = resolve_precision(machine.precision, device)
    fmt = torch.channels_last if machine.channels_last else torch.contiguous_format
    return device, precision, fmt


def time_steps(step: Callable[[], None], device: Any) -> float:
    """Steps per second of ``step()``: one warm-up call (allocator, kernels, a compile),
    then at least 2 timed calls and 0.5 s, synchronised on CUDA."""
    import torch

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()
    sync()
    timed, started = 0, time.perf_counter()
    while timed < 2 or time.perf_counter() - started < 0.5:
        step()
        timed += 1
    sync()
    return timed / (time.perf_counter() - started)


class ProbeContext:
    """A :class:`artkit.model.StepContext` for timing a model's own ``training_step``
    outside the trainer: the same networks, precision, memory format and noise calls,
    and a plain backward and optimiser step (no loss scaling, NaN guard, DDP or
    compile). A probe that copies a model's step by hand drifts from it; this runs it.
    """

    def __init__(self, model: Any, options: Any, machine: Machine, *, loss: Any = None):
        import torch

        from artkit.train.distributed import World

        self.device, self.precision, fmt = probe_settings(machine)
        self.channels_last = fmt is torch.channels_last
        self.options, self.loss, self.world = options, loss, World()
        self.generator = torch.Generator(device=self.device).manual_seed(0)
        self.labels: Any = None
        self._model = model.to(self.device, memory_format=fmt).train()
        self._optimizers = model.configure_optimizers(options)

    def net(self, name: str, *, sync: bool = True) -> Any:
        return getattr(self._model, name)

    def raw(self, name: str) -> Any:
        return getattr(self._model, name)

    def autocast(self) -> Any:
        return self.precision.autocast(self.device)

    def randn(self, *shape: int) -> Any:
        import torch

        return torch.randn(*shape, generator=self.generator, device=self.device)

    def augment(self, images: Any) -> Any:
        return images

    def step_optimizer(self, name: str, loss: Any) -> None:
        opt = self._optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def time_training_step(
    model: Any, options: Any, machine: Machine, *, batch_size: int, loss: Any = None
) -> float:
    """Steps per second of ``model.training_step`` on a random batch of ``batch_size``
    images in the trainer's settings (:func:`probe_settings`), with ``options`` (a
    :class:`artkit.train.options.TrainOptions`) and ``loss`` (the ``--loss`` object;
    None where the model falls back to its own). The global random state is left as
    it was."""
    import torch

    from artkit.config_checks import image_size

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        ctx = ProbeContext(model, options, machine, loss=loss)
        shape = (batch_size, model.config.channels, *image_size(model.config.resolution))
        x = torch.rand(shape, device=ctx.device) * 2 - 1
        if ctx.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return time_steps(lambda: model.training_step(x, 0, ctx), ctx.device)
