"""The VAE family's budget-aware recipe (see :mod:`artkit.train.recipe`).

Measured on 2 CPU cores against ``shapes`` at 32 px (``benchmarks/quality.py --model
vae``, prior samples, random-conv / shapes-classifier FD):

- **The width the budget can train, up to half.** At 3 minutes width 0.25 took 8,013
  steps and reached FD 2.29 / 2.41; width 0.5 took 4,550 steps and reached 2.20 /
  1.59; the default width 1.0 took 1,617 and reached 2.90 / 3.37. At 10 minutes width
  0.5 (12,453 steps) reached 2.35 / 1.86 and width 1.0 (4,767 steps) 3.35 / 2.19: at
  the same number of steps the full width was no better than half, so the ladder
  stops at 0.5 (give ``width=1`` for long runs). The recipe times a few real steps of
  each candidate width on this machine and takes the widest that buys
  :data:`MIN_STEPS` steps, as the GAN recipe does. A second 3-minute run (seed 1,
  on a slower afternoon) kept the order: width 0.5 (3,468 steps) 2.60 / 2.42, width
  1.0 (1,273 steps) 3.12 / 3.40.
- **No learning-rate decay**: a cosine over the same 3 minutes (planned from the
  run's pace) reached 3.28 / 3.22 against 2.90 / 3.37 at the constant rate.
- **Absolute error and a tenth of the KL weight** (``--loss l1``, ``beta=0.1``, for
  ``vae``): squared error with the full KL term is minimised by the average of the
  images a blurred code could mean. With both, 3 minutes reached 1.20 / 1.39 against
  the 2.20 / 1.59 above (seed 0, width 0.5 both, a day apart) and 1.36 / 1.52 against
  2.49 / 2.77 (seed 1, width 0.25 both, the same hour). Each alone did less:
  ``beta=0.1`` with squared error 1.74 / 1.78 (and 0.02: 1.71 / 1.76). The learned
  prior (``prior=gmm``) is fitted to the codes where they lie, so the looser KL did
  not cost the samples here (precision 0.95 against 0.85, recall 0.45 against 0.48).
  With both, z_dim 64 instead of 128 gave 1.46 / 1.40 (width 0.25), 32 0.88 / 1.68
  and 16 1.02 / 2.87: the default stays. The samples are still soft shapes, not the
  data's crisp ones: a patch critic on decoded images (VAE-GAN, weight 0.05 and 0.2
  per pixel value) did not sharpen them in 3 minutes (FD 2.77 with squared error,
  1.07-1.70 with these settings), so it is not here.
- **A prior of many small Gaussians** (``prior_components``, for ``vae``): the
  mixture is fitted after training, so its size was measured by refitting one
  trained run (seed 1 above, width 0.25, 7,359 steps) and sampling again. 10
  components (the model's default) gave 1.34 / 1.68, 64 gave 1.11 / 1.07, 128 0.93 /
  0.93 and 256 0.77 / 0.71; the decoder's own reconstructions of training images are at
  0.17 / 0.15, so the latent density, not the decoder, is what the samples lacked.
  Keeping full covariances matters: the 256 components' covariances cut to rank 32
  gave 0.94 / 0.91, to diagonal ones 1.73 / 2.01. Two new 3-minute runs with the
  recipe (seeds 1 and 0, width 0.25, 8,449 and 8,108 steps) ended at 1.13 / 1.13 and
  0.97 / 0.92; the same weights with 10 components gave 2.19 / 2.29 and 1.67 / 1.90
  (the weights of one seed vary more from run to run than the prior's size does).
  The recipe offers one Gaussian per :data:`CODES_PER_COMPONENT` training images, at
  least the model's 10 and at most :data:`MAX_PRIOR_COMPONENTS`, and the copying test
  below may halve them; the price is checkpoint size (at z_dim 128, 256 full
  covariances are 16.8 MB) and about 3 s of fitting after training. On OpenMoji
  (1,823 images, seed 0, 8,447 steps, random-conv FD) 10, 56, 113 and 227 components
  gave 1.40, 1.06, 0.88 and 0.57: smaller Gaussians keep scoring better, down to the
  codes themselves (the reconstructions above), which copy the training set.
- **16 images per Gaussian is where copying starts**, measured by the data-copying
  test (``artkit eval --held-out shapes:seed=1``, :func:`artkit.eval.metrics.data_copying`):
  is each sample nearer its nearest training image than new shapes are? Seed 0's
  recipe run (8,108 steps) refitted with 16, 64, 128, 256, 512, 1024 and 4096
  components: FD 1.50 / 1.63, 1.27 / 1.24, 1.09 / 0.96, 0.89 / 0.81, 0.64 / 0.50,
  0.46 / 0.39 and 0.16 / 0.08; the copying z-score (C_T; below -3: copies) +0.27 /
  +1.52, -0.48 / +0.19, -1.49 / -0.91, -2.56 / -2.09, -3.80 / -4.47, -6.53 / -7.26
  and -17.9 / -18.8; the share of samples nearer a training image than 99% of new
  shapes are 0.002, 0.008, 0.016, 0.040, 0.093, 0.21 and 0.99 (random-conv). For
  scale, new shapes score FD 0.16 and z +0.24, the training images themselves z
  -18.0: one Gaussian per image scores as well as new data by FD and is a copier.
  Seed 1's run: 256 components -1.94 / -1.46 (share 0.037), 512 -4.20 / -4.23
  (0.095). So FD's gains past one Gaussian per 16 images are bought by drawing
  nearer the training images than new data lies, and a prior no finer than that
  (:data:`UNTESTED_CODES_PER_COMPONENT`) is not tested. OpenMoji tolerates more:
  trained on 1,500 of its emoji (``emoji:count=1500``, 3 minutes, seed 0, the
  recipe's width 0.5, 3,863
  steps) and tested against the other 323, 23, 47, 93 (the recipe's), 187, 375 and
  1,500 components gave FD 1.52, 1.32, 0.96, 0.73, 0.41 and 0.07 and C_T +3.57,
  +3.01, +1.84, +0.44, -1.89 and -9.4: one Gaussian per 4 emoji still does not
  copy. So a finer prior is tested per run (below). ``beta-vae``
  keeps its 10: on one of its 3-minute runs (seed 0, 8,226 steps) 256 components
  moved 4.47 / 4.30 only to 3.41 / 4.20, its heavier KL term's blur being the limit.
- **Tried with that prior and not taken.** A cosine decay (``--lr-schedule cosine``)
  ended at 1.07 / 1.12 (seed 1) and 1.07 / 0.97 (seed 0) against the constant rate's
  1.13 / 1.13 and 0.97 / 0.92. ``z_dim=64`` (a prior a quarter the size) gave 1.05 /
  1.07, 0.77 / 0.60 and 1.20 / 1.04 (seeds 1, 0, 2) against 128's 1.13 / 1.13, 0.97 /
  0.92 and 1.40 / 0.84: better in random-conv features every time, worse in the
  classifier's once, and nearer the training images by the copying test (C_T -2.5
  to -2.7 / -2.9 to -4.2 against -1.9 to -2.7 / -1.3 to -2.0), so the default stays. A prior of local Gaussians (a training
  code's 8, 16 or 32 nearest codes, drawn afresh per sample) scored 2.2-5.1 on
  weights where 256 components scored 1.28 / 1.25.
- **Two cheap ways to size the prior per run, measured and not taken.** On two
  3-minute recipe runs (seed 0: ``shapes``, 6,019 steps, 4,096 codes; ``emoji:count=1500``,
  5,445 steps) each mixture was fitted to 80% of the training codes and tested on the
  other 20%. The held-out log-likelihood of the codes is best at the fewest Gaussians
  (shapes: -172 nats at 10, -190 at 64, -232 at 256, -250 at 512): in 128 dimensions a
  full covariance over a few dozen codes fits those codes, not the space between them,
  so likelihood would always choose the model's 10. The data-copying test run on the
  codes themselves (no decoding) crosses -3 near 13 codes per Gaussian on shapes (+1.0
  at 51, -2.1 at 16, -3.1 at 12.8, -5.3 at 8), close to the image test above; but on
  emoji it scores 8 codes per Gaussian -2.4 and 4 codes -5.7, where the image test
  found 4 clean (-1.89). Nearness in code space is not nearness in the decoded
  pictures, so the code test cannot find OpenMoji's extra room; the image test on a
  held-out split is still the measure that would.
- **The size tested per run** (``prior_copy_test``, :mod:`artkit_vae.nn_prior_size`):
  the copying test against a held-out fifth of the training images, which the VAE saw
  and the mixture does not, agrees with the test on unseen images. On the same two
  runs each mixture was fitted to 80% of the training codes, 2,000 samples decoded,
  and the copying test run in
  random-conv features against the other 20% of the training images (seen by the VAE,
  not by the mixture); beside it, the mixture fitted to all codes against unseen
  images (the other 323 emoji; 1,000 new shapes). Emoji, 16, 8, 4 and 2 codes per
  Gaussian: split C_T +1.08, -0.10, -1.90, -4.69, unseen +1.25, -0.22, -2.20, -5.36.
  Shapes, 32, 16, 8 and 4: split -1.40, -1.98, -3.60, -5.26, unseen -1.53, -2.01,
  -3.21, -5.60. Taking the most Gaussians whose split C_T stays above -3 picks 16
  images per Gaussian on shapes and 4 on emoji (FD 0.240 against 0.572 at 16, before
  the 256 cap). Through this recipe (3 minutes, seed 0, random-conv): on
  ``emoji:count=1500`` 256 Gaussians kept (split C_T -1.52; against the 323 unseen
  emoji -1.08, copy share 0.006), FD 0.398, precision 0.86, recall 0.72 against
  session 28's 93 Gaussians at 0.555 / 0.80 / 0.57; on all 1,823 emoji 256 kept (C_T
  -0.20), FD 0.390, precision 0.85, recall 0.72. The test took 11 s after training on
  2 cores (199 s for the run against 188); on ``shapes`` (4,096 images, 256 = one per
  16) it took 19 s and could only have halved a prior that had never copied, so the
  recipe does not run it there.
"""

