"""The GAN family's budget-aware recipe (see :mod:`artkit.train.recipe`).

Measured on 2 CPU cores against ``shapes`` (``benchmarks/quality.py``, random-conv FD):

- **More steps beat more capacity** in a few CPU minutes. At 3 minutes a quarter-width
  DCGAN (about 2,600 steps) reached FD 2.0 where width 0.5 (about 800 steps) reached
  7.3. At 10 minutes on 1,900 photo crops (``samples:crops=100``, fastgan, no
  augmentation) width 0.1875 (9,848 steps) reached FD 0.24, 0.375 (6,047 steps) 0.31
  and 0.75 (2,188 steps) 0.80. So the recipe takes the widest network that still gets
  :data:`MIN_STEPS` steps in the budget, timing a few real steps of each candidate
  width on this machine. A rung between (0.25) did not pay on 10-minute glyphs:
  random-conv FD 0.063, 0.081 and 0.118 in three runs (precision 0.97, recall 0.70:
  fewer styles), where 0.1875 reached 0.067-0.072 in five.
- **Adam betas (0, 0.99), hinge loss, the discriminator at twice G's rate** (TTUR,
  lr 2e-4 / 4e-4) halved the demo's FD against the textbook (0.5, 0.999), BCE, one rate.
- **Batch 64**: batch 32 gave FD 4.2 against 2.0 at the same budget.
- **fastgan learns at 1e-3 / 2e-3**, five times DCGAN's rates: after the same 800
  steps on ``shapes`` (32 px, width 0.1875, batch 64) FD 4.11 -> 1.72, precision
  0.74 -> 0.90, recall 0.34 -> 0.49, and the samples are single bold forms on plain
  grounds instead of speckled noise. Its BatchNorm generator and spectral-norm,
  reconstructing discriminator stay stable there (without the decoder the same rates
  gave FD 2.44). ``dcgan`` keeps 2e-4 / 4e-4, which is what it was measured with.
- **A cosine decay of the learning rate over the budget**: the steps the budget buys
  (timed as above) become the run's ``--steps`` and the rate falls to zero over them.
  At a constant rate the samples' FD swings from one thousand steps to the next (raw
  G at 7,500-10,500 steps of a 10-minute photo-crop run: 0.20-0.75) and where the
  budget ends decides the score: 0.31 and 0.40 in two runs of the same recipe. With
  the decay the same 10 minutes reached 0.15. The timing is only a first guess (the
  same 10-minute glyph recipe planned 7,191 to 8,756 steps, and a low guess ended
  runs up to 84 s early): the run fits its plan to its own speed as it goes
  (``fit_steps``, :mod:`artkit.train.budget`).
- **DiffAugment** (translation, cutout, colour; Zhao et al. 2020) only for the
  smallest datasets, below :data:`AUGMENT_BELOW` images. On 1,900 photo crops it
  doubled the 10-minute FD (0.63 against 0.31 without, same width). On 190 crops
  (``samples:crops=10``, fastgan) at 3 minutes, seeds 0-2, it doubled FD too (0.78-1.00,
  median 0.96, against 0.43-0.53, median 0.49) and lowered precision (0.72-0.75
  against 0.83), recall (0.43-0.57 against 0.59-0.64) and coverage (0.63-0.68 against
  0.81-0.84); at 10 minutes (seed 0) FD was level (0.44 both) and precision, recall
  and coverage again lower with it (0.75 / 0.57 / 0.80 against 0.85 / 0.69 / 0.85).
  What it guards against, a discriminator that memorises and a generator that
  copies, did not happen without it: the data-copying test against new crops of the
  same photos (``--held-out samples:crops=10,seed=1``) gave C_T +4.1 to +5.1 (well
  above -3; +5.6 to +5.7 with it). An earlier single 3-minute run at 190 crops had
  gone the other way on FD (1.21 without, 1.04 with). Below 190 images, not
  measured, it stays on, as the DiffAugment paper's 100-image results suggest.
- **Mode seeking (MSGAN, weight 0.15) for a class-conditioned model**: conditioned on
  the glyphs' characters, fastgan drew each character in fewer styles than the data
  has (mean L1 distance between two samples of one character 0.094-0.103, the data's
  0.130) and recall stayed at 0.56-0.62 (random-conv) in five 10-minute runs. With the
  term two runs reached 0.114-0.116 and recall 0.74, random-conv FD 0.070-0.080 against
  0.091-0.134, the samples as clean; the thinnest font (ExtraLight) stays rare. At
  weight 0.3 and 1 the pictures turned to speckle (FD 0.83, 1.2): pixel distance pays
  for noise, so the window is narrow. (The same distance on 4x4-pooled pictures, at
  weight 0.2, left ghost strokes and blotches: FD 0.150.) 0.15 against 0.1, three seeds
  of each on one day: median recall 0.73 / 0.73 against 0.70 / 0.70 (random-conv /
  the glyph classifier), FD 0.068 / 0.82 against 0.065 / 0.84, precision 0.92 / 0.82
  against 0.95 / 0.85; the dropped faces came back a little (ExtraLight 0.37-0.55 of
  its glyphs reached, against 0.34-0.39). One run at 0.2 turned to blotches (FD 0.189):
  0.15 sits nearer that edge than 0.1 did; four of four runs at it were clean.
- **A class-conditioned fastgan wants more steps: a narrower rung and 11,000 steps**
  (:data:`CONDITIONED_FASTGAN_WIDTHS` from 0.125, :data:`CONDITIONED_MIN_STEPS`). On
  10-minute glyphs width 0.1875 bought 7,600-8,900 steps (10,021 at most) and drew too
  few of the hairline and bold serif fonts: over eight runs classifier recall 0.725
  against the textbook's 0.740, random-conv FD 0.065 against 0.134. Width 0.125 (G
  has 8 channels at 32 px) bought 11,984-12,728 steps; five runs (seeds 4-7 and 0,
  session 38) gave random-conv FD 0.059-0.066 (median 0.062) and classifier recall
  0.73-0.76 (median 0.742), against 0.061 and 0.72 for the wider networks on seed 4
  the same day; precision fell (classifier 0.73-0.78 against 0.85), still far above
  the textbook's 0.03. More steps buy styles here, as they buy FD elsewhere. 11,000 is
  above the most steps width 0.1875 ever bought in 10 minutes on this machine, so
  there 0.125 is taken; a faster machine or a longer budget takes the wider networks
  again (20 minutes here buys about 16,000 steps at 0.1875).
- **A class-conditioned fastgan takes twice the rates, 2e-3 / 4e-3**: 10-minute glyph
  runs at about 10,000 steps reached random-conv FD 0.090 at 5e-4, 0.071 at 1e-3 and
  0.067 at 2e-3 (seed 1: 0.070), precision and recall level (0.93-0.94 / 0.73-0.74).
  The gain is near the seed-to-seed spread; the trend across the three rates is why
  it is taken. Measured on glyphs only, so unconditioned fastgan keeps 1e-3.
- **A discriminator twice as wide, at twice the rates, once the budget buys the steps**
  (``d_width=2``, 2e-3 / 4e-3, for an unconditioned fastgan when a step timed with it
  still buys :data:`WIDE_D_FROM_STEPS` steps). At width 0.1875 D has 24, 48 and 96
  channels and its hinge loss stayed above 1.0 (of 2) in every 10-minute emoji run: it
  hardly told 1,823 drawings from fakes. With the wider D a step costs about a third
  more (9.7 against 12.7 steps/s alone). On 10-minute emoji (about 5,400-6,300 steps
  instead of 7,500-8,800) four runs (seeds 0-2 with the options, seed 3 through this
  recipe) gave median FD 0.201 and precision 0.76 against the old recipe's 0.226 and
  0.69 (three runs), the worst run 0.242 against 0.362; each change alone mended the bad
  seed but not the median. On 10-minute photo crops (``samples:crops=100``, seed 0, same
  day) FD 0.151 against 0.186 (5,337 steps against 7,633; precision 0.47 against 0.44,
  recall 0.77 against 0.79); on 10-minute ``shapes`` (seed 0) level: random-conv /
  classifier FD 0.351 / 0.477 against 0.321 / 0.470 on 4,457 steps against 7,214,
  precision 0.87 against 0.85. Where steps are scarce it hurt: 3-minute emoji (1,991
  steps) FD 0.551 against 0.440, and 5-minute emoji (seed 0, 2,578 steps against 3,794)
  FD 0.373 against 0.325, though precision 0.73 against 0.69 and recall 0.64 against
  0.58. The threshold sits between the 2,600 steps that lost on FD and the 4,500 that
  did not. The wider D's hinge loss (its reconstruction term aside) ends a 10-minute
  emoji run at 0.64-0.68, the narrow one's at 1.12-1.15; DiffAugment on top (seed 0)
  kept it at 1.58 and gave FD 0.324 against 0.242; ``d_width=3`` (seed 0, 3,439 steps)
  gave 0.303, precision 0.79. A wider G with it (``width=0.25,d_width=2``, twice the
  rates) is not taken: on 10-minute emoji seeds 0-3 it gave 0.176, 0.186, 0.225 and
  0.190 (median 0.188 against 0.201; 4,193-4,589 steps, precision 0.79), but on
  ``shapes`` (seed 0, 3,935 steps) classifier FD 1.027 against 0.477 and on the photo
  crops 0.185 against 0.151 (3,933 steps). Rates higher still with the wide D (3e-3 /
  6e-3, emoji seeds 0 and 2, about 5,150 steps) gave 0.208 and 0.216 against 0.242 and
  0.206: no gain. A class-conditioned fastgan keeps
  its D, since on 10-minute glyphs the wider one drew fewer styles (random-conv FD
  0.098 against 0.067, recall 0.56 against 0.74).
- **G a third wider with the wide D, D's channels kept**, where the pair still buys
  :data:`WIDE_G_FROM_STEPS` steps (``width=0.25,d_width=1.5`` from 0.1875: D at
  0.375 as with ``d_width=2`` alone), else D alone as above. A step costs about a
  fifth more than with the wide D alone (7.9 against 9.6 steps/s, medians of three
  timings), where widening D with G (``d_width=2`` kept, 7.0) cost over a third more.
  On 10-minute emoji (seeds 0-3, 5,113-5,509 steps) FD 0.169, 0.205, 0.199 and 0.191,
  median 0.195 against the wide D's 0.201, precision 0.775 against 0.76; on ``shapes``
  random-conv / classifier FD 0.291 / 0.441 against 0.351 / 0.477 (seed 0, 4,970
  steps) and 0.285 / 0.565 against 0.332 / 0.379 (seed 1, same day): random-conv
  better, the classifier mixed; on the photo crops level (0.151 both, 5,371 steps).
  Width 0.25 with ``d_width=2`` had lost where it got about 3,900 steps (``shapes``
  classifier FD 1.027, crops 0.185), so the threshold sits above that, under the
  4,970-5,509 steps measured here (where the one loss, ``shapes`` seed 1's classifier
  FD, came at 5,307).
"""

