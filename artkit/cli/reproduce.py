"""``artkit reproduce IMAGE...``: render images again from their provenance and compare.

Prints ``PATH: identical`` or ``PATH: different (largest pixel difference N/255, P% of
pixels)`` per image (``--json``: one object each). Exit 0 when every image is
reproduced within ``--tolerance``; 1 when one differs, carries no provenance, or
its checkpoint (or content image) cannot be found.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from artkit.cli.options import JsonRecords


def attach(app: typer.Typer) -> None:
    app.command("reproduce")(reproduce)


def reproduce(
    images: Annotated[
        list[str] | None,
        typer.Argument(
            help="Images (or a plugin medium's files, such as MIDI) made by artkit "
            "(default: paths on stdin)."
        ),
    ] = None,
    search: Annotated[
        list[Path] | None,
        typer.Option(
            "--search", "-s", help="Folder to look for the checkpoint in, by sha256 (repeatable)."
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Use this checkpoint (its sha256 must match).")
    ] = None,
    tolerance: Annotated[
        int, typer.Option(help="Largest pixel difference (0-255) still counted as reproduced.")
    ] = 0,
    as_json: JsonRecords = False,
) -> None:
    """Re-render images from their embedded provenance; report identical or the pixel difference."""
    from artkit.cli.context import settings, warn
    from artkit.device import resolve_device
    from artkit.errors import ArtkitError, UsageError
    from artkit.records import read_records
    from artkit.render.reproduce import CheckpointFinder
    from artkit.render.reproduce import reproduce as reproduce_one

    if not 0 <= tolerance <= 255:
        raise UsageError("--tolerance must be between 0 and 255")
    glob = settings()
    device = resolve_device(glob.device)
    precision = None if glob.precision == "auto" else glob.precision
    finder = CheckpointFinder(search or [], checkpoint)
    failures = 0
    for record in read_records(images or []):
        try:
            result = reproduce_one(record.path, finder, device=device, precision=precision)
        except UsageError:
            raise
        except ArtkitError as exc:
            failures += 1
            if as_json:
                print(json.dumps({"path": record.path, "status": "error", "error": str(exc)}))
            print(f"artkit: error: {exc}", file=sys.stderr, flush=True)
            continue
        ok = result.max_difference <= tolerance
        failures += not ok
        if as_json:
            print(json.dumps(result.as_dict()), flush=True)
        elif result.identical:
            print(f"{result.path}: identical", flush=True)
        elif result.medium:
            print(
                f"{result.path}: different ({result.differing_units} differing units of the "
                f"{result.medium} file, largest difference {result.max_difference})",
                flush=True,
            )
        else:
            share = 100 * result.differing_fraction
            print(
                f"{result.path}: different (largest pixel difference "
                f"{result.max_difference}/255, {share:.2f}% of pixels)",
                flush=True,
            )
        if result.note:
            warn(f"{result.path}: {result.note}")
    if failures:
        raise typer.Exit(1)
