"""``artkit list KIND``: the entries of a registry, with their parameters."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from artkit.cli.options import JsonLines


class Kind(StrEnum):
    models = "models"
    losses = "losses"
    datasets = "datasets"
    post = "post"
    extractors = "extractors"


def _param_text(entry) -> str:
    parts = []
    for p in entry.params:
        default = "required" if p.required else repr(p.default)
        parts.append(f"{p.name}={default}")
    return ", ".join(parts)


def attach(app: typer.Typer) -> None:
    @app.command("list")
    def list_entries(
        kind: Annotated[
            Kind, typer.Argument(help="models | losses | datasets | post | extractors")
        ],
        as_json: JsonLines = False,
    ) -> None:
        """List registered models, losses, datasets, post-processors or feature extractors."""
        from artkit.plugins import get_registry

        registry = get_registry("postprocessors" if kind is Kind.post else kind.value)
        # an entry another plugin's shadows is listed under the name that reaches it
        shadowed = [
            (entry.qualified, entry, f"{entry.plugin} (shadowed by {winner.plugin})")
            for entry, winner in registry.shadowed()
        ]
        rows = [(e.name, e, e.plugin) for e in registry] + sorted(shadowed, key=lambda r: r[0])
        if as_json:
            for name, entry, _ in rows:
                print(json.dumps({**entry.describe(), "name": name}))
            return
        from rich.table import Table

        from artkit.cli.context import err_console, out_console

        if not len(registry):
            err_console().print(f"no {kind.value} registered (see `artkit plugins`)")
            return
        table = Table(box=None, pad_edge=False)
        for col in ("name", "plugin", "description", "parameters"):
            table.add_column(col, overflow="fold")
        for name, entry, plugin in rows:
            table.add_row(name, plugin, entry.description, _param_text(entry))
        out_console().print(table)