from __future__ import annotations

from typing import Any

from artkit.config_checks import image_size
from artkit.train.recipe import (
    Machine,
    Recipe,
    buys_steps,
    options_text,
    probe_settings,
    time_steps,
    widest_in_budget,
)

#: the fewest steps a budget must buy at the chosen width
MIN_STEPS = 6000
#: ... for a class-conditioned fastgan, which also gets a narrower rung (see above)
CONDITIONED_MIN_STEPS = 11_000
#: the widths a class-conditioned fastgan's recipe chooses from, narrowest first
CONDITIONED_FASTGAN_WIDTHS = (0.125, 0.1875, 0.375, 0.75)
#: datasets smaller than this get DiffAugment (it hurt at 190 images and at 1,900; see above)
AUGMENT_BELOW = 190
AUGMENT_POLICY = "color,translation,cutout"
BATCH = 64
#: the learning rate falls to zero over the run (the steps the budget buys, measured)
DECAY = "cosine"
#: shortest budget that turns on --compile for a model that gains from it: compiling
#: shapegan's painter takes about 20 s on 2 cores the first time, 5 s from the cache
COMPILE_FROM_MINUTES = 1.0
#: --mode-seeking for a class-conditioned model (``classes`` > 0)
MODE_SEEKING = 0.15
#: G's and D's rates for a class-conditioned fastgan (measured on glyphs, see above)
CONDITIONED_FASTGAN_RATES = (2e-3, 4e-3)
#: an unconditioned fastgan's discriminator relative to its generator (``d_width``) once
#: the budget buys :data:`WIDE_D_FROM_STEPS` steps with it, and G's and D's rates with it
WIDE_D = 2.0
WIDE_D_FROM_STEPS = 4000
WIDE_D_RATES = (2e-3, 4e-3)
#: with the wide D, G this much wider too (D keeping the wide D's channels, so
#: ``d_width`` = :data:`WIDE_D` / :data:`WIDE_G`) where the budget buys
#: :data:`WIDE_G_FROM_STEPS` steps with both; the rates stay :data:`WIDE_D_RATES`
WIDE_G = 4 / 3
WIDE_G_FROM_STEPS = 4500


