"""The VAE's ex-post latent prior (:mod:`artkit_vae.nn_prior`).

EM recovers a known mixture; ``artkit train`` fits the prior once training ends
and saves it with the weights; sampling from it is deterministic per seed and
identical after a reload; ``prior=normal`` and an unfitted checkpoint sample
from N(0, I) instead.
"""

from __future__ import annotations

import hashlib
import warnings

import pytest
import torch

from artkit.checkpoint import build_model, load_model, load_tensors, save_model
from artkit.device import make_generator
from artkit.errors import ArtkitWarning, UsageError
from artkit.testing import run_cli
from artkit_vae.nn_prior import fit_gmm, sample_gmm
from tests.helpers import one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

MODEL = "vae:resolution=32,width=0.125,z_dim=8,prior_components=3"


def train(out, model=MODEL):
    args = ["--device", "cpu", "--precision", "fp32", "train", model, "--data",
            "shapes:count=256", "-b", "16", "--steps", "30", "--sample-every", "0", "-o", str(out)]  # fmt: skip
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    return out / "weights.safetensors"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, one_thread):
    """A tiny VAE trained for 30 real steps with the default gmm prior."""
    return train(tmp_path_factory.mktemp("prior") / "run")


def sample_digests(ckpt, out, *seeds):
    args = ["--device", "cpu", "sample", str(ckpt), "--seeds", ",".join(map(str, seeds))]
    result = run_cli([*args, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return [hashlib.sha256((out / f"{s:06d}.png").read_bytes()).hexdigest() for s in seeds]


# -- the mixture ---------------------------------------------------------------------------
def test_fit_gmm_recovers_a_known_mixture():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(700, 2, generator=g) * 0.3 + torch.tensor([3.0, 0.0])
    b = torch.randn(300, 2, generator=g) * 0.5 + torch.tensor([-2.0, 1.0])
    weights, means, chol = fit_gmm(torch.cat([a, b]), 2, seed=1)
    order = means[:, 0].argsort(descending=True)  # component order is arbitrary
    torch.testing.assert_close(weights[order], torch.tensor([0.7, 0.3]).double(), atol=0.01, rtol=0)
    torch.testing.assert_close(
        means[order], torch.tensor([[3.0, 0.0], [-2.0, 1.0]]).double(), atol=0.08, rtol=0
    )
    stds = (chol @ chol.transpose(1, 2)).diagonal(dim1=1, dim2=2).sqrt()[order]
    expected = torch.tensor([[0.3, 0.3], [0.5, 0.5]]).double()
    torch.testing.assert_close(stds, expected, atol=0.05, rtol=0)
    again = fit_gmm(torch.cat([a, b]), 2, seed=1)
    assert all(torch.equal(x, y) for x, y in zip((weights, means, chol), again, strict=True))


def test_one_component_is_the_full_covariance_gaussian():
    z = torch.randn(500, 3, generator=torch.Generator().manual_seed(2)) @ torch.tensor(
        [[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]]
    )
    weights, means, chol = fit_gmm(z, 1)
    cov = torch.cov(z.double().T, correction=0)
    torch.testing.assert_close(means[0], z.double().mean(0))
    torch.testing.assert_close(chol[0] @ chol[0].T, cov, atol=1e-3, rtol=0)
    assert weights.tolist() == [1.0]


def test_sample_gmm_follows_the_weights_and_the_generator():
    weights = torch.tensor([0.25, 0.75])
    means = torch.tensor([[-10.0], [10.0]])
    chol = torch.ones(2, 1, 1)
    z = sample_gmm(weights, means, chol, 4000, make_generator(0))
    assert abs((z > 0).float().mean().item() - 0.75) < 0.03
    assert torch.equal(z, sample_gmm(weights, means, chol, 4000, make_generator(0)))
    cold = sample_gmm(weights, means, chol, 4000, make_generator(0), temperature=0.0)
    assert set(cold.flatten().tolist()) == {-10.0, 10.0}


# -- a trained VAE ----------------------------------------------------------------------------
def test_train_fits_the_prior_into_the_checkpoint(ckpt):
    tensors, _ = load_tensors(ckpt)
    assert bool(tensors["prior_fitted"])
    assert tensors["prior_means"].shape == (3, 8) and tensors["prior_chol"].shape == (3, 8, 8)
    assert tensors["prior_weights"].sum().item() == pytest.approx(1.0)
    model = load_model(ckpt)
    assert model.config.prior == "gmm" and model.config.prior_components == 3
    # latents come from the mixture: around its means, not N(0, I)
    z = model.latents_for_seeds(list(range(200)))
    mixture_mean = model.prior_weights @ model.prior_means
    assert (z.mean(0) - mixture_mean).abs().max() < 0.5 * z.std(0).max()
    assert torch.equal(z[5:6], model.latents_for_seeds([5]))  # per seed, not per batch


def test_sampling_is_deterministic_per_seed_and_across_reloads(ckpt, tmp_path):
    first = sample_digests(ckpt, tmp_path / "a", 3, 9)
    assert first == sample_digests(ckpt, tmp_path / "b", 9, 3)[::-1]
    assert first[0] != first[1]


def test_normal_prior_and_unfitted_checkpoints_sample_n01(ckpt, tmp_path):
    fitted = load_model(ckpt)
    unfitted = load_model(ckpt)
    unfitted.prior_fitted.fill_(False)  # a run stopped before the fit
    old = save_model(unfitted, tmp_path / "old.safetensors")
    normal = build_model("vae", {**fitted.config_dict(), "prior": "normal"})
    state = {k: v for k, v in fitted.state_dict().items() if not k.startswith("prior_")}
    normal.load_state_dict(state, strict=False)
    assert normal.prior_means.shape == (0, 8)
    seeds = [3, 9]
    n01 = torch.cat([torch.randn(1, 8, generator=make_generator(s)) for s in seeds])
    assert torch.equal(load_model(old).latents_for_seeds(seeds), n01)
    assert torch.equal(normal.latents_for_seeds(seeds), n01)
    assert not torch.equal(fitted.latents_for_seeds(seeds), n01)
    gmm_images = sample_digests(ckpt, tmp_path / "g", *seeds)
    assert sample_digests(old, tmp_path / "n", *seeds) != gmm_images


def test_a_checkpoint_from_before_the_prior_loads_and_samples_n01(ckpt, tmp_path):
    """No ``prior_*`` tensors and no ``prior`` in its config: it loads, samples N(0, I)."""
    import json

    from artkit.checkpoint import save_tensors

    tensors, metadata = load_tensors(ckpt)
    config = json.loads(metadata["artkit.config"])
    config.pop("prior"), config.pop("prior_components")
    old = tmp_path / "before.safetensors"
    kept = {k: v for k, v in tensors.items() if not k.startswith("prior_")}
    save_tensors(old, kept, {**metadata, "artkit.config": json.dumps(config)})
    model = load_model(old)
    n01 = torch.cat([torch.randn(1, 8, generator=make_generator(s)) for s in (3, 9)])
    assert torch.equal(model.latents_for_seeds([3, 9]), n01)
    result = run_cli(
        ["--device", "cpu", "sample", str(old), "--seeds", "3", "-o", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.stderr


def test_prior_options_are_checked():
    with pytest.raises(UsageError, match=r"^vae: prior='uniform' is not"):
        build_model("vae", {"prior": "uniform"})
    with pytest.raises(UsageError, match=r"^vae: prior_components=0 is not allowed"):
        build_model("vae", {"prior_components": 0})
    with pytest.raises(UsageError, match=r"^vae: prior_copy_test=3 is not allowed; use true or"):
        build_model("vae", {"prior_copy_test": 3})

    # the covariances (K x z_dim^2 numbers) are checked before anything is allocated
    with pytest.raises(UsageError, match=r"^vae: a gmm prior of 10 components at z_dim 4096 "
                       r"holds 167,772,160 numbers, more than 67,108,864; use at most 4 "
                       r"components, a smaller z_dim or prior=normal$"):  # fmt: skip
        build_model("vae", {"z_dim": 4096, "resolution": 32, "width": 0.125})
    # prior=normal holds no covariances: not even an identity of z_dim^2 is built
    net = build_model("vae", {"z_dim": 4096, "prior": "normal", "resolution": 32, "width": 0.125})
    assert tuple(net.prior_chol.shape) == (0, 4096, 4096)


def test_the_copying_test_halves_a_prior_that_copies_and_keeps_one_that_does_not():
    from artkit_vae.nn_prior_size import COPIES_BELOW, size_by_copying, sizes_to_try

    assert sizes_to_try(256) == [256, 128, 64] and sizes_to_try(2) == [2, 1]
    # codes that are their own images and features: four blobs in 8 dimensions
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 8, generator=g) * 4
    codes = centres[torch.arange(400) % 4] + torch.randn(400, 8, generator=g)
    same = lambda x: x  # noqa: E731 -- decode and embed: the identity
    # one Gaussian per code draws the codes back: it copies, so it is halved, twice,
    # and the last size tried is kept however it scores, with a warning that says so
    with pytest.warns(ArtkitWarning, match=r"^the VAE's prior still copies at 100 Gaussians"):
        size, score = size_by_copying(codes, codes, 400, same, same, seed=0)
    assert size == 100 and score < COPIES_BELOW
    # four Gaussians for four blobs draw new points as the held-out ones are: kept, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        size, score = size_by_copying(codes, codes, 4, same, same, seed=0)
    assert size == 4 and score > COPIES_BELOW
    # too few codes to hold a fifth out: the size stands, untested
    assert size_by_copying(codes[:50], codes[:50], 64, same, same) == (50, None)


def test_a_run_whose_prior_still_copies_says_so_in_one_warning_line(tmp_path, monkeypatch):
    import artkit_vae.nn_prior_size as prior_size

    monkeypatch.setattr(prior_size, "COPIES_BELOW", float("inf"))  # every size "copies"
    monkeypatch.setattr(prior_size, "SAMPLES", 250)  # what is tested here is the message
    run = tmp_path / "run"
    spec = "vae:resolution=32,z_dim=8,width=0.25,prior_components=64,prior_copy_test=true"
    result = run_cli(["--device", "cpu", "train", spec, "--data", "shapes:count=256",
                      "--steps", "3", "--sample-every", "0", "-o", str(run)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    warned = [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: warning:")]
    assert len(warned) == 1 and "the VAE's prior still copies at 16 Gaussians" in warned[0]
    assert "after training: prior components 16, prior copying z" in result.stderr  # kept


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("vae:z_dim=3000", "a gmm prior of 10 components at z_dim 3000"),
        # past MAX_Z_DIM the first layers alone would be gigabytes, in every family
        ("vae:z_dim=65536", "vae: z_dim=65536 is not allowed; use an integer from 1 to 4096"),
        ("dcgan:z_dim=100000", "dcgan: z_dim=100000 is not allowed; use an integer from 1 to 4096"),
        ("fastgan:z_dim=5000", "fastgan: z_dim=5000 is not allowed"),
    ],
)
def test_a_huge_z_dim_is_a_one_line_error_in_the_cli(tmp_path, spec, message):
    result = run_cli(["--device", "cpu", "train", spec, "--data", "shapes:count=64",
                      "--steps", "1", "-o", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert message in one_error_line(result.stderr)
    assert not (tmp_path / "run").exists()
