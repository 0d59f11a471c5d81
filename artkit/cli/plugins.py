"""``artkit plugins``: what is installed, what each plugin registered, what is broken."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def attach(app: typer.Typer) -> None:
    plugins_app = typer.Typer(help="Show installed plugins and what they provide.")

    @plugins_app.callback(invoke_without_command=True)
    def plugins(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """List plugins: name, version, hooks implemented, names registered, load errors."""
        if ctx.invoked_subcommand is not None:
            return
        from artkit.plugins import get_host

        infos = get_host().plugin_infos()
        if as_json:
            for info in infos:
                print(json.dumps(info.as_dict()))
            return
        from rich.table import Table

        from artkit.cli.context import out_console

        table = Table(box=None, pad_edge=False)
        for col in ("plugin", "version", "source", "status", "hooks", "registered"):
            table.add_column(col)
        for info in infos:
            registered = "; ".join(f"{k}: {', '.join(v)}" for k, v in info.registered.items() if v)
            status = info.status if not info.error else f"{info.status}: {info.error}"
            table.add_row(
                info.name,
                info.version or "-",
                info.source,
                status,
                ", ".join(h.removeprefix("register_") for h in info.hooks) or "-",
                registered or "-",
            )
        out_console().print(table)

    app.add_typer(plugins_app, name="plugins")
