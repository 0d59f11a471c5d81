"""Budget-aware recipes: ``--max-time`` alone picks width, batch, rates and augmentation.

The GAN recipe times real steps of each candidate width on this machine and takes the
widest that still buys ``MIN_STEPS`` steps; what the user gives is never changed.
"""

from __future__ import annotations

import json

import pytest

from artkit.testing import run_cli
from artkit.train.recipe import Machine

pytestmark = pytest.mark.usefixtures("one_thread")

CPU = Machine("cpu", 1)


def recipe(**kw):
    from artkit_gan.recipes import gan_recipe

    args = dict(model="dcgan", model_options={"resolution": 32}, given=frozenset(),
                minutes=3.0, images=8192, machine=CPU, widths=(0.125, 0.25))  # fmt: skip
    return gan_recipe(**{**args, **kw})


def test_the_budget_picks_the_width():
    from artkit_gan.recipes import MIN_STEPS

    short = recipe(minutes=0.01)  # a few steps at any width: the narrowest is the best bet
    assert short.model_options == {"width": 0.125}
    assert short.estimated_steps is not None and short.estimated_steps < MIN_STEPS
    long = recipe(minutes=10_000)  # every width gets its steps: the widest
    assert long.model_options == {"width": 0.25}
    assert long.estimated_steps > MIN_STEPS
    assert "steps/s measured at width 0.25" in long.line()
    assert long.options["fit_steps"] is True  # a guess: the run fits it to its own speed
    # the rate decays to zero over the steps the budget buys
    assert long.options["steps"] == long.estimated_steps
    assert long.options["lr_schedule"] == "cosine"
    assert f"steps {long.estimated_steps}, lr-schedule cosine" in long.line()


def test_what_the_user_gives_is_kept():
    given = recipe(given=frozenset({"width", "lr", "batch_size", "augment"}))
    assert given.model_options == {}  # the user's width, timed for the decay's length
    assert {"lr", "lr_d", "batch_size", "augment"}.isdisjoint(given.options)
    assert given.options == {"betas": (0.0, 0.99), "loss": "hinge", "lr_schedule": "cosine",
                             "steps": given.estimated_steps, "fit_steps": True}  # fmt: skip
    # the user's steps: the decay spans them, nothing is timed
    steps = recipe(given=frozenset({"width", "steps"}))
    assert steps.estimated_steps is None and "steps" not in steps.options
    assert steps.options["lr_schedule"] == "cosine"
    # the user's schedule: kept, and the run's length is the user's too
    schedule = recipe(given=frozenset({"width", "lr_schedule"}))
    assert {"steps", "lr_schedule"}.isdisjoint(schedule.options)


def test_small_datasets_get_diffaugment():
    assert recipe(images=100, given=frozenset({"width"})).options["augment"] == (
        "color,translation,cutout"
    )
    assert recipe(images=190, given=frozenset({"width"})).options["augment"] == ""
    assert recipe(images=1_900, given=frozenset({"width"})).options["augment"] == ""
    assert recipe(images=50_000, given=frozenset({"width"})).options["augment"] == ""


def test_a_class_conditioned_model_gets_mode_seeking():
    from artkit_gan.recipes import MODE_SEEKING

    fast = {"model": "fastgan", "given": frozenset({"width"})}
    plain = recipe(**fast, model_options={"resolution": 32, "width": 0.125})
    assert "mode_seeking" not in plain.options
    classes = {"resolution": 32, "width": 0.125, "classes": 3}
    conditioned = recipe(**fast, model_options=classes)
    assert conditioned.options["mode_seeking"] == MODE_SEEKING > 0
    assert f"mode-seeking {MODE_SEEKING:g}" in conditioned.line()
    mine = recipe(
        model="fastgan", model_options=classes, given=frozenset({"width", "mode_seeking"})
    )
    assert "mode_seeking" not in mine.options  # the user's weight, 0 included, stays


