"""``artkit checkpoint upgrade``: rewrite an older checkpoint in the current schema.

Older checkpoints load as they are (through :mod:`artkit.schema`'s migration, with
one warning); upgrading writes a new file so the warning goes away and the file
says what it holds. Never in place: images made with the old file name its sha256,
and ``artkit reproduce`` finds it by that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

checkpoint_app = typer.Typer(
    name="checkpoint",
    help="Checkpoint files: upgrade an older schema to the current one.",
    no_args_is_help=True,
)


def attach(app: typer.Typer) -> None:
    app.add_typer(checkpoint_app, name="checkpoint")


@checkpoint_app.command("upgrade")
def upgrade(
    source: Annotated[Path, typer.Argument(help="A checkpoint (.safetensors) or a run folder.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "-o", "--out", help="The new file (default: NAME.schemaN.safetensors beside it)."
        ),
    ] = None,
) -> None:
    """Write a copy of an older-schema checkpoint in the current schema; prints its path.

    Usage: artkit checkpoint upgrade runs/old/weights.safetensors. The tensors are the
    same numbers; the copy's metadata records the schema, artkit version and sha256 it
    came from (artkit.upgraded_from). A file already current is left alone.
    """
    from artkit.checkpoint import read_header, upgrade_checkpoint, weights_file
    from artkit.cli.context import say
    from artkit.errors import UsageError
    from artkit.schema import SCHEMA, check_readable

    source = weights_file(source)
    header = read_header(source)
    if not header.model:
        raise UsageError(f"{source}: not an artkit model file (no artkit.model metadata)")
    found = check_readable(header.metadata, source)
    if found == SCHEMA:
        say(f"{source}: already schema {SCHEMA}; nothing to do")
        print(source, flush=True)
        return
    target = out or source.with_name(f"{source.stem}.schema{SCHEMA}.safetensors")
    if target.suffix != ".safetensors":
        raise UsageError(f"--out {str(target)!r}: checkpoints are written as .safetensors")
    target, found = upgrade_checkpoint(source, target)
    say(f"upgraded {source} from schema {found} to {SCHEMA}")
    print(target, flush=True)
