"""Every hook is documented in README (datasette's rule), with its arguments."""

from __future__ import annotations

import inspect
from pathlib import Path

from artkit import hookspecs

README = Path(__file__).resolve().parent.parent / "README.md"


def hook_specs():
    return [
        (name, fn)
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, "artkit_spec")
    ]


def test_hooks_exist():
    assert {n for n, _ in hook_specs()} >= {
        "register_models",
        "register_losses",
        "register_datasets",
        "register_postprocessors",
        "register_commands",
    }


def test_every_hook_has_a_docstring_and_a_readme_section():
    text = README.read_text()
    for name, fn in hook_specs():
        assert inspect.getdoc(fn), f"{name} has no docstring"
        args = ", ".join(inspect.signature(fn).parameters)
        assert f"### {name}({args})" in text, f"README lacks a '### {name}({args})' section"
