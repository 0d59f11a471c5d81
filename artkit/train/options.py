"""Training options: one dataclass, saved in the run's config.json and restored on resume."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from artkit.errors import UsageError


@dataclass
class TrainOptions:
    # when to stop (any that is set; the first reached wins)
    steps: int | None = None
    epochs: int | None = None
    max_time: float | None = None  # minutes of wall-clock time
    # with max_time: let the model's recipe pick what is not given (artkit.train.recipe)
    recipe: bool = True
    # with max_time: steps is an estimate of what the budget buys, fitted to the run's own
    # measured speed as it goes (artkit.train.budget); the recipe sets it with its steps
    fit_steps: bool = False
    # what to optimise
    batch_size: int = 64
    lr: float = 2e-4
    lr_d: float | None = None  # discriminator / critic learning rate (default: lr)
    # the learning rate over the run (artkit.train.schedule): every optimiser's rate is its
    # base rate times a factor of the step; cosine and linear need the run's length:
    # --steps, --epochs, or --max-time (then planned from the run's speed, as fit_steps)
    lr_schedule: str = "constant"  # constant | cosine | linear | step:every=N,gamma=G
    warmup: int = 0  # steps of linear warm-up from 0 to the base rate
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1
    loss: str = ""  # "" = the model family's default
    r1: float = 0.0
    # GANs: weight of MSGAN's mode-seeking term (pairs of fakes paid for differing), 0 = off
    mode_seeking: float = 0.0
    augment: str = ""  # DiffAugment policy, e.g. "color,translation,cutout"
    data_augment: str = ""  # dataset augmentations: flip,rot90,crop,jitter
    ema: bool = True
    # EMA of the generator: by default a half-life in images with a ramp-up (as
    # StyleGAN2-ADA's ema_kimg/ema_rampup), so samples are meaningful from the first
    # steps and smooth later; --ema-decay fixes the decay per step instead
    ema_decay: float | None = None
    ema_kimg: float = 10.0  # half-life of the average, in thousands of images
    ema_rampup: float = 0.05  # the half-life is at most this share of the images seen (0: off)
    # bookkeeping
    checkpoint_every: int = 500
    sample_every: int = 500
    log_every: int = 50
    max_nan_steps: int = 10
    eval_every: int = 0  # steps between evaluations (0 = never)
    eval_n: int = 2000  # images per evaluation, generated and real
    # picks best.safetensors and drives --patience: fd | kid | precision | recall | pr score
    # samples, val the model's held-out split (artkit.train.evaluation.held_out_key); auto:
    # val for models with a held-out split (VAEs, pix2pix), fd for the others
    eval_metric: str = "auto"
    eval_features: str = "auto"
    # early stopping: stop when this many evaluations in a row did not improve eval_metric
    # by at least min_delta (0 = never stop early)
    patience: int = 0
    min_delta: float = 0.0
    # speed
    compile: bool = False
    channels_last: bool | None = None  # None = where it measures faster (conv nets on CPU/CUDA)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.eval_every < 0 or (self.eval_every and self.eval_n < 10):
            raise UsageError("--eval-every must be >= 0 and --eval-n at least 10")
        scored = ("fd", "kid", "precision", "recall", "pr", "coverage")
        if self.eval_metric not in ("auto", "val", *scored):
            raise UsageError(
                f"--eval-metric {self.eval_metric!r}: use fd, kid, precision, recall, pr or coverage "
                "(scored samples), val (the held-out split) or auto"
            )
        if self.patience < 0:
            raise UsageError(f"--patience must be 0 (off) or more, got {self.patience}")
        if self.patience and not self.eval_every:
            raise UsageError(
                "--patience counts evaluations: give --eval-every N too, e.g. --eval-every 500 --patience 5"
            )
        if not 0 <= self.mode_seeking <= 100:  # NaN fails too
            raise UsageError(
                f"--mode-seeking must be a weight from 0 (off) to 100, got {self.mode_seeking}"
            )
        if not 0 <= self.min_delta < math.inf:
            raise UsageError(f"--min-delta must be a number >= 0, got {self.min_delta}")
        if self.steps is None and self.epochs is None and self.max_time is None:
            self.steps = 2000
        for name in (
            "steps",
            "epochs",
            "batch_size",
            "d_steps",
            "checkpoint_every",
            "sample_every",
            "log_every",
            "max_nan_steps",
        ):
            value = getattr(self, name)
            if value is not None and value < (0 if name in ("sample_every",) else 1):
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.max_time is not None and self.max_time <= 0:
            raise UsageError(f"--max-time must be positive minutes, got {self.max_time}")
        if self.lr <= 0 or (self.lr_d is not None and self.lr_d <= 0):
            raise UsageError("--lr and --lr-d must be positive")
        if self.optimizer not in ("adam", "rmsprop"):
            raise UsageError(f"--optimizer {self.optimizer!r}: use adam or rmsprop")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise UsageError("--ema-decay must be between 0 and 1")
        if not self.ema_kimg > 0 or not 0 <= self.ema_rampup <= 1:
            raise UsageError("--ema-kimg must be > 0 and --ema-rampup between 0 and 1")
        self.betas = tuple(self.betas)  # JSON gives lists back
        from artkit.train.augment import parse_ops

        parse_ops(self.data_augment)
        from artkit.train.schedule import parse_schedule

        # a decay's length: --steps (2,000 when nothing else bounds the run), --epochs,
        # or with only --max-time planned from the run's own speed (artkit.train.budget)
        parse_schedule(self.lr_schedule, self.warmup)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainOptions:
        """Options from a dict (a run's config.json, ``artkit.train``'s keywords); unknown
        keys are ignored, a value of the wrong type is a one-line UsageError."""
        import typing

        hints = typing.get_type_hints(cls)
        picked = {k: v for k, v in data.items() if k in hints}
        for name, value in picked.items():
            if not _fits(value, hints[name]):
                shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
                raise UsageError(f"option {name}={shown}: expected {_type_name(hints[name])}")
        return cls(**picked)


def _fits(value: Any, hint: Any) -> bool:
    """Is ``value`` (as JSON gives it back) of type ``hint`` (an option's annotation)?"""
    import numbers
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:  # numbers.Integral: numpy's integers too, for notebook callers
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:  # JSON writes 1.0 back as 1
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if origin is tuple:
        args = typing.get_args(hint)
        return (
            isinstance(value, list | tuple)
            and len(value) == len(args)
            and all(_fits(v, a) for v, a in zip(value, args, strict=True))
        )
    return isinstance(value, hint) if isinstance(hint, type) else True


def _type_name(hint: Any) -> str:
    import typing

    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        return f"{len(args)} numbers"
    names = [a.__name__ for a in args if a is not type(None)] or [getattr(hint, "__name__", "?")]
    return " or ".join(names) + (" or null" if type(None) in args else "")
