"""``--eval-every``: score samples against the training data while training, keep the best.

Every ``eval_every`` steps the trainer asks :class:`TrainingEval` to generate
``eval_n`` images (fixed seeds, so successive evaluations differ only by the model),
extract their features and compare them with the training images' statistics
(computed once per run, at start, from a seeded pick of ``eval_n`` training images).
The row ``{"step", "eval_fd", "eval_kid", "eval_kid_std", "eval_precision",
"eval_recall", "eval_density", "eval_coverage", ...}`` goes to metrics.jsonl; when
``eval_metric`` improves (lower FD/KID, higher precision/recall/pr/coverage) the
weights are written atomically to ``best.safetensors`` with the metric, its value
and the features in its metadata.

``eval_metric`` ``pr`` ranks by the harmonic mean of precision and recall (logged as
``eval_pr``): a model must be both realistic and diverse to improve it.

``eval_metric`` ``val`` (the default, ``auto``, for models with a held-out split:
VAEs, pix2pix) ranks by the model's principal held-out metric instead, chosen by
:func:`held_out_key` from what its ``evaluate()`` reports: ``val_loss`` when there
is one, else the VAE's ``val_elbo`` (higher is better), else pix2pix's ``val_l1``,
else ``val_recon_mse``, else the first it reports (lower is better). Those rows
carry the ``val_*`` numbers; best.safetensors names the metric it ranked by.

``--patience N`` stops the run when N evaluations in a row did not improve the
ranked metric by at least ``--min-delta`` (the trainer counts; the count and the
best value live in the training state, so a resumed run stops where an
uninterrupted one would).

Everything runs under a forked RNG: evaluating never moves the training's random
streams, so a resumed run stays identical to an uninterrupted one. Under torchrun
only rank 0 evaluates; the other ranks wait at a barrier.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import torch

from artkit.device import make_generator
from artkit.nn.modes import eval_mode
from artkit.torch_images import from_uint8

#: eval_metric -> (the compare() key it reads, True when higher is better)
RANKING = {
    "fd": ("fd", False),
    "kid": ("kid", False),
    "precision": ("precision", True),
    "recall": ("recall", True),
    "pr": ("pr", True),
    # the share of real images a sample lands near; stray samples cannot inflate it
    "coverage": ("coverage", True),
}
#: seeds of the generated images: far from the training seeds, the same every time
SEED_BASE = 10_007


#: held-out metrics that rank a model with a held-out split, in order of preference,
#: each with True when higher is better (the rest: the first reported, lower is better)
HELD_OUT = (("val_loss", False), ("val_elbo", True), ("val_l1", False), ("val_recon_mse", False))


def improved(metric: str, value: float, best: float | None, *, higher: bool | None = None) -> bool:
    """Is ``value`` better than ``best`` for ``metric`` (a first finite value always is)?

    ``higher`` says the direction for a metric not in :data:`RANKING` (held-out ones).
    """
    if value != value:  # NaN never improves
        return False
    if best is None:
        return True
    if higher is None:
        higher = RANKING[metric][1]
    return value > best if higher else value < best


def held_out_key(metrics: dict[str, float]) -> tuple[str, bool]:
    """The ``val_*`` key that ranks a model with a held-out split, and whether higher is better."""
    for key, higher in HELD_OUT:
        if key in metrics:
            return key, higher
    first = next((k for k in metrics if k.startswith("val_")), "val_loss")
    return first, False


class TrainingEval:
    """The extractor and the training images' statistics, made once per run."""

    def __init__(self, trainer: Any) -> None:
        from artkit.eval.features import features_for, get_features
        from artkit.eval.stats import feature_stats

        opts = trainer.options
        self.trainer = trainer
        self.n = opts.eval_n
        self.batch = max(1, min(opts.batch_size, 256))
        notice = (lambda m: None) if trainer.quiet else _notice
        with _forked_rng(trainer.device):
            self.extractor = get_features(
                features_for(opts.eval_features, trainer.model),
                device=trainer.device,
                notice=notice,
            )
            data = trainer.batches.images
            pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(opts.seed))
            pick = pick[: self.n].to(data.device)

            def real() -> Iterator[torch.Tensor]:
                for i in range(0, len(pick), self.batch):
                    yield from_uint8(data.index_select(0, pick[i : i + self.batch])).float()

            with torch.inference_mode():
                self.reference = feature_stats(real(), self.extractor, trainer.device)

    def run(self) -> dict[str, Any]:
        """Generate, compare, and return the metrics.jsonl row (``eval_*`` keys)."""
        from artkit.eval.stats import compare, feature_stats

        t0 = time.perf_counter()
        trainer, model = self.trainer, self.trainer.model
        # every module's own mode comes back after, G_ema's eval included
        with (
            eval_mode(model),
            _forked_rng(trainer.device),
            torch.inference_mode(),
            trainer.precision.autocast(trainer.device),
        ):
            fakes = (
                model.sample(min(self.batch, self.n - i), make_generator(SEED_BASE + i)).float()
                for i in range(0, self.n, self.batch)
            )
            stats = feature_stats(fakes, self.extractor, trainer.device)
        result = compare(stats, self.reference, ["fd", "kid", "pr", "dc"])
        p, r = result["precision"], result["recall"]
        result["pr"] = 2 * p * r / (p + r) if p + r > 0 else 0.0
        return {
            "step": trainer.step,
            **{f"eval_{k}": v for k, v in result.items()},
            "eval_features": self.extractor.name,
            "eval_n": stats.count,
            "eval_ref_n": self.reference.count,
            "eval_seconds": round(time.perf_counter() - t0, 3),
        }


def _notice(message: str) -> None:
    print(
        "artkit: notice: " + message.removeprefix("artkit: notice: "), file=sys.stderr, flush=True
    )


class _forked_rng:
    """``torch.random.fork_rng`` over the CPU and the training device's generator."""

    def __init__(self, device: torch.device) -> None:
        devices = [device.index or 0] if device.type == "cuda" else []
        self._fork = torch.random.fork_rng(devices=devices)

    def __enter__(self) -> None:
        self._fork.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._fork.__exit__(*exc)
