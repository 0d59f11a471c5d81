"""A recipe's steps are a guess at what ``--max-time`` buys; the run fits them to its own speed.

``StepPlan`` is pure (times are passed in), so its arithmetic is tested exactly; the
trainer is then run for real with a plan far too short and one far too long, and
both must end with the budget used and the learning rate decayed.
"""

from __future__ import annotations

import json

import pytest

from artkit.train.budget import FIT_AT, WARM_STEPS, StepPlan

pytestmark = pytest.mark.usefixtures("one_thread")


def drive(plan: StepPlan, seconds_per_step: float) -> list[tuple[int, int]]:
    """Steps at a steady pace until the plan is reached: the (step, new plan) fits made."""
    fits, step = [], 0
    while step < plan.planned:
        step += 1
        new = plan.after_step(step, plan.t0 + step * seconds_per_step)
        if new is not None:
            fits.append((step, new))
    return fits


# binary fractions throughout, so the expected plans are exact
def test_a_low_guess_grows_to_fill_the_budget():
    plan = StepPlan(100, budget=64.0, t0=1024.0)  # guessed 100 steps; the pace buys 512
    # the first fit at 5% of the budget (step 26, 3.25 s); the later ones agree with it
    assert drive(plan, 0.125) == [(26, 512)]


def test_a_high_guess_shrinks_so_the_decay_ends_inside_the_budget():
    assert drive(StepPlan(100_000, budget=64.0, t0=0.0), 0.25) == [(13, 256)]


def test_a_plan_that_runs_out_before_the_first_fit_is_extended_at_once():
    # 5 steps take 0.625 s; the first fit by the clock would be at 3.2 s
    assert drive(StepPlan(5, budget=64.0, t0=0.0), 0.125) == [(5, 512)]


def test_the_warm_up_steps_do_not_count_in_the_speed():
    plan = StepPlan(1000, budget=100.0, t0=0.0)
    # slow first steps (allocation, kernel choice), then 2 steps a second
    times = [3.0, 3.5, 4.0] + [4.0 + k * 0.5 for k in range(1, 10)]
    fits = [(s, p) for s, t in enumerate(times, 1) if (p := plan.after_step(s, t)) is not None]
    # at 5 s (step 5): 5 + 2/s x 95 s; the average since the start (1/s) would plan 100
    assert fits == [(5, 195)]
    assert WARM_STEPS == 3 and FIT_AT[0] == 0.05


def test_the_trainer_fits_a_wrong_guess_and_resume_finishes_the_written_plan(tmp_path):
    from artkit.api.train import train

    common = dict(device="cpu", precision="fp32", batch_size=8, loss="hinge", log_every=1,
                  sample_every=0, checkpoint_every=10_000, lr_schedule="cosine", fit_steps=True,
                  recipe=False)  # fmt: skip
    budget = 0.03  # minutes
    for guess in (4, 1_000_000):
        out = tmp_path / f"guess-{guess}"
        run = train("mlp-gan:resolution=8,hidden=16", "shapes:count=32", max_time=budget,
                    steps=guess, out=out, **common)  # fmt: skip
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        planned = json.loads((out / "config.json").read_text())["options"]["steps"]
        assert planned != guess  # refitted, and written where --resume reads it
        assert run.step > 4 and run.step >= 0.9 * planned
        assert run.seconds >= 0.75 * budget * 60  # the budget was used ...
        assert rows[-1]["lr"] < 2e-4 * 0.1  # ... and the decay reached (nearly) zero
        assert rows[-1]["planned_steps"] == planned
    # --resume does not fit again: it finishes the plan config.json holds
    more = train(resume=out, max_time=budget, device="cpu", precision="fp32")
    assert more.step == planned
    assert json.loads((out / "config.json").read_text())["options"]["steps"] == planned


def test_without_fit_steps_the_steps_are_the_users(tmp_path):
    from artkit.api.train import train

    run = train("mlp-gan:resolution=8,hidden=16", "shapes:count=32", max_time=0.02, steps=6,
                out=tmp_path / "run", device="cpu", precision="fp32", batch_size=8,
                sample_every=0, lr_schedule="cosine", recipe=False)  # fmt: skip
    assert (run.step, run.reason) == (6, "done")


def test_an_epoch_limit_is_not_fitted_away(tmp_path):
    from artkit.api.train import train

    run = train("mlp-gan:resolution=8,hidden=16", "shapes:count=32", max_time=0.02, steps=4,
                epochs=2, fit_steps=True, out=tmp_path / "run", device="cpu", precision="fp32",
                batch_size=8, sample_every=0, lr_schedule="cosine", recipe=False)  # fmt: skip
    assert (run.step, run.reason) == (4, "done")  # min(steps, 2 epochs of 4 batches)


def test_without_a_guess_the_first_fit_by_the_clock_makes_the_plan():
    plan = StepPlan(None, budget=64.0, t0=0.0)
    fits, step = [], 0
    while plan.planned is None or step < plan.planned:
        step += 1
        if (new := plan.after_step(step, step * 0.125)) is not None:
            fits.append((step, new))
    # nothing to run out of before then: the first plan is the 5% fit (3.2 s, step 26)
    assert fits == [(26, 512)]


def test_a_decay_with_only_max_time_plans_its_length_from_the_run(tmp_path):
    from artkit.api.train import train

    out = tmp_path / "run"
    budget = 0.03  # minutes
    run = train("mlp-gan:resolution=8,hidden=16", "shapes:count=32", max_time=budget, out=out,
                device="cpu", precision="fp32", batch_size=8, loss="hinge", log_every=1,
                sample_every=0, checkpoint_every=10_000, lr_schedule="cosine",
                recipe=False)  # fmt: skip
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    planned = json.loads((out / "config.json").read_text())["options"]["steps"]
    # before the first plan the rate holds at its start; then it decays over the plan
    unplanned = [r for r in rows if r["planned_steps"] is None]
    assert unplanned and all(r["lr"] == 2e-4 for r in unplanned)
    assert rows[-1]["planned_steps"] == planned and run.step >= 0.9 * planned > 4
    assert run.seconds >= 0.75 * budget * 60
    assert rows[-1]["lr"] < 2e-4 * 0.1
    more = train(resume=out, max_time=budget, device="cpu", precision="fp32")
    assert more.step == planned  # --resume finishes the written plan