def test_train_prints_and_stores_the_recipe(tmp_path):
    run = tmp_path / "run"
    result = run_cli(["--device", "cpu", "train", "dcgan:resolution=32", "--data",
                      "shapes:count=128", "--max-time", "0.02", "--batch-size", "16",
                      "--sample-every", "0", "-o", str(run)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("recipe ("))
    assert "128 images, cpu" in line and "augment color,translation,cutout" in line
    config = json.loads((run / "config.json").read_text())
    assert config["model_config"]["width"] == config["recipe"]["model_options"]["width"]
    assert config["options"]["batch_size"] == 16  # given: kept
    assert config["options"]["loss"] == "hinge" and config["options"]["lr_d"] == 4e-4
    assert config["options"]["augment"] == "color,translation,cutout"
    assert config["options"]["lr_schedule"] == "cosine"
    # the timed guess is where the run started; it then fitted the steps to its own speed
    assert config["recipe"]["options"]["steps"] == config["recipe"]["estimated_steps"]
    assert config["options"]["fit_steps"] is True and "refitted" in line
    # resuming continues the same run: nothing is planned again
    resumed = run_cli(["--device", "cpu", "train", "--resume", str(run), "--max-time", "0.02"])
    assert resumed.exit_code == 0, resumed.stderr
    assert "recipe (" not in resumed.stderr
    again = json.loads((run / "config.json").read_text())
    assert again["model_config"] == config["model_config"]


def test_no_recipe_keeps_the_plain_defaults(tmp_path):
    run = tmp_path / "run"
    result = run_cli(["--device", "cpu", "train", "dcgan:resolution=32,width=0.125", "--data",
                      "shapes:count=64", "--max-time", "0.01", "--no-recipe",
                      "--sample-every", "0", "-o", str(run)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    config = json.loads((run / "config.json").read_text())
    assert "recipe" not in config and "recipe (" not in result.stderr
    assert config["options"]["loss"] == "bce" and config["options"]["betas"] == [0.5, 0.999]


def test_fastgan_takes_its_own_rates_and_dcgan_keeps_its():
    from artkit_gan.recipes import dcgan_recipe, fastgan_recipe

    # a budget too short for the wider discriminator (below), which brings its own rates
    args = dict(model_options={"resolution": 32}, given=frozenset({"width"}), minutes=0.05,
                images=8192, machine=CPU)  # fmt: skip
    fast = fastgan_recipe(model="fastgan", **args).options
    assert (fast["lr"], fast["lr_d"]) == (1e-3, 2e-3)
    classic = dcgan_recipe(model="dcgan", **args).options
    assert (classic["lr"], classic["lr_d"]) == (2e-4, 4e-4)
    mine = fastgan_recipe(model="fastgan", **{**args, "given": frozenset({"width", "lr"})})
    assert "lr" not in mine.options and "lr_d" not in mine.options  # the user's rate for both
    # conditioned on classes (measured on glyphs) it learns faster still
    labelled = fastgan_recipe(model="fastgan", **{**args, "model_options": {"resolution": 32,
                              "classes": 3}}).options  # fmt: skip
    assert (labelled["lr"], labelled["lr_d"]) == (2e-3, 4e-3)


def test_fastgan_takes_wider_networks_and_their_rates_when_the_budget_buys_the_steps(
    monkeypatch,
):
    import artkit_gan.recipes as recipes

    timed = []
    # steps/s by (width, d_width), in the proportions measured on 2 cores
    speeds = {(0.1875, 1.0): 12.0, (0.1875, 2.0): 9.0, (0.25, 1.5): 8.0}

    def steps_per_second(model, model_options, machine, *, compile=False):
        # the timing itself is tested above; here: what is timed and what is chosen
        width, d_width = model_options["width"], model_options.get("d_width", 1.0)
        timed.append((width, d_width))
        return speeds.get((width, d_width), 12.0 * 0.1875 / width / d_width)

    monkeypatch.setattr(recipes, "steps_per_second", steps_per_second)
    args = dict(model="fastgan", model_options={"resolution": 32}, given=frozenset(),
                images=1823, machine=CPU)  # fmt: skip
    long = recipes.fastgan_recipe(minutes=10.0, **args)  # 8 steps/s with both: 4,800 steps
    assert long.model_options == {"width": 0.25, "d_width": 1.5}  # D: 0.375, as D alone
    assert timed[-1] == (0.25, 1.5)  # the first pair that fits: nothing more timed
    assert (long.options["lr"], long.options["lr_d"]) == recipes.WIDE_D_RATES
    assert long.estimated_steps == long.options["steps"] == 4800  # the wider pair's pace
    assert "12.0 steps/s measured at width 0.1875, 8.0 with width 0.25, d-width 1.5" in long.line()
    # 9 minutes: 4,320 steps with both is too few; D alone buys 4,860
    timed.clear()
    shorter = recipes.fastgan_recipe(minutes=9.0, **args)
    assert shorter.model_options == {"width": 0.1875, "d_width": recipes.WIDE_D}
    # the pair falls short, so it is timed a second time, then D alone
    assert timed[-3:] == [(0.25, 1.5), (0.25, 1.5), (0.1875, recipes.WIDE_D)]
    assert (shorter.options["lr"], shorter.options["lr_d"]) == recipes.WIDE_D_RATES
    assert shorter.estimated_steps == 9 * 540
    assert "12.0 steps/s measured at width 0.1875, 9.0 with d-width 2" in shorter.line()
    short = recipes.fastgan_recipe(minutes=3.0, **args)  # 1,620 steps with D alone: too few
    assert short.model_options == {"width": 0.1875}
    assert (short.options["lr"], short.options["lr_d"]) == (1e-3, 2e-3)
    assert short.estimated_steps == 12 * 180
    # what the user gives stands: their width (D alone is widened), their d_width (nothing
    # more timed), their rate
    mine = {"model_options": {"resolution": 32, "width": 0.1875}, "given": frozenset({"width"})}
    width = recipes.fastgan_recipe(minutes=10.0, **{**args, **mine})
    assert width.model_options == {"d_width": recipes.WIDE_D}
    timed.clear()
    given = {"model_options": {"resolution": 32, "d_width": 1.5}, "given": frozenset({"d_width"})}
    mine = recipes.fastgan_recipe(minutes=10.0, **{**args, **given})
    assert "d_width" not in mine.model_options and all(d == 1.5 for _, d in timed)
    assert (mine.options["lr"], mine.options["lr_d"]) == (1e-3, 2e-3)
    rate = recipes.fastgan_recipe(minutes=10.0, **{**args, "given": frozenset({"lr"})})
    assert rate.model_options["d_width"] == 1.5
    assert "lr" not in rate.options and "lr_d" not in rate.options
    # a class-conditioned fastgan never takes the wider D (it drew fewer styles with one),
    # and wants more steps: at 10 minutes a narrower G and D (18 steps/s: 10,800 steps,
    # the most it can buy), the usual width only where that buys 11,000
    labelled = {**args, "model_options": {"resolution": 32, "classes": 3}}
    timed.clear()
    ten = recipes.fastgan_recipe(minutes=10.0, **labelled)
    assert ten.model_options == {"width": 0.125} and timed == [(0.125, 1.0)]
    assert ten.estimated_steps == 10 * 60 * 18
    assert recipes.CONDITIONED_MIN_STEPS == 11_000
    timed.clear()
    thirty = recipes.fastgan_recipe(minutes=30.0, **labelled)  # 0.1875: 21,600; 0.375: 10,800
    assert thirty.model_options == {"width": 0.1875} and all(d == 1.0 for _, d in timed)
    assert timed == [(0.125, 1.0), (0.1875, 1.0), (0.375, 1.0), (0.375, 1.0)]
    # a width whose doubled D would pass fastgan's ceiling is not tried
    timed.clear()
    given = {"model_options": {"resolution": 32, "width": 10.0}, "given": frozenset({"width"})}
    wide = recipes.fastgan_recipe(minutes=10.0, **{**args, **given})
    assert "d_width" not in wide.model_options and timed == [(10.0, 1.0)]


def test_shapegan_compiles_where_it_can_and_times_compiled_steps(monkeypatch):
    import artkit_gan.recipes as recipes

    timed = []

    def steps_per_second(model, model_options, machine, *, compile=False):
        timed.append(compile)  # the timing itself is tested above; here: what is timed
        return 100.0

    monkeypatch.setattr(recipes, "steps_per_second", steps_per_second)
    args = dict(model="shapegan", model_options={"resolution": 32}, given=frozenset({"width"}),
                images=8192, machine=CPU)  # fmt: skip
    monkeypatch.setattr(recipes, "can_compile", lambda machine: True)
    long = recipes.shapegan_recipe(minutes=3.0, **args)
    assert long.options["compile"] is True and timed == [True]
    assert "compile on, batch-size 64" in long.line()
    assert (long.options["lr"], long.options["lr_d"]) == (5e-4, 1e-3)
    short = recipes.shapegan_recipe(minutes=0.5, **args)  # compiling would eat the budget
    assert "compile" not in short.options and timed[-1] is False
    mine = recipes.shapegan_recipe(
        minutes=3.0, **{**args, "given": frozenset({"width", "compile"})}
    )
    assert "compile" not in mine.options  # the user's --compile / --no-compile stands
    monkeypatch.setattr(recipes, "can_compile", lambda machine: False)  # no C++ compiler
    assert "compile" not in recipes.shapegan_recipe(minutes=3.0, **args).options
    # dcgan and fastgan gain nothing from it: never turned on for them
    assert (
        "compile"
        not in recipes.fastgan_recipe(**{**args, "model": "fastgan", "minutes": 3.0}).options
    )


def test_can_compile_needs_a_cpp_compiler_on_a_cpu(monkeypatch):
    from artkit_gan.recipes import can_compile

    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CXX", raising=False)
    assert not can_compile(CPU)
    assert can_compile(Machine("cuda", 1))


def test_the_widest_width_that_buys_the_steps_and_no_more_timing_than_needed():
    from artkit.train.recipe import widest_in_budget

    speeds = {0.25: 40.0, 0.5: 20.0, 1.0: 5.0}  # steps/s, as a probe would time them
    timed: list[float] = []

    def probe(width: float) -> float:
        timed.append(width)
        return speeds[width]

    assert widest_in_budget((0.25, 0.5, 1.0), probe, 100, 1000) == (0.5, 20.0)
    assert timed == [0.25, 0.5, 1.0, 1.0]  # 1.0 timed, found short, timed again, not taken
    timed.clear()
    assert widest_in_budget((0.25, 0.5, 1.0), probe, 10, 1000) == (0.25, 40.0)
    assert timed == [0.25]  # even the narrowest falls short: it is the best bet, nothing more timed
    assert widest_in_budget((0.25, 0.5, 1.0), probe, 1000, 1000) == (1.0, 5.0)


def test_a_timing_that_falls_short_gets_a_second_look_and_the_faster_counts():
    from artkit.train.recipe import buys_steps

    def probe(*speeds: float):
        timings = iter(speeds)
        return lambda: next(timings)  # a third timing would raise StopIteration

    assert buys_steps(probe(9.0), 600, 4500) == (True, 9.0)  # fits: timed once
    # a slow first timing (another process took the cores for a moment) is not the verdict
    assert buys_steps(probe(7.0, 9.0), 600, 4500) == (True, 9.0)
    assert buys_steps(probe(7.0, 6.0), 600, 4500) == (False, 7.0)  # short twice: refused


def test_the_vae_recipe_times_real_steps_for_its_width():
    from artkit_vae.recipes import MIN_STEPS, vae_recipe

    args = dict(model="vae", model_options={"resolution": 32, "z_dim": 8}, given=frozenset(),
                images=8192, machine=CPU, widths=(0.125, 0.25))  # fmt: skip
    short = vae_recipe(**args, minutes=0.01)
    # 8,192 images: one Gaussian of the prior per 4 of them, at most 256; one per 32 is
    # coarser than one per 16, which copied on no dataset: not tested
    untested = {"prior_components": 256}
    assert short.model_options == {"width": 0.125, "beta": 0.1, **untested}
    assert short.estimated_steps is not None and short.estimated_steps < MIN_STEPS
    long = vae_recipe(**args, minutes=10_000)
    assert long.model_options == {"width": 0.25, "beta": 0.1, **untested}
    assert long.estimated_steps > MIN_STEPS
    assert "steps/s measured at width 0.25" in long.line()
    # absolute error, and a constant rate: the decay did not pay (see artkit_vae.recipes)
    assert long.options == {"loss": "l1"}
    mine = vae_recipe(**{**args, "given": frozenset({"width"})}, minutes=10_000)
    assert mine.model_options == {"beta": 0.1, **untested}
    assert mine.estimated_steps is None  # nothing timed
    few = vae_recipe(**{**args, "given": frozenset({"width"}), "images": 1000}, minutes=1)
    assert few.model_options["prior_components"] == 250  # 1,000 // 4: finer than 1 per 16
    assert few.model_options["prior_copy_test"] is True
    edge = vae_recipe(**{**args, "given": frozenset({"width"}), "images": 4096}, minutes=1)
    assert edge.model_options["prior_components"] == 256  # one per 16: not tested
    assert "prior_copy_test" not in edge.model_options
    tiny = vae_recipe(**{**args, "given": frozenset({"width"}), "images": 40}, minutes=1)
    assert tiny.model_options["prior_components"] == 10  # never fewer than the model's default
    wide = {**args, "model_options": {**args["model_options"], "z_dim": 512}}
    big_codes = vae_recipe(**{**wide, "given": frozenset({"width", "z_dim"})}, minutes=1)
    assert big_codes.model_options["prior_components"] == 16  # 256 x 128^2 numbers at most
    normal = {**args, "model_options": {**args["model_options"], "prior": "normal"}}
    no_mixture = vae_recipe(**{**normal, "given": frozenset({"width", "prior"})}, minutes=1)
    assert no_mixture.model_options == {"beta": 0.1}  # N(0, I) has no components to size
    given = frozenset({"width", "beta", "loss", "prior_components"})
    untouched = vae_recipe(**{**args, "given": given}, minutes=10_000)
    assert (untouched.model_options, untouched.options) == ({}, {})
    no_test = {"given": frozenset({"width", "prior_copy_test"}), "images": 1000}
    assert "prior_copy_test" not in vae_recipe(**{**args, **no_test}, minutes=1).model_options
    beta_vae = vae_recipe(**{**args, "model": "beta-vae", "given": frozenset({"width"})}, minutes=1)
    assert (beta_vae.model_options, beta_vae.options) == ({}, {})  # its KL weight is its point


def test_time_training_step_runs_the_models_own_step_and_keeps_the_random_state():
    import torch

    from artkit.checkpoint import build_model
    from artkit.train.options import TrainOptions
    from artkit.train.recipe import time_training_step

    net = build_model("vae", {"resolution": 32, "width": 0.125, "z_dim": 8})
    own, calls = net.training_step, []

    def counting(x, step, ctx):
        calls.append((tuple(x.shape), ctx.channels_last, float(x.min()), float(x.max())))
        return own(x, step, ctx)

    net.training_step = counting
    before, weight = torch.get_rng_state(), net.G.net[0].weight.detach().clone()
    speed = time_training_step(net, TrainOptions(lr=1e-3), CPU, batch_size=4)
    assert speed > 0 and len(calls) >= 3  # a warm-up, then at least two timed
    shape, channels_last, low, high = calls[0]
    assert shape == (4, 3, 32, 32) and channels_last is False and -1 <= low < high <= 1
    assert not torch.equal(net.G.net[0].weight, weight)  # real steps: Adam moved the decoder
    assert torch.equal(torch.get_rng_state(), before)  # the run's seeded streams are untouched


def test_train_vae_with_only_a_budget_takes_the_recipes_width(tmp_path):
    import artkit

    run = tmp_path / "run"
    result = run_cli(["--device", "cpu", "train", "vae:resolution=32,z_dim=8", "--data",
                      "shapes:count=256", "--max-time", "0.02", "--sample-every", "0",
                      "-o", str(run)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("recipe ("))
    assert "width 0.25" in line  # 1.2 s buys no width its steps: the narrowest
    config = json.loads((run / "config.json").read_text())
    assert config["model_config"]["width"] == 0.25 == config["recipe"]["model_options"]["width"]
    assert config["model_config"]["beta"] == 0.1 and config["options"]["loss"] == "l1"
    model_config = config["model_config"]
    assert model_config["prior_components"] == 64 and model_config["prior_copy_test"]  # 256 // 4
    # the copying test kept 64, 32 or 16 of them; the last line of metrics.jsonl says which
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["prior_components"] in (64, 32, 16) and "prior_copying_z" in last
    assert f"after training: prior components {last['prior_components']}, prior" in result.stderr
    # a prior kept though its samples still copy is one warning line, only then
    still_copies = "artkit: warning: the VAE's prior still copies at" in result.stderr
    assert still_copies == (last["prior_copying_z"] < -3)
    net = artkit.load(str(run)).net  # the prior was fitted with that many
    assert bool(net.prior_fitted) and int((net.prior_weights > 0).sum()) == last["prior_components"]
