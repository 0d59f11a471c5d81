"""Training options: one dataclass, saved in the run's config.json and restored on resume."""

from __future__ import annotations

import dataclasses
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
    # what to optimise
    batch_size: int = 64
    lr: float = 2e-4
    lr_d: float | None = None  # discriminator / critic learning rate (default: lr)
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1
    loss: str = ""  # "" = the model family's default
    r1: float = 0.0
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
    eval_metric: str = "fd"  # fd | kid | precision | recall | pr: picks best.safetensors
    eval_features: str = "auto"
    # speed
    compile: bool = False
    channels_last: bool | None = None  # None = where it measures faster (conv nets on CPU/CUDA)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.eval_every < 0 or (self.eval_every and self.eval_n < 10):
            raise UsageError("--eval-every must be >= 0 and --eval-n at least 10")
        if self.eval_metric not in ("fd", "kid", "precision", "recall", "pr"):
            raise UsageError(
                f"--eval-metric {self.eval_metric!r}: use fd, kid, precision, recall or pr"
            )
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

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
