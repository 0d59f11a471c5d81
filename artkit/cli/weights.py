"""``artkit weights``: pretrained weights in artkit's cache, from whichever plugin needs them.

The weight sources are not known here: a plugin declares each one as an optional
asset (``register_assets``) with the extras ``weights=NAME``, ``importer=`` (a
function ``(file) -> (cached path, message)``) and ``sources=`` (a function giving
the places it is looked for, in order; see :func:`artkit.assets.weight_sources`,
the one resolver). Today: ``vgg19``/``vgg16`` from the style plugin and
``inception`` from the eval plugin.

- ``artkit weights import NAME FILE`` converts a ``.pth`` (read with
  ``torch.load(weights_only=True)``, which refuses pickles holding anything but
  tensors) into ``$ARTKIT_CACHE_DIR/weights/NAME.safetensors`` and prints its path.
- ``artkit weights list`` shows where each is looked for and what is there. No torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.cli.options import JsonLines
from artkit.errors import UsageError

weights_app = typer.Typer(
    name="weights",
    help="Pretrained weights (VGG, FID Inception): import a .pth into artkit's cache, list the caches.",
    no_args_is_help=True,
)


def attach(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")


def weight_entries() -> dict[str, Any]:
    """``{weights name: asset entry}`` for every registered asset that is a set of weights."""
    from artkit.plugins import get_registry

    return {str(e.extra["weights"]): e for e in get_registry("assets") if e.extra.get("weights")}


@weights_app.command("import")
def import_weights(
    name: Annotated[str, typer.Argument(help="Which weights: see `artkit weights list`.")],
    file: Annotated[Path, typer.Argument(help="A checkpoint (.pth) or .safetensors.")],
) -> None:
    """Convert pretrained weights (a torchvision VGG or the FID Inception .pth) to safetensors in artkit's cache; prints its path."""
    from artkit.cli.context import say

    entries = weight_entries()
    entry = entries.get(name)
    if entry is None or entry.extra_callable("importer") is None:
        known = " or ".join(sorted(entries)) or "none (no plugin declares any)"
        raise UsageError(f"unknown pretrained weights {name!r}; use {known}")
    target, message = entry.extra_callable("importer")(file)
    say(message)
    print(target, flush=True)


def _rows() -> list[dict[str, Any]]:
    rows = []
    for entry in weight_entries().values():
        sources = entry.extra_callable("sources")
        for row in sources() if sources else []:
            path = Path(row["path"])
            exists = path.is_file()
            rows.append(
                {**row, "present": exists, "bytes": path.stat().st_size if exists else None}
            )
    return rows


@weights_app.command("list")
def list_weights(
    as_json: JsonLines = False,
) -> None:
    """Where pretrained weights are looked for, in order, and which are present."""
    from artkit import assets
    from artkit.cli.context import out_console, say

    rows = _rows()
    if as_json:
        for row in rows:
            print(json.dumps(row), flush=True)
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("name", "source", "present", "size"):
        table.add_column(column, no_wrap=True)
    table.add_column("path", overflow="fold")
    for row in rows:
        size = f"{int(row['bytes']) / 1e6:.0f} MB" if row["bytes"] else "-"
        table.add_row(
            str(row["name"]),
            "artkit cache" if row["source"] == "cache" else "torch hub cache",
            "yes" if row["present"] else "no",
            size,
            str(row["path"]),
        )
    out_console().print(table)
    if assets.hidden():
        say(
            "the torch hub cache and the default artkit cache are hidden by ARTKIT_SYSTEM_ASSETS=none"
        )
    vgg = [row for row in rows if str(row["name"]).startswith("vgg")]
    if vgg and not any(row["present"] for row in vgg):
        note = (
            "no VGG weights: `artkit stylize` uses random-multiscale features. "
            "Get them with `artkit weights import vgg19 vgg19-dcbb9e9d.pth`"
        )
        if not assets.offline():
            note += " (or let torchvision download them on first use)"
        say(note)