def conditioned(model_options: dict[str, Any]) -> bool:
    """Does the model learn the data's classes (``classes`` > 0)?"""
    return int(model_options.get("classes") or 0) > 0


def can_compile(machine: Machine) -> bool:
    """Whether ``torch.compile`` can build kernels here: a C++ compiler on a CPU, CUDA otherwise."""
    import os
    import shutil

    if machine.device.startswith("cuda"):
        return True
    if machine.device != "cpu":
        return False
    wanted = os.environ.get("CXX", "").split()
    return any(shutil.which(c) for c in [*wanted[:1], "g++", "c++", "clang++"])


def steps_per_second(
    model: str, model_options: dict[str, Any], machine: Machine, *, compile: bool = False
) -> float:
    """Time real GAN steps (D on real and fake, then G through D, Adam) at ``BATCH``.

    The probe is the plain GAN step: fastgan's D does not decode the real half here.
    That gap is smaller than the probe's own wander: five 10-minute emoji runs with the
    pair given (session 35) were timed at 7.2-9.1 steps/s and then ran 8.8-9.3 (within
    one process a step took a steady 104 or 130 ms, from one process to the next: the
    machine's pace, not the probe's warm-up). The run fits its steps to its own speed
    (``fit_steps``), and a reading that falls short of a threshold is taken twice
    (:func:`artkit.train.recipe.buys_steps`), so the probe stays as it is.

    ``compile``: as ``--compile`` will; the warm-up step pays the compilation, the
    timed ones do not (and the compiler's on-disk cache makes the run's own
    compilation of the same graph quick).
    """
    import torch

    from artkit.checkpoint import build_model
    from artkit.nn.gan_losses import HingeLoss
    from artkit.nn.optim import adam

    device, precision, fmt = probe_settings(machine)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_model(model, model_options).to(device, memory_format=fmt).train()
    if compile and not net.compile_for_training():
        net.G, net.D = torch.compile(net.G), torch.compile(net.D)
    G, D, loss = net.G, net.D, HingeLoss()
    opt_g = adam(G.parameters(), lr=2e-4, betas=(0.0, 0.99))  # as the trainer builds them
    opt_d = adam(D.parameters(), lr=4e-4, betas=(0.0, 0.99))
    c, r = net.config.channels, net.config.resolution
    real = torch.rand(BATCH, c, *image_size(r), device=device) * 2 - 1
    real = real.contiguous(memory_format=fmt)
    classes = net.num_classes  # a class-conditioned D judges each image as its class
    labels = torch.arange(BATCH, device=device) % classes if classes else None

    def step() -> None:
        z = torch.randn(BATCH, net.z_dim, device=device)
        with torch.no_grad(), precision.autocast(device):
            fake = G(z)
        with precision.autocast(device):
            d_loss = loss.d_loss(net.judge(D, real, labels), net.judge(D, fake, labels))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with precision.autocast(device):
            g_loss = loss.g_loss(net.judge(D, G(z), labels), None)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    return time_steps(step, device)


