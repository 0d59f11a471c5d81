"""``artkit demo``: the whole pipeline in a few minutes on any machine.

Trains ``dcgan`` on the built-in ``shapes`` dataset for a wall-clock budget,
then writes a sample series, a contact sheet and a latent-walk animation.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Annotated

import typer


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
        """Train a small DCGAN on procedural shapes, then render a series, a contact sheet and a latent walk."""
        from artkit.api.models import weights_file
        from artkit.cli.context import say
        from artkit.cli.sample import interpolate, sample
        from artkit.cli.train import run_training
        from artkit.errors import UsageError

        if minutes <= 0.3:
            raise UsageError("--minutes must be more than 0.3")
        run = out / "run"
        if weights_file(run).exists():
            raise UsageError(f"{out} already holds a demo; remove it or choose another --out")
        # In a few CPU minutes, more steps beat more capacity: a quarter-width DCGAN
        # gets ~4x the steps (measured: 1,389 steps in 90 s) and a short EMA horizon.
        width = "0.25"
        code = run_training(
            f"dcgan:resolution={resolution},width={width}",
            "shapes:count=8192",
            {
                "max_time": minutes - 0.25,
                "batch_size": 64,
                "lr": 2e-4,
                "loss": "hinge",
                "ema_decay": 0.99,
                "sample_every": 0,
                "log_every": 100,
            },
            out=run,
        )
        if code:
            raise typer.Exit(code)
        weights = str(weights_file(run))
        with contextlib.redirect_stdout(io.StringIO()):  # stdout gets only the final paths
            sample(weights, n=64, out=out / "series", grid=out / "contact-sheet.png")
            interpolate(weights, seeds="3,14,15,92,65", frames=100, out=out / "walk.gif")
        say("")
        say(
            f"series:        {out / 'series'}/ (64 images, provenance inside: artkit info {out / 'series' / '000000.png'})"
        )
        say(f"contact sheet: {out / 'contact-sheet.png'}")
        say(f"latent walk:   {out / 'walk.gif'}")
        say(f"weights:       {weights}  (more: artkit sample {weights} -n 100 -o more/)")
        print(out / "contact-sheet.png")
        print(out / "walk.gif")
