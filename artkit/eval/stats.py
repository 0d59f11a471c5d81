"""Features of an image set, streamed in batches, and the cache of reference statistics.

Mean and covariance are accumulated over every image in float64 (shifted by the
first batch's mean, so large feature offsets cost no precision); the features
themselves are kept only for a uniform random sample of at most :data:`KEEP` rows
(reservoir sampling, seeded), enough for KID and precision/recall. Memory is
therefore flat in the number of images: 50,000 images need no more than 10,000.

Reference statistics are cached as safetensors under ``$ARTKIT_CACHE_DIR/eval/``,
keyed by the reference's fingerprint, the extractor's identity and the image count,
so scoring many runs against one dataset extracts its features once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from artkit.errors import ArtkitError, MetricRefused, UsageError

#: rows of features kept for KID, precision/recall and fdinf (mean/cov use every image)
KEEP = 10_000
#: bump when what is cached changes meaning
CACHE_VERSION = "2"


@dataclass
class SetStats:
    mu: Tensor  # (D,) float64
    cov: Tensor  # (D, D) float64
    features: Tensor  # (min(count, KEEP), D) float32, a uniform sample of the rows
    count: int


def batches_of(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def to_batch(images: list[Any], size: tuple[int, int]) -> Tensor:
    """PIL images -> (N, 3, H, W) in [-1, 1], RGB, resized to ``size`` (W, H) where they differ."""
    from PIL import Image

    from artkit.torch_images import pil_to_tensor

    ready = []
    for im in images:
        if im.mode != "RGB":
            im = im.convert("RGB")
        if im.size != size:
            im = im.resize(size, Image.Resampling.BILINEAR)
        ready.append(im)
    return pil_to_tensor(ready, 3)


class _Reservoir:
    """A uniform random sample of at most ``size`` rows of a stream (Vitter's algorithm R)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seen = size, 0
        self.rows: Tensor | None = None
        self.g = torch.Generator().manual_seed(seed)

    def add(self, batch: Tensor) -> None:
        if self.rows is None:
            self.rows = torch.empty(self.size, batch.shape[1], dtype=torch.float32)
        room = max(0, min(len(batch), self.size - self.seen))
        self.rows[self.seen : self.seen + room] = batch[:room]
        rest = batch[room:]
        if len(rest):
            # row t (0-based in the stream) replaces slot j ~ U{0..t} when j < size
            t = torch.arange(self.seen + room, self.seen + len(batch), dtype=torch.float64)
            slots = (torch.rand(len(rest), generator=self.g, dtype=torch.float64) * (t + 1)).long()
            for row, slot in zip(rest, slots.tolist(), strict=True):
                if slot < self.size:
                    self.rows[slot] = row
        self.seen += len(batch)

    def sample(self) -> Tensor:
        assert self.rows is not None
        return self.rows[: min(self.seen, self.size)].clone()


def feature_stats(
    batches: Iterable[Tensor], extractor: Any, device: Any, *, keep: int = KEEP, seed: int = 0
) -> SetStats:
    """Stream tensor batches (N, C, H, W in [-1, 1]) through ``extractor``'s ``embed``."""
    shift = total = outer = None
    reservoir = _Reservoir(keep, seed)
    count = 0
    for batch in batches:
        f = extractor.embed(batch.to(device)).double().cpu()
        if not bool(torch.isfinite(f).all()):
            raise ArtkitError(
                f"features of image {count + int((~torch.isfinite(f).all(1)).nonzero()[0])} are not "
                "finite (NaN or Inf): are the images themselves broken?"
            )
        if shift is None:
            shift = f.mean(0)
            total = torch.zeros_like(shift)
            outer = torch.zeros(len(shift), len(shift), dtype=torch.float64)
        centred = f - shift
        total += centred.sum(0)
        outer += centred.T @ centred
        reservoir.add(f.float())
        count += len(f)
    if count < 2 or shift is None or total is None or outer is None:
        raise UsageError(f"need at least 2 images to compare, got {count}")
    mean_c = total / count
    cov = (outer - count * torch.outer(mean_c, mean_c)) / (count - 1)
    return SetStats(shift + mean_c, (cov + cov.T) / 2, reservoir.sample(), count)


# --------------------------------------------------------------------------- cache


def cache_path(fingerprint: str, extractor_id: str, n: int) -> Path:
    """Where the statistics of ``n`` images of a reference go, for one extractor."""
    from artkit.dataset_cache import cache_dir

    key = f"v{CACHE_VERSION}|{fingerprint}|{extractor_id}|{n}|keep={KEEP}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache_dir().parent / "eval" / f"ref-{digest}.safetensors"


def load_cached(path: Path) -> SetStats | None:
    """The cached statistics, or None when absent or unreadable (then recomputed)."""
    if not path.is_file():
        return None
    from artkit.checkpoint import load_tensors

    try:
        tensors, meta = load_tensors(path)
        return SetStats(tensors["mu"], tensors["cov"], tensors["features"], int(meta["count"]))
    except Exception:  # a damaged cache entry is recomputed, never trusted
        return None


def store(path: Path, stats: SetStats, about: dict[str, str]) -> Path:
    """Write statistics atomically (a killed run leaves no half-written entry)."""
    from artkit.checkpoint import save_tensors

    path.parent.mkdir(parents=True, exist_ok=True)
    return save_tensors(
        path,
        {"mu": stats.mu, "cov": stats.cov, "features": stats.features.contiguous()},
        {**about, "count": str(stats.count), "artkit.eval_cache": CACHE_VERSION},
    )


# --------------------------------------------------------------------------- scoring

#: names of the values :func:`compare` returns for each metric
METRIC_KEYS = {
    "fd": ("fd",),
    "kid": ("kid", "kid_std"),
    "pr": ("precision", "recall"),
    "dc": ("density", "coverage"),
    "copy": ("copying_z", "copying_z_global", "nearest_ratio", "copy_share", "copying_cells"),
}


def fdinf_refusal(
    dims: int, *, counts: tuple[int, int], kept: tuple[int, int] | None = None
) -> str | None:
    """Why ``fdinf`` cannot be had for two sets of ``counts`` images in ``dims``-dimensional
    features (``kept`` rows of them held), as a one-line message; None where it can.

    It resamples the held rows, so every image's must be held, and its 1/n fit needs the
    half-size subsets to hold :data:`~artkit.eval.metrics.FD_INF_ROWS_PER_DIMENSION` rows
    per dimension. Counts alone decide, so a caller can ask before extracting anything."""
    from artkit.eval.metrics import FD_INF_ROWS_PER_DIMENSION, FD_INF_SHARES

    kept = kept if kept is not None else (min(counts[0], KEEP), min(counts[1], KEEP))
    if kept[0] < counts[0] or kept[1] < counts[1]:
        return (
            f"fdinf resamples the images' features, kept for at most {KEEP:,} images a "
            f"set: give -n {KEEP}"
        )
    needed = max(8, math.ceil(dims * FD_INF_ROWS_PER_DIMENSION / min(FD_INF_SHARES)))
    if min(counts) < needed:
        return (
            f"fdinf needs at least {needed:,} images in each set with {dims:,}-dimensional "
            f"features (it extrapolates from subsets of half as many); got {min(counts):,}"
        )
    return None


def compare(
    samples: SetStats,
    reference: SetStats,
    metrics: Iterable[str],
    *,
    k: int = 3,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    held_out: SetStats | None = None,
) -> dict[str, float]:
    """The requested metrics (``fd``, ``fdinf``, ``kid``, ``pr``, ``dc``, ``copy``) of ``samples`` against ``reference``.

    ``copy`` (the data-copying test) takes ``reference`` as the set the model learnt
    from, all of it, and needs ``held_out``: new images of the same kind.
    """
    from artkit.eval.metrics import (
        data_copying,
        density_coverage,
        frechet_distance,
        frechet_distance_of,
        frechet_distance_unbiased,
        kernel_inception_distance,
        precision_recall,
    )

    wanted = set(metrics)
    out: dict[str, float] = {}
    if "fd" in wanted:
        whole = (
            len(samples.features) == samples.count and len(reference.features) == reference.count
        )
        if whole and max(samples.count, reference.count) < samples.mu.numel():
            out["fd"] = frechet_distance_of(samples.features, reference.features)  # n x m SVD
        else:
            out["fd"] = frechet_distance(samples.mu, samples.cov, reference.mu, reference.cov)
    if "fdinf" in wanted:
        why = fdinf_refusal(
            samples.features.shape[1],
            counts=(samples.count, reference.count),
            kept=(len(samples.features), len(reference.features)),
        )
        if why:
            raise MetricRefused(why)
        out["fd_inf"], out["fd_bias"] = frechet_distance_unbiased(
            samples.features, reference.features, whole=out.get("fd")
        )
    if "kid" in wanted:
        if min(len(samples.features), len(reference.features)) < 4:
            raise UsageError("KID needs at least 4 images in each set")
        mean, std = kernel_inception_distance(
            samples.features,
            reference.features,
            subsets=kid_subsets,
            subset_size=kid_subset_size,
        )
        out["kid"], out["kid_std"] = mean, std
    if "pr" in wanted:
        if min(len(samples.features), len(reference.features)) <= k:
            raise UsageError(f"precision/recall with -k {k} needs more than {k} images in each set")
        p, r = precision_recall(reference.features, samples.features, k=k)
        out["precision"], out["recall"] = p, r
    if "dc" in wanted:
        if min(len(samples.features), len(reference.features)) <= k:
            raise UsageError(f"density/coverage with -k {k} needs more than {k} images in each set")
        d, c = density_coverage(reference.features, samples.features, k=k)
        out["density"], out["coverage"] = d, c
    if "copy" in wanted:
        if held_out is None:
            raise UsageError("the data-copying test needs held-out images (--held-out)")
        if len(reference.features) < reference.count:
            raise UsageError(
                f"the data-copying test needs every training image as the reference; "
                f"{reference.count:,} is more than the {len(reference.features):,} kept"
            )
        try:
            out.update(data_copying(reference.features, held_out.features, samples.features))
        except ValueError as error:
            raise UsageError(f"data-copying test: {error}") from None
    return out