def gan_recipe(
    *,
    model: str,
    model_options: dict[str, Any],
    given: frozenset[str],
    minutes: float,
    images: int,
    machine: Machine,
    widths: tuple[float, ...] = (0.25, 0.5, 1.0),
    rates: tuple[float, float] = (2e-4, 4e-4),
    compiles: bool = False,
    wide_d: bool = False,
    min_steps: int = MIN_STEPS,
) -> Recipe:
    """Width, batch, learning rates, betas, loss and augmentation for a ``minutes`` budget.

    ``compiles``: the model gains from ``--compile`` (:meth:`compile_for_training`),
    so the recipe turns it on where the machine can compile and times compiled steps.
    ``wide_d``: the model has ``d_width``; the recipe takes :data:`WIDE_D` and
    :data:`WIDE_D_RATES` where the budget buys :data:`WIDE_D_FROM_STEPS` steps with it.
    ``min_steps``: the fewest steps the chosen width must buy (:data:`MIN_STEPS`).
    """
    options: dict[str, Any] = {}
    long_enough = minutes >= COMPILE_FROM_MINUTES
    if compiles and "compile" not in given and long_enough and can_compile(machine):
        options["compile"] = True
    compiled = bool(options.get("compile"))
    defaults = {
        "batch_size": BATCH,
        "lr": rates[0],
        "lr_d": rates[1],
        "betas": (0.0, 0.99),
        "loss": "hinge",
        "augment": AUGMENT_POLICY if images < AUGMENT_BELOW else "",
    }
    if conditioned(model_options):
        defaults["mode_seeking"] = MODE_SEEKING
    for name, value in defaults.items():
        if name not in given:
            options[name] = value
    if "lr" in given and "lr_d" not in given:
        options.pop("lr_d", None)  # the user's rate for both networks, as without a recipe
    why = f"{minutes:.3g} min, {images:,} images, {machine}"
    chosen: dict[str, Any] = {}
    seconds = minutes * 60
    speed: float | None = None
    if "width" not in given:
        width, speed = widest_in_budget(
            widths,
            lambda w: steps_per_second(
                model, {**model_options, "width": w}, machine, compile=compiled
            ),
            seconds,
            min_steps,
        )
        chosen["width"] = width
        why += f", {speed:.1f} steps/s measured at width {width:g}"
    elif not given & {"steps", "epochs", "lr_schedule"}:
        # the user's width: timed only to know how many steps the decay spans
        speed = steps_per_second(model, model_options, machine, compile=compiled)
        why += f", {speed:.1f} steps/s measured"
    if wide_d and "d_width" not in given:
        widened = _wider_networks(
            model, {**model_options, **chosen}, machine, compiled, seconds, "width" in chosen
        )
        if widened:
            change, wide = widened
            chosen.update(change)
            speed = wide if speed else None  # the user's steps stay the user's
            why += f", {wide:.1f} with {options_text(change)}"
            if "lr" not in given:
                options["lr"] = WIDE_D_RATES[0]
                if "lr_d" not in given:
                    options["lr_d"] = WIDE_D_RATES[1]
    estimate = max(1, int(speed * seconds)) if speed else None
    if "lr_schedule" not in given:
        if "steps" not in given and "epochs" not in given and estimate:
            options["steps"] = estimate
            options["fit_steps"] = True  # a guess: the run fits it to its own speed
        if "steps" in options or given & {"steps", "epochs"}:
            options["lr_schedule"] = DECAY
    return Recipe(model_options=chosen, options=options, why=why, estimated_steps=estimate)


