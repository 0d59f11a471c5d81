"""Distances between two sets of image features (rows of a matrix), in float64.

- :func:`frechet_distance`: ``|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2))`` between
  the Gaussians fitted to two sets (Heusel et al. 2017). The trace of the matrix
  square root is the sum of the square roots of the eigenvalues of the symmetric
  PSD matrix ``C1^(1/2) C2 C1^(1/2)``, which has the same eigenvalues as ``C1 C2``.
  Unlike ``scipy.linalg.sqrtm`` on the (non-symmetric) product, this never goes
  complex and needs no ``eps * I`` retry when a covariance is singular -- which it
  always is with fewer images than feature dimensions: tiny negative eigenvalues
  from rounding are clamped to 0.
- :func:`frechet_distance_unbiased`: that distance extrapolated to unlimited images
  (after Chong & Forsyth 2020): on a few thousand images FD is biased upward by an
  amount that can match the distances being compared.
- :func:`kernel_inception_distance`: the unbiased MMD^2 with the cubic polynomial
  kernel ``(x.y / d + 1)^3`` (Binkowski et al. 2018), mean and standard deviation
  over random subsets (100 subsets of 1000 by default, as published KIDs use).
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019):
  each set's manifold is the union of balls reaching each point's k-th nearest
  neighbour; precision is the share of generated points inside the real manifold,
  recall the share of real points inside the generated one.
- :func:`density_coverage`: density and coverage (Naeem et al. 2020), which use the
  real manifold only: a few stray generated points cannot inflate them, as they
  inflate recall (each stray point's ball is large and swallows real points).
- :func:`data_copying`: the data-copying test (Meehan, Chaudhuri & Dasgupta 2020),
  which the four above cannot do -- they score a model that hands back its training
  images as perfect. It asks whether the samples sit nearer the training images
  than new images of the same kind (a held-out set) do.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: KID precomputes whole kernel matrices when both sets have at most this many rows
#: (3 matrices of at most 4096^2 doubles, 128 MB each); subsets then only index them
GRAM_ROWS = 4096


def mean_cov(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and unbiased covariance of the rows, in float64."""
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
    # rounding can leave -1e-12 for identical sets; a distance is never negative
    return float(value.clamp_min(0))


