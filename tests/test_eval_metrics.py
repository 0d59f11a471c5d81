"""The evaluation formulas: Fréchet distance, KID, precision/recall, streamed statistics.

Checked against an independent computation (scipy's ``sqrtm``) and against their
defining properties on controlled data: Gaussian features whose true distances are
known, and real images (the shapes dataset) through the weight-free features.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from artkit.eval.features import RandomConv
from artkit.eval.metrics import (
    data_copying,
    density_coverage,
    frechet_distance,
    frechet_distance_of,
    frechet_distance_unbiased,
    kernel_inception_distance,
    mean_cov,
    precision_recall,
)
from artkit.eval.stats import feature_stats
from artkit.plugins import get_registry

pytestmark = pytest.mark.usefixtures("one_thread")


def shapes(n: int, size: int = 64, **options) -> list[Image.Image]:
    source = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": n, **options}, resolution=size, channels=3)
    )
    return [Image.fromarray(source[i]) for i in range(n)]


def tensor(images: list[Image.Image]) -> torch.Tensor:
    arrays = np.stack([np.asarray(im) for im in images])  # stacking makes a writable copy
    return torch.from_numpy(arrays).permute(0, 3, 1, 2).float() / 127.5 - 1


def scipy_frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """The textbook formula, as pytorch-fid computes it (scipy sqrtm of the product)."""
    from scipy import linalg

    mu1, c1 = (t.numpy() for t in mean_cov(a))
    mu2, c2 = (t.numpy() for t in mean_cov(b))
    covmean = linalg.sqrtm(c1 @ c2)
    covmean = np.real(covmean)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean))


# -- Fréchet distance ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d"), [(300, 16), (400, 64)])
def test_frechet_matches_scipy_sqrtm_on_random_features(n, d):
    g = torch.Generator().manual_seed(d)
    a = torch.randn(n, d, generator=g, dtype=torch.float64)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64)
    b = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix * 0.5 + 0.3
    ours = frechet_distance_of(a, b)
    assert ours == pytest.approx(scipy_frechet(a, b), abs=1e-3)
    assert ours > 1.0  # a real distance, not a degenerate 0 = 0


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_shift():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(500, 8, generator=g)
    assert frechet_distance_of(a, a) < 1e-6
    # a mean shift of 0.5 in each of 8 dimensions: |mu1 - mu2|^2 = 8 * 0.25, covariances equal
    assert frechet_distance_of(a, a + 0.5) == pytest.approx(8 * 0.25, rel=1e-6)
    assert frechet_distance_of(a, a + 1.0) == pytest.approx(8.0, rel=1e-6)


def test_frechet_is_stable_with_fewer_images_than_dimensions():
    """Singular covariances (N < D, as in small training evaluations): finite, symmetric, 0 for a set with itself."""
    g = torch.Generator().manual_seed(2)
    a = torch.randn(24, 200, generator=g)
    b = torch.randn(24, 200, generator=g) * 1.5
    ab, ba = frechet_distance_of(a, b), frechet_distance_of(b, a)
    assert np.isfinite(ab) and ab == pytest.approx(ba, rel=1e-6)
    assert frechet_distance_of(a, a) < 1e-6
    # the n x m SVD path (N < D) and the D x D eigendecomposition path give one number
    assert ab == pytest.approx(frechet_distance(*mean_cov(a), *mean_cov(b)), rel=1e-6)
    # the exact value for diagonal Gaussians: sum (s1 - s2)^2 over matching spectra
    d = torch.linspace(0.5, 2.0, 10, dtype=torch.float64)
    exact = float(((d.sqrt() - (2 * d).sqrt()) ** 2).sum())
    zero = torch.zeros(10, dtype=torch.float64)
    assert frechet_distance(zero, torch.diag(d), zero, torch.diag(2 * d)) == pytest.approx(exact)


def test_fd_on_image_features_grows_for_blurred_and_shifted_copies():
    images = shapes(48)
    net = RandomConv()
    feats = net.embed(tensor(images))
    blur1 = net.embed(tensor([im.filter(ImageFilter.GaussianBlur(1)) for im in images]))
    blur3 = net.embed(tensor([im.filter(ImageFilter.GaussianBlur(3)) for im in images]))
    shift4 = net.embed(torch.roll(tensor(images), shifts=(4, 4), dims=(2, 3)))
    shift12 = net.embed(torch.roll(tensor(images), shifts=(12, 12), dims=(2, 3)))
    assert frechet_distance_of(feats, feats) < 1e-6
    assert frechet_distance_of(feats, blur3) > frechet_distance_of(feats, blur1) > 0.01
    assert frechet_distance_of(feats, shift12) > frechet_distance_of(feats, shift4) > 0.001


def test_fd_extrapolated_to_unlimited_images_removes_the_small_sample_bias():
    """Gaussian features in 32 dimensions, 1,000 and 800 rows, four draws: FD of one
    distribution with itself is about 0.7, not 0, and a mean shift of length 1 reads
    about 1.7, not 1. The extrapolation recovers the true 0 and 1 where FD cannot."""
    fd, fd_inf, fd_shifted, fd_inf_shifted, biases = [], [], [], [], []
    shift = torch.zeros(32)
    shift[0] = 1.0  # |shift|^2 = 1: the true distance
    for seed in range(4):
        g = torch.Generator().manual_seed(seed)
        a, b = torch.randn(1000, 32, generator=g), torch.randn(800, 32, generator=g)
        fd.append(frechet_distance_of(a, b))
        fd_inf.append(frechet_distance_unbiased(a, b)[0])
        fd_shifted.append(frechet_distance_of(a, b + shift))
        value, bias = frechet_distance_unbiased(a, b + shift)
        fd_inf_shifted.append(value)
        biases.append((bias, fd_shifted[-1] - value))
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(fd) > 0.6 and abs(mean(fd_inf)) < 0.05
    assert mean(fd_shifted) > 1.5 and mean(fd_inf_shifted) == pytest.approx(1.0, abs=0.1)
    # the bias is what FD overstated at these counts
    assert all(bias == pytest.approx(gap, abs=0.2) for bias, gap in biases)
    with pytest.raises(ValueError, match="two shares"):
        frechet_distance_unbiased(a, b, shares=(1.0,))
    # the caller's whole-set FD stands in for share 1 (compare() has it already)
    given = frechet_distance_unbiased(a, b + shift, whole=fd_shifted[-1])
    assert given == pytest.approx((value, bias), abs=1e-9)


# -- KID ----------------------------------------------------------------------------------------


def test_kid_is_unbiased_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(600, 32, generator=g), torch.randn(600, 32, generator=g)
    mean, std = kernel_inception_distance(x, y, subsets=50, subset_size=200)
    assert abs(mean) < 3 * std / np.sqrt(50) + 1e-4  # centred on 0: the estimator has no bias
    # the biased (V-statistic) estimator, which keeps the diagonal, would sit well above 0
    assert std > 0
    other = torch.randn(600, 32, generator=g) * 1.3 + 0.2
    far, _ = kernel_inception_distance(x, other, subsets=50, subset_size=200)
    assert far > 20 * max(abs(mean), 1e-4)


def test_kid_whole_kernel_and_per_subset_paths_agree(monkeypatch):
    import artkit.eval.metrics as metrics

    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(300, 16, generator=g), torch.randn(250, 16, generator=g) + 0.1
    whole = kernel_inception_distance(x, y, subsets=10, subset_size=100)
    monkeypatch.setattr(metrics, "GRAM_ROWS", 10)  # force kernels per subset
    per_subset = kernel_inception_distance(x, y, subsets=10, subset_size=100)
    assert whole == pytest.approx(per_subset, rel=1e-9, abs=1e-12)


# -- precision / recall -------------------------------------------------------------------------


def test_precision_recall_identical_sets_and_dropped_modes():
    g = torch.Generator().manual_seed(3)
    centres = torch.randn(4, 16, generator=g) * 10
    real = torch.cat([c + torch.randn(100, 16, generator=g) for c in centres])
    assert precision_recall(real, real) == (1.0, 1.0)
    two_modes = torch.cat([c + torch.randn(100, 16, generator=g) for c in centres[:2]])
    precision, recall = precision_recall(real, two_modes)
    assert precision > 0.75  # what it makes is realistic...
    assert 0.3 < recall < 0.6  # ...but half the modes are missing


def test_density_and_coverage_see_dropped_modes_and_ignore_stray_samples():
    """A few far-off samples inflate recall (their k-NN balls swallow the data); coverage,
    which uses the real balls only, does not move."""
    g = torch.Generator().manual_seed(3)
    centres = torch.randn(4, 16, generator=g) * 10
    real = torch.cat([c + torch.randn(100, 16, generator=g) for c in centres])
    fresh = torch.cat([c + torch.randn(100, 16, generator=g) for c in centres])
    density, coverage = density_coverage(real, fresh)  # the same distribution: about 1 and 1
    assert coverage > 0.8 and 0.8 < density < 1.25, (density, coverage)
    two_modes = torch.cat([c + torch.randn(200, 16, generator=g) for c in centres[:2]])
    density, coverage = density_coverage(real, two_modes)
    assert 0.4 < coverage <= 0.5 and density > 0.8
    # 2% stray samples off the dropped modes: far enough out to be in no real ball, close
    # enough that their own wide balls (strays are far apart) hold those modes' real points
    ring = torch.randn(8, 16, generator=g)
    stray = torch.cat(
        [two_modes, centres[2 + torch.arange(8) % 2] + 8 * ring / ring.norm(dim=1, keepdim=True)]
    )
    assert precision_recall(real, stray)[1] > precision_recall(real, two_modes)[1] + 0.3
    assert density_coverage(real, stray)[1] == coverage
    with pytest.raises(ValueError, match="needs more than 3 images"):
        density_coverage(real, real[:3])


def test_recall_falls_when_an_image_mode_is_dropped():
    """Real images: shapes on dark and light backgrounds; a 'generator' that only makes dark ones."""
    net = RandomConv()

    def mixed(seed: int) -> torch.Tensor:
        return net.embed(
            tensor(
                shapes(60, seed=seed, background="dark")
                + shapes(60, seed=seed + 1, background="light")
            )
        )

    real, both = mixed(0), mixed(2)
    dark = net.embed(tensor(shapes(120, seed=4, background="dark")))
    p_both, r_both = precision_recall(real, both)
    p_dark, r_dark = precision_recall(real, dark)
    assert p_dark > 0.7 and p_both > 0.7  # every image is a plausible one
    assert r_dark < 0.65 < r_both  # but half of the real variety is never made
    assert frechet_distance_of(dark, real) > 3 * frechet_distance_of(both, real)


# -- streamed statistics ------------------------------------------------------------------------


class _Identity:
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_streamed_statistics_equal_the_direct_ones_and_keep_a_uniform_sample():
    g = torch.Generator().manual_seed(5)
    # a large offset: one-pass sums of squares would lose digits without the shift
    x = torch.randn(5000, 6, generator=g, dtype=torch.float64) + 1e4
    x[:, 0] = torch.arange(5000) + 1e4  # each row's position, exact even in float32
    stats = feature_stats(x.split(128), _Identity(), "cpu", keep=500, seed=1)
    mu, cov = mean_cov(x)
    assert stats.count == 5000
    assert torch.allclose(stats.mu, mu, rtol=0, atol=1e-9)
    assert torch.allclose(stats.cov, cov, rtol=1e-9, atol=1e-9)
    assert stats.features.shape == (500, 6)
    # the kept rows are real rows, and spread over the whole stream, not its first 500
    rows = {tuple(r) for r in x.float().tolist()}
    assert all(tuple(r) in rows for r in stats.features.tolist())
    positions = stats.features[:, 0].double() - 1e4
    assert len(set(positions.tolist())) == 500
    assert positions.mean() == pytest.approx(2500, rel=0.1) and positions.max() > 4500


def test_non_finite_features_are_a_clear_error():
    from artkit.errors import ArtkitError

    x = torch.randn(10, 3)
    x[7, 1] = float("nan")
    with pytest.raises(ArtkitError, match="image 7 are not finite"):
        feature_stats([x[:5], x[5:]], _Identity(), "cpu")


# -- the data-copying test ----------------------------------------------------------------------


def test_mann_whitney_z_by_hand():
    from artkit.eval.metrics import _mann_whitney_z

    # all of one set below the other: U = 0, z = -2 / sqrt(2 * 2 * 5 / 12)
    low, high = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])
    assert _mann_whitney_z(low, high) == pytest.approx(-2 / (20 / 12) ** 0.5)
    assert _mann_whitney_z(high, low) == pytest.approx(2 / (20 / 12) ** 0.5)
    # ties share their rank: two equal sets sit in the middle
    same = torch.tensor([1.0, 1.0, 2.0])
    assert _mann_whitney_z(same, same.clone()) == pytest.approx(0.0)


def test_data_copying_tells_copies_from_new_draws_and_misses():
    g = torch.Generator().manual_seed(0)
    train, held = torch.randn(2000, 16, generator=g), torch.randn(1000, 16, generator=g)
    fresh = data_copying(train, held, torch.randn(1000, 16, generator=g))
    copies = data_copying(train, held, train[:1000] + 0.05 * torch.randn(1000, 16, generator=g))
    wide = data_copying(train, held, 1.5 * torch.randn(1000, 16, generator=g))
    assert abs(fresh["copying_z"]) < 3 and fresh["copy_share"] < 0.03
    assert 0.9 < fresh["nearest_ratio"] < 1.1 and fresh["copying_cells"] == 10
    assert copies["copying_z"] < -5 and copies["copy_share"] > 0.9 and copies["nearest_ratio"] < 0.2
    assert wide["copying_z"] > 5 and wide["nearest_ratio"] > 1.2
    # copying half the time hides in the cells' average, not in the copy share
    near = train[:500] + 0.05 * torch.randn(500, 16, generator=g)
    half = torch.cat([near, 1.5 * torch.randn(500, 16, generator=g)])
    assert data_copying(train, held, half)["copy_share"] > 0.4


def test_data_copying_refuses_a_held_out_set_that_is_the_training_set():
    train = torch.randn(100, 8, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="also in the training set"):
        data_copying(train, train[:50], train[50:])