def _wider_networks(
    model: str,
    model_options: dict[str, Any],
    machine: Machine,
    compiled: bool,
    seconds: float,
    widen_g: bool,
) -> tuple[dict[str, float], float] | None:
    """``(options, steps/s)`` of the first wider pair the budget buys its steps with: G
    :data:`WIDE_G` wider and D at :data:`WIDE_D` times the chosen width (``widen_g``: the
    recipe chose G's width), else D alone :data:`WIDE_D` wider; None where neither buys
    them or the config refuses them (fastgan's ceiling on D's width, ``width x d_width
    <= 16``). Stops timing at the first that fits; one that falls short is timed
    twice (:func:`artkit.train.recipe.buys_steps`)."""
    from artkit.errors import UsageError
    from artkit.plugins import get_registry

    tries: list[tuple[dict[str, float], int]] = []
    if widen_g:
        g = round(model_options["width"] * WIDE_G, 6)
        tries.append(({"width": g, "d_width": round(WIDE_D / WIDE_G, 6)}, WIDE_G_FROM_STEPS))
    tries.append(({"d_width": WIDE_D}, WIDE_D_FROM_STEPS))
    for change, fewest in tries:
        wide = {**model_options, **change}
        try:  # the config's own checks, so the ceiling lives in one place
            get_registry("models").get(model).bind(wide)
        except UsageError:
            continue
        fits, speed = buys_steps(
            lambda w=wide: steps_per_second(model, w, machine, compile=compiled), seconds, fewest
        )
        if fits:
            return change, speed
    return None


def dcgan_recipe(**kwargs: Any) -> Recipe:
    return gan_recipe(**kwargs, widths=(0.25, 0.5, 1.0))


def fastgan_recipe(**kwargs: Any) -> Recipe:
    if conditioned(kwargs["model_options"]):
        # more steps of narrower networks, and never the wider D: each cost a
        # class-conditioned fastgan its styles (glyphs, see above)
        return gan_recipe(
            **kwargs,
            widths=CONDITIONED_FASTGAN_WIDTHS,
            rates=CONDITIONED_FASTGAN_RATES,
            min_steps=CONDITIONED_MIN_STEPS,
        )
    return gan_recipe(**kwargs, widths=(0.1875, 0.375, 0.75), rates=(1e-3, 2e-3), wide_d=True)


def shapegan_recipe(**kwargs: Any) -> Recipe:
    return gan_recipe(**kwargs, widths=(0.1875, 0.375, 0.75), rates=(5e-4, 1e-3), compiles=True)