def frechet_distance_of(a: Tensor, b: Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to the rows of ``a`` and ``b``.

    With fewer rows than feature dimensions (a training-time evaluation of a few
    hundred images in 2048 dimensions) it never forms a D x D matrix: with ``A``, ``B``
    the centred rows, the eigenvalues of ``C1 C2`` are the squared singular values
    of ``A B^T / sqrt((n-1)(m-1))``, so ``tr((C1 C2)^(1/2))`` is that matrix's nuclear
    norm -- an n x m SVD instead of two D x D eigendecompositions.
    """
    n, m, d = len(a), len(b), a.shape[1]
    if max(n, m) >= d:
        return frechet_distance(*mean_cov(a), *mean_cov(b))
    a, b = a.double(), b.double()
    mu1, mu2 = a.mean(0), b.mean(0)
    ac, bc = a - mu1, b - mu2
    scale = max(1, n - 1) * max(1, m - 1)
    trace_sqrt = torch.linalg.svdvals(ac @ bc.T).sum() / scale**0.5
    value = (
        (mu1 - mu2).square().sum()
        + ac.square().sum() / max(1, n - 1)
        + bc.square().sum() / max(1, m - 1)
        - 2 * trace_sqrt
    )
    return float(value.clamp_min(0))


#: shares of both sets whose FD :func:`frechet_distance_unbiased` fits against 1 / share
FD_INF_SHARES = (0.5, 0.625, 0.75, 0.875, 1.0)
#: random subsets drawn per share below 1 (their FDs are averaged)
FD_INF_DRAWS = 2
#: the smallest subsets need at least this many images per feature dimension: below it
#: FD's bias no longer falls as 1 / n (two sets of 100-200 emoji, 1,984 random-conv
#: dimensions, gave -0.13 to 0.78 where the truth is 0; 450 gave 0.05-0.10)
FD_INF_ROWS_PER_DIMENSION = 0.1


def frechet_distance_unbiased(
    a: Tensor,
    b: Tensor,
    *,
    shares: tuple[float, ...] = FD_INF_SHARES,
    draws: int = FD_INF_DRAWS,
    seed: int = 0,
    whole: float | None = None,
) -> tuple[float, float]:
    """``(fd_inf, bias)``: the Fréchet distance extrapolated to unlimited images, and how
    much the FD of the whole sets overstates it.

    A Fréchet distance measured on n and m images is biased upward by about
    ``c (1/n + 1/m)``: finite sets never fit their covariances exactly, so two halves
    of one dataset are apart by an FD that halves when the sets double. On small
    datasets the bias is of the size of the distances compared (1,823 emoji in
    random-conv features: two halves 0.20 apart), and it is shared by every model
    scored against the same reference, which squeezes their ratios toward 1. Like
    Chong & Forsyth's FID-infinity (2020), which varies the generated set, this
    fits ``FD(s) = fd_inf + bias / s`` by least squares to the FDs of random subsets
    holding a share ``s`` of each set (both sets shrink, so the reference's part of the
    bias is removed too); ``fd_inf`` is the intercept and may come out slightly below
    zero where the sets are within their sampling noise of each other. The fit keeps
    the bias's leading term only: two halves of the 1,823 emoji (911 each, true distance
    0) read FD 0.17-0.42 and ``fd_inf`` 0.05-0.25, so it removes most of the bias, not
    all. Callers check the sets are large enough (:data:`FD_INF_ROWS_PER_DIMENSION`).
    ``whole``: the FD of the whole sets where the caller has it already (share 1 is
    then not computed again).
    """
    if len(shares) < 2 or not all(0 < s <= 1 for s in shares) or draws < 1:
        raise ValueError("need at least two shares in (0, 1] and one draw")
    gen = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for share in shares:
        n, m = round(len(a) * share), round(len(b) * share)
        if min(n, m) < 2:
            raise ValueError(f"a share of {share:g} leaves fewer than 2 images in a set")
        values = [] if share < 1 or whole is None else [whole]  # the caller's whole-set FD
        for _ in range(0 if values else 1 if share == 1 else draws):
            pick_a = torch.randperm(len(a), generator=gen)[:n]
            pick_b = torch.randperm(len(b), generator=gen)[:m]
            values.append(frechet_distance_of(a[pick_a], b[pick_b]))
        xs.append(1 / share)
        ys.append(sum(values) / len(values))
    x, y = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
    slope = float(((x - x.mean()) * (y - y.mean())).sum() / (x - x.mean()).square().sum())
    return float(y.mean() - slope * x.mean()), slope


def _poly_kernel(x: Tensor, y: Tensor) -> Tensor:
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2(kxx: Tensor, kyy: Tensor, kxy: Tensor) -> float:
    """Unbiased MMD^2 from kernel blocks: the diagonals of kxx and kyy are left out."""
    m, n = len(kxx), len(kyy)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * kxy.mean())


def kernel_inception_distance(
    a: Tensor, b: Tensor, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """(mean, std) over ``subsets`` of the unbiased polynomial-kernel MMD^2 between ``a`` and ``b``.

    Each subset draws ``min(subset_size, half the smaller set)`` rows of each set
    without replacement (seeded, so a result is reproducible): subsets as large as a
    whole set would all be that set, and their spread would say nothing. Small sets (the usual
    training-time evaluation) compute the three kernel matrices once and index them:
    the same numbers as kernels per subset, 10-30x less arithmetic.
    """
    a, b = a.double(), b.double()
    if min(len(a), len(b)) < 4:
        raise ValueError("KID needs at least 4 images in each set")
    m = min(subset_size, max(2, min(len(a), len(b)) // 2))
    g = torch.Generator().manual_seed(seed)
    whole = max(len(a), len(b)) <= GRAM_ROWS
    if whole:
        kaa, kbb, kab = _poly_kernel(a, a), _poly_kernel(b, b), _poly_kernel(a, b)
    values = []
    for _ in range(subsets):
        ia = torch.randperm(len(a), generator=g)[:m]
        ib = torch.randperm(len(b), generator=g)[:m]
        if whole:
            kxx, kyy = kaa[ia][:, ia], kbb[ib][:, ib]
            kxy = kab[ia][:, ib]
        else:
            x, y = a[ia], b[ib]
            kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
        values.append(_mmd2(kxx, kyy, kxy))
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def _kth_radii(x: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row (chunked: flat memory)."""
    radii = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start : start + chunk], x)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # +1: the point itself is at 0
    return torch.cat(radii)


def _inside(points: Tensor, centres: Tensor, radii: Tensor, chunk: int = 1024) -> Tensor:
    """Which ``points`` fall inside at least one ball (centre, radius)."""
    hits = []
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start : start + chunk], centres)
        hits.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(hits)


def density_coverage(real: Tensor, fake: Tensor, *, k: int = 3) -> tuple[float, float]:
    """(density, coverage) of ``fake`` against ``real``, both from the real points' k-NN balls.

    Density: how many real balls the average generated point falls in, over k (about
    1 for a generator that matches the data; above 1 where samples crowd dense
    regions). Coverage: the share of real points whose ball holds a generated point
    -- the variety the samples reach, robust to outliers.
    """
    real, fake = real.double(), fake.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"density/coverage with k={k} needs more than {k} images in each set")
    radii = _kth_radii(real, k)
    hits, covered = 0.0, torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(fake), 1024):
        inside = torch.cdist(fake[start : start + 1024], real) <= radii[None, :]
        hits += float(inside.sum())
        covered |= inside.any(dim=0)
    return hits / (k * len(fake)), float(covered.double().mean())