from __future__ import annotations

from typing import Any

from artkit.train.recipe import Machine, Recipe, time_training_step, widest_in_budget
from artkit_vae.configs import VAEConfig

#: the fewest steps a budget must buy at the chosen width
MIN_STEPS = 4000
WIDTHS = (0.25, 0.5)
BATCH = 64
#: the KL weight and reconstruction loss ``vae`` trains with under a recipe (see above)
BETA = 0.1
LOSS = "l1"
#: training images per Gaussian of the fitted prior before the data-copying test, which
#: halves the Gaussians (at most twice) while the samples copy (see above)
CODES_PER_COMPONENT = 4
#: one Gaussian per this many images copied on neither dataset: a prior no finer than
#: that is not tested (the test costs 10-20 s after training on 2 cores)
UNTESTED_CODES_PER_COMPONENT = 16
MAX_PRIOR_COMPONENTS = 256
#: the model's own default, the fewest the recipe chooses
MIN_PRIOR_COMPONENTS: int = VAEConfig.prior_components
#: the most numbers the recipe lets the prior's covariances hold: 256 at z_dim 128 (16.8 MB)
PRIOR_NUMBERS = MAX_PRIOR_COMPONENTS * 128 * 128


def prior_components(images: int, z_dim: int = 128, per: int = CODES_PER_COMPONENT) -> int:
    """How many Gaussians the ``vae`` recipe offers ``images`` training codes of ``z_dim``
    numbers: one per ``per`` of them, within :data:`PRIOR_NUMBERS`, never fewer than the
    model's default (the copying test may then halve them)."""
    from artkit_vae.torch_model import PRIOR_FIT_IMAGES

    codes = min(images, PRIOR_FIT_IMAGES)
    most = min(MAX_PRIOR_COMPONENTS, PRIOR_NUMBERS // (z_dim * z_dim))
    return max(MIN_PRIOR_COMPONENTS, min(most, codes // per))


def steps_per_second(model: str, model_options: dict[str, Any], machine: Machine) -> float:
    """Time the model's own training steps (:func:`~artkit.train.recipe.time_training_step`)
    at ``BATCH``: encode, draw, decode, squared error + KL, Adam."""
    import torch

    from artkit.checkpoint import build_model
    from artkit.train.options import TrainOptions

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_model(model, model_options)
    options = TrainOptions(batch_size=BATCH, lr=net.default_lr)
    return time_training_step(net, options, machine, batch_size=BATCH)


def vae_recipe(
    *,
    model: str,
    model_options: dict[str, Any],
    given: frozenset[str],
    minutes: float,
    images: int,
    machine: Machine,
    widths: tuple[float, ...] = WIDTHS,
) -> Recipe:
    """The width a ``minutes`` budget trains best on this machine (unless the user gave
    one); for ``vae``, absolute error, a lighter KL weight and a prior sized to the
    dataset, tested for copying after training (each unless given)."""
    why = f"{minutes:.3g} min, {images:,} images, {machine}"
    chosen: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if model == "vae":  # beta-vae's weight is its point; both measured on vae only
        if "beta" not in given:
            chosen["beta"] = BETA
        if "loss" not in given:
            options["loss"] = LOSS
        if "prior_components" not in given:
            from artkit.plugins import get_registry

            bound = get_registry("models").get(model).bind(model_options)  # typed, defaults in
            if bound["prior"] == "gmm":  # N(0, I) has no components to size
                k = chosen["prior_components"] = prior_components(images, bound["z_dim"])
                safe = prior_components(images, bound["z_dim"], UNTESTED_CODES_PER_COMPONENT)
                if "prior_copy_test" not in given and k > safe:
                    chosen["prior_copy_test"] = True
    if "width" in given:
        return Recipe(model_options=chosen, options=options, why=why)
    width, speed = widest_in_budget(
        widths,
        lambda w: steps_per_second(model, {**model_options, "width": w}, machine),
        minutes * 60,
        MIN_STEPS,
    )
    why += f", {speed:.1f} steps/s measured at width {width:g}"
    return Recipe(
        model_options={"width": width, **chosen},
        options=options,
        why=why,
        estimated_steps=max(1, int(speed * minutes * 60)),
    )
