"""Features of an image set, streamed in batches, and the cache of reference statistics.

A set's features are kept whole up to :data:`KEEP` rows (enough for KID and
precision/recall; memory stays bounded for any size) while mean and covariance are
accumulated over every image in float64. Reference statistics are cached as
safetensors under ``$ARTKIT_CACHE_DIR/eval/`` by the reference's fingerprint, the
extractor's identity and the image count, so scoring many runs against one dataset
extracts its features once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

#: rows of features kept for KID and precision/recall (mean/cov use every image)
KEEP = 10_000


@dataclass
class SetStats:
    mu: Tensor
    cov: Tensor
    features: Tensor  # up to KEEP rows
    count: int


def batches_of(images: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for image in images:
        batch.append(image)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def to_batch(images: list[Any], size: int) -> Tensor:
    """PIL images -> (N, 3, size, size) in [-1, 1] (resized, RGB)."""
    from PIL import Image

    from artkit.torch_images import pil_to_tensor

    ready = [
        im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        if im.size != (size, size) or im.mode != "RGB"
        else im
        for im in images
    ]
    return pil_to_tensor(ready, 3)


def feature_stats(batches: Iterable[Tensor], extractor: Any, device: Any) -> SetStats:
    """Stream tensor batches (N, C, H, W in [-1, 1]) through ``extractor``."""
    total = None
    outer = None
    kept: list[Tensor] = []
    n_kept = count = 0
    for batch in batches:
        f = extractor.embed(batch.to(device)).double().cpu()
        total = f.sum(0) if total is None else total + f.sum(0)
        outer = f.T @ f if outer is None else outer + f.T @ f
        count += len(f)
        if n_kept < KEEP:
            kept.append(f[: KEEP - n_kept].float())
            n_kept += len(kept[-1])
    if count < 2 or total is None or outer is None:
        from artkit.errors import UsageError

        raise UsageError(f"need at least 2 images to compare, got {count}")
    mu = total / count
    cov = (outer - count * torch.outer(mu, mu)) / (count - 1)
    return SetStats(mu, cov, torch.cat(kept), count)


# --------------------------------------------------------------------------- cache


def cache_path(fingerprint: str, extractor_id: str, n: int) -> Path:
    from artkit.dataset_cache import cache_dir

    key = hashlib.sha256(f"{fingerprint}|{extractor_id}|{n}".encode()).hexdigest()[:24]
    return cache_dir().parent / "eval" / f"ref-{key}.safetensors"


def load_cached(path: Path) -> SetStats | None:
    if not path.is_file():
        return None
    from artkit.checkpoint import load_tensors

    try:
        tensors, meta = load_tensors(path)
        return SetStats(tensors["mu"], tensors["cov"], tensors["features"], int(meta["count"]))
    except Exception:  # a damaged cache entry is recomputed, never trusted
        return None


def store(path: Path, stats: SetStats, about: dict[str, str]) -> None:
    from artkit.checkpoint import save_tensors

    path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(
        path,
        {"mu": stats.mu, "cov": stats.cov, "features": stats.features.contiguous()},
        {**about, "count": str(stats.count)},
    )


def compare(
    samples: SetStats, reference: SetStats, metrics: list[str], *, k: int = 3
) -> dict[str, Any]:
    """The requested metrics of ``samples`` against ``reference``."""
    from artkit.eval.metrics import frechet_distance, kernel_inception_distance, precision_recall

    out: dict[str, Any] = {}
    if "fd" in metrics:
        out["fd"] = frechet_distance(samples.mu, samples.cov, reference.mu, reference.cov)
    if "kid" in metrics:
        size = min(1000, len(samples.features), len(reference.features))
        mean, std = kernel_inception_distance(
            samples.features, reference.features, subset_size=size
        )
        out["kid"], out["kid_std"] = mean, std
    if "pr" in metrics:
        p, r = precision_recall(reference.features, samples.features, k=k)
        out["precision"], out["recall"] = p, r
    return out
