"""Distances between two sets of image features (rows of a matrix), in float64.

- :func:`frechet_distance`: ``|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2))`` between
  the Gaussians fitted to two sets (Heusel et al. 2017). The trace of the matrix
  square root is computed as the sum of the square roots of the eigenvalues of the
  symmetric PSD matrix ``C1^(1/2) C2 C1^(1/2)``, which has the same eigenvalues as
  ``C1 C2`` but, unlike ``scipy.linalg.sqrtm`` on the product, never goes complex.
- :func:`kernel_inception_distance`: the unbiased MMD^2 with the cubic polynomial
  kernel ``(x.y / d + 1)^3`` (Binkowski et al. 2018), averaged over random subsets.
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019):
  each set's manifold is the union of balls reaching each point's k-th nearest
  neighbour; precision is the share of generated points inside the real manifold,
  recall the share of real points inside the generated one.
"""

from __future__ import annotations

import torch
from torch import Tensor


def mean_cov(features: Tensor) -> tuple[Tensor, Tensor]:
    x = features.double()
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / max(1, len(x) - 1)


def _psd_sqrt(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> float:
    """The Fréchet distance between N(mu1, cov1) and N(mu2, cov2)."""
    mu1, mu2, cov1, cov2 = (t.double() for t in (mu1, mu2, cov1, cov2))
    root = _psd_sqrt(cov1)
    middle = root @ cov2 @ root
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + cov1.trace() + cov2.trace() - 2 * trace_sqrt
    return float(value.clamp_min(0))


def frechet_distance_of(a: Tensor, b: Tensor) -> float:
    return frechet_distance(*mean_cov(a), *mean_cov(b))


def kernel_inception_distance(
    a: Tensor, b: Tensor, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """(mean, std) over ``subsets`` of the unbiased polynomial-kernel MMD^2 between ``a`` and ``b``."""
    a, b = a.double(), b.double()
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 images in each set")
    d = a.shape[1]
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=g)[:m]]
        y = b[torch.randperm(len(b), generator=g)[:m]]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        mmd = (
            (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
            + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
            - 2 * kxy.mean()
        )
        values.append(float(mmd))
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def _kth_radii(x: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    radii = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start : start + chunk], x)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # +1: the point itself is at 0
    return torch.cat(radii)


def _inside(points: Tensor, centres: Tensor, radii: Tensor, chunk: int = 1024) -> Tensor:
    hits = []
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start : start + chunk], centres)
        hits.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(hits)


def precision_recall(real: Tensor, fake: Tensor, *, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of ``fake`` against ``real`` with k-NN manifolds."""
    real, fake = real.double(), fake.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} images in each set")
    precision = _inside(fake, real, _kth_radii(real, k)).double().mean()
    recall = _inside(real, fake, _kth_radii(fake, k)).double().mean()
    return float(precision), float(recall)
