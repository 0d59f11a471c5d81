"""``artkit demo``: the whole pipeline in a few minutes on any machine.

Trains ``shapegan`` on the built-in ``shapes`` dataset for a wall-clock budget,
then writes a sample series, a contact sheet and a latent-walk animation and scores
fresh samples against the data, all through the Python API (``artkit.train``'s
:func:`~artkit.api.train.run_training`, :class:`artkit.Model`, ``artkit.evaluate``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from artkit.api.model import Model


def attach(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        minutes: Annotated[
            float, typer.Option(help="Total time budget; training gets all but ~15 s.")
        ] = 3.0,
        out: Annotated[
            Path, typer.Option("--out", "-o", help="Where to put the run and the pictures.")
        ] = Path("artkit-demo"),
        resolution: Annotated[int, typer.Option(help="32 or 64 pixels.")] = 32,
    ) -> None:
        """Train a small GAN (shapegan) on procedural shapes, then render a series, a contact sheet and a latent walk."""
        from artkit.api.model import load
        from artkit.api.models import weights_file
        from artkit.cli.context import say, settings
        from artkit.cli.train import run_training
        from artkit.errors import UsageError

        if minutes <= 0.4:
            raise UsageError("--minutes must be more than 0.4")
        run = out / "run"
        if weights_file(run).exists():
            raise UsageError(f"{out} already holds a demo; remove it or choose another --out")
        refuse_foreign_outputs(out)  # before minutes of training, not after
        # the classifier that scores the result trains once per cache (~10-20 s on 2
        # cores) and before the run, so the run gets what is left of the budget
        started = time.monotonic()
        prepare_classifier(say)
        spent = (time.monotonic() - started) / 60
        # shapegan paints with flat shapes, so its samples have the data's crisp
        # squares, triangles and rings where fastgan's, at the same FD, were soft
        # blobs (examples/gallery/README.md); its recipe (artkit_gan.recipes) picks
        # width, batch, rates and --compile for the budget on this machine and prints
        # them in one line; the run's config.json keeps them.
        code = run_training(
            f"shapegan:resolution={resolution}",
            "shapes:count=8192",
            {
                # the rest: series, sheet, walk and the score
                "max_time": max(minutes - 0.4 - spent, 0.1),
                "sample_every": 0,
                "log_every": 100,
            },
            out=run,
        )
        if code:
            raise typer.Exit(code)
        weights = str(weights_file(run))
        glob = settings()
        model = load(weights, device=glob.device, precision=glob.precision)
        render_pictures(model, out)
        say("")
        say(
            f"series:        {out / 'series'}/ (64 images, provenance inside: artkit info {out / 'series' / '000000.png'})"
        )
        say(f"contact sheet: {out / SHEET}")
        say(f"latent walk:   {out / WALK}")
        say(f"weights:       {weights}  (more: artkit sample {weights} -n 100 -o more/)")
        quality = score(model, out / "quality.json")
        classified = quality["classifier"]
        say(
            f"quality:       FD {quality['fd']:.2f}, KID {quality['kid']:.4f}, precision "
            f"{quality['precision']:.2f}, recall {quality['recall']:.2f} (random-conv features, "
            f"{quality['samples']} samples vs {quality['reference']} shapes; lower FD is better)"
        )
        say(
            f"               FD {classified['fd']:.2f}, KID {classified['kid']:.4f}, precision "
            f"{classified['precision']:.2f}, recall {classified['recall']:.2f} (features of a "
            "classifier trained to tell the shapes apart)"
        )
        print(out / SHEET)
        print(out / WALK)


#: samples scored at the end of the demo (a few seconds on a CPU)
SCORE_SAMPLES = 1000
#: the first of their seeds: far from the series' 0-63
SCORE_SEED = 100_000
#: the second feature space: a small CNN trained on which shape each picture shows
CLASSIFIER_DATA = "shapes"
CLASSIFIER = f"classifier:data={CLASSIFIER_DATA}"


def prepare_classifier(say: Callable[[str], None]) -> None:
    """Train (or load from the cache) the ``shapes`` classifier :func:`score` uses."""
    from artkit.eval.classifier import build_classifier

    build_classifier(data=CLASSIFIER_DATA, notice=say)


#: the samples the demo renders as its series (seeds 0 .. SERIES - 1)
SERIES = 64
#: the contact sheet and the latent walk, in ``--out``
SHEET, WALK = "contact-sheet.png", "walk.gif"


def refuse_foreign_outputs(out: Path) -> None:
    """A one-line UsageError when ``out`` holds a file of someone else's where the demo
    writes its series, contact sheet or walk (:func:`artkit.media.refuse_foreign`)."""
    from artkit.api.sample_files import check_targets
    from artkit.media import refuse_foreign

    check_targets(out / "series", range(SERIES), ".png")
    for name in (SHEET, WALK):
        refuse_foreign(out / name, option="--out")


def render_pictures(model: Model, out: Path) -> None:
    """64 samples with their provenance, a contact sheet of them and a 100-frame latent
    walk through five seeds: ``artkit sample`` and ``artkit interpolate``'s work, through
    the Python API."""
    from artkit.animation import write_animation
    from artkit.api.output import save_grid
    from artkit.images import load_image

    series = model.save_samples(range(SERIES), out / "series")
    save_grid([load_image(p) for p in series], out / SHEET)
    keys = [3, 14, 15, 92, 65]
    frames = model.walk(keys, frames=100)
    about = {"seeds": keys, "frames": len(frames), "slerp": True, "loop": True}
    provenance = model.provenance("interpolate", **about, truncation=1.0)
    write_animation(frames, out / WALK, fps=24, loop=True, provenance=provenance)


def score(model: Model, report: Path) -> dict:
    """FD, KID, precision and recall of 1,000 fresh samples against 1,000 ``shapes``.

    In random-conv features (no weights to download) at the top level, and under
    ``"classifier"`` in the features of :data:`CLASSIFIER`, which reacts to wrong or
    missing shapes rather than to colour and blur. Seeds the series does not use;
    the numbers also go to ``report`` (JSON) so runs can be compared.
    """
    import json

    from artkit.api.evaluate import evaluate

    images = model.sample(range(SCORE_SEED, SCORE_SEED + SCORE_SAMPLES))

    def measure(features: str) -> dict:
        return evaluate(
            images, f"shapes:count={SCORE_SAMPLES}", metrics="fd,kid,pr", features=features,
            n=SCORE_SAMPLES, kid_subset_size=500, device=str(model.device),
        )  # fmt: skip

    result = measure("random-conv")
    result["classifier"] = measure(CLASSIFIER)
    report.write_text(json.dumps(result, indent=2) + "\n")
    return result
