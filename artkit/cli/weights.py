"""Placeholder: filled in by its issue's work."""

import typer


def attach(app: typer.Typer) -> None:
    return None
