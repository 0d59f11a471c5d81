"""``artkit weights``: pretrained feature-extractor weights in artkit's cache.

- ``artkit weights import vgg19 vgg19-dcbb9e9d.pth`` converts a torchvision
  checkpoint to ``$ARTKIT_CACHE_DIR/weights/vgg19.safetensors`` (default
  ``~/.cache/artkit``). The ``.pth`` is read with ``torch.load(weights_only=True)``,
  which refuses pickles that hold anything but tensors; only the convolutional
  ``features`` are kept (80 MB instead of 548 MB for VGG19) and their shapes checked.
- ``artkit weights list`` shows, for each known extractor, where weights are looked
  for (artkit's cache, then the torch hub cache) and what is there. No torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from artkit.errors import UsageError

weights_app = typer.Typer(
    name="weights",
    help="Pretrained weights for feature extractors (VGG): import a torchvision .pth, list the cache.",
    no_args_is_help=True,
)


def attach(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")


@weights_app.command("import")
def import_weights(
    name: Annotated[str, typer.Argument(help="Extractor: vgg19, vgg16 or inception (FID).")],
    file: Annotated[Path, typer.Argument(help="A torchvision checkpoint (.pth) or .safetensors.")],
) -> None:
    """Convert a torchvision VGG or FID Inception checkpoint to safetensors in artkit's cache; prints its path."""
    from artkit.cli.context import say
    from artkit_style.extractors import PRETRAINED

    if name == "inception":  # the FID Inception-v3 of pytorch-fid (artkit.eval)
        from artkit.eval.inception import import_fid_weights

        target, standard = import_fid_weights(file)
        say(
            f"inception: {file} "
            + ("is the standard FID file (SHA-256 verified)" if standard else
               "is NOT the published FID file (SHA-256 differs): distances will not be called FID")
        )  # fmt: skip
        print(target, flush=True)
        return
    if name not in PRETRAINED:
        raise UsageError(
            f"unknown pretrained extractor {name!r}; use {' or '.join(PRETRAINED)} or inception"
        )
    from artkit_style.nn_extractors import (
        import_torchvision_checkpoint,
        load_vgg_weights,
        save_cached_weights,
    )

    if file.suffix.lower() == ".safetensors":
        state = load_vgg_weights(file, name)
    else:
        state = import_torchvision_checkpoint(file, name)
    target = save_cached_weights(name, state, source=str(file))
    count = sum(t.numel() for t in state.values())
    say(f"{name}: {len(state)} tensors, {count:,} parameters from {file}")
    print(target, flush=True)


@weights_app.command("list")
def list_weights(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Where extractor weights are looked for, in order, and which are present."""
    from artkit.cli.context import out_console, say
    from artkit.eval.weight_paths import list_fid_weights
    from artkit_style.extractors import list_cached, offline

    rows = list_cached() + list_fid_weights()
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
    if not any(row["present"] for row in rows if row["name"] != "inception"):
        note = (
            "no VGG weights: `artkit stylize` uses random-multiscale features. "
            "Get them with `artkit weights import vgg19 vgg19-dcbb9e9d.pth`"
        )
        if not offline():
            note += " (or let torchvision download them on first use)"
        say(note)