def precision_recall(real: Tensor, fake: Tensor, *, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of ``fake`` against ``real`` with k-NN manifolds."""
    real, fake = real.double(), fake.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} images in each set")
    precision = _inside(fake, real, _kth_radii(real, k)).double().mean()
    recall = _inside(real, fake, _kth_radii(fake, k)).double().mean()
    return float(precision), float(recall)


def _nearest(points: Tensor, train: Tensor, chunk: int = 1024) -> Tensor:
    """Distance from each row of ``points`` to its nearest row of ``train``."""
    return torch.cat([torch.cdist(points[i : i + chunk], train).min(1).values
                      for i in range(0, len(points), chunk)])  # fmt: skip


def _mann_whitney_z(fake: Tensor, held: Tensor) -> float:
    """The Mann-Whitney U of ``fake`` against ``held`` as a z-score (normal approximation).

    Negative: the ``fake`` values tend to be the smaller ones. Ties share their mean rank.
    """
    m, n = len(fake), len(held)
    both = torch.cat([fake, held])
    order = both.argsort()
    ranks = torch.empty_like(both)
    ranks[order] = torch.arange(1, m + n + 1, dtype=both.dtype)
    _, inverse, counts = both.unique(return_inverse=True, return_counts=True)
    sums = torch.zeros(len(counts), dtype=both.dtype).index_add_(0, inverse, ranks)
    ranks = (sums / counts)[inverse]  # mean rank within each group of ties
    u = float(ranks[:m].sum()) - m * (m + 1) / 2
    return (u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)


def _kmeans(x: Tensor, k: int, seed: int, iterations: int = 30) -> Tensor:
    """``k`` centres of Lloyd's k-means from a seeded random start."""
    g = torch.Generator().manual_seed(seed)
    centres = x[torch.randperm(len(x), generator=g)[:k]].clone()
    for _ in range(iterations):
        nearest = torch.cdist(x, centres).argmin(1)
        sums = torch.zeros_like(centres).index_add_(0, nearest, x)
        counts = torch.bincount(nearest, minlength=k)
        moved = counts > 0
        centres[moved] = sums[moved] / counts[moved, None]
    return centres


def data_copying(
    train: Tensor,
    held_out: Tensor,
    fake: Tensor,
    *,
    cells: int = 10,
    min_cell: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """The data-copying test of ``fake`` against the ``train`` set a model learnt from.

    Each generated and each ``held_out`` point gets its distance to the nearest
    training point. A model that generalises puts its samples as far from the
    training set as new real images are; one that copies puts them nearer; one that
    misses the data puts them farther. The Mann-Whitney U of the two sets of
    distances, as a z-score, says which and how surely (Meehan et al. 2020):

    - ``copying_z``: their C_T -- the z-score in each of ``cells`` k-means cells of
      the training set, averaged with the held-out points' share of each cell as
      weight, over the cells holding at least ``min_cell`` samples and ``min_cell``
      held-out points. Per cell, so that a model which copies in one region and
      falls short in another does not average to 0. Well below 0 (say < -3): copies.
      When no cell holds enough points, the whole set is the one cell.
    - ``copying_z_global``: the same z over all points at once;
    - ``nearest_ratio``: median distance of a sample to the training set over that
      of a held-out image (below 1: nearer than new data);
    - ``copy_share``: the share of samples nearer to the training set than 99% of
      the held-out images are (about 0.01 for a model that generalises; a model
      that copies only some of the time shows here first);
    - ``copying_cells``: how many cells the average used.
    """
    train, held_out, fake = train.double(), held_out.double(), fake.double()
    if min(len(train), len(held_out), len(fake)) < min_cell:
        raise ValueError(f"needs at least {min_cell} images in each set")
    d_fake, d_held = _nearest(fake, train), _nearest(held_out, train)
    # cdist's matrix-product path leaves ~1e-7 between identical rows, not 0
    same = 1e-5 * float(train.std(0).norm())
    if float(d_held.median()) <= same:
        raise ValueError(
            "most held-out images are also in the training set; give images the model never saw"
        )
    k = max(1, min(cells, len(train)))
    centres = _kmeans(train, k, seed)
    cell_fake, cell_held = (
        torch.cdist(fake, centres).argmin(1),
        torch.cdist(held_out, centres).argmin(1),
    )
    total = weight = 0.0
    used = 0
    for c in range(k):
        f, h = d_fake[cell_fake == c], d_held[cell_held == c]
        if len(f) >= min_cell and len(h) >= min_cell:
            share = len(h) / len(held_out)
            total += share * _mann_whitney_z(f, h)
            weight += share
            used += 1
    whole = _mann_whitney_z(d_fake, d_held)
    if not used:
        total, weight, used = whole, 1.0, 1
    near = torch.quantile(d_held, 0.01)
    return {
        "copying_z": total / weight,
        "copying_z_global": whole,
        "nearest_ratio": float(d_fake.median() / d_held.median()),
        "copy_share": float((d_fake < near).double().mean()),
        "copying_cells": float(used),
    }
