"""Command-line options that many commands share, written once.

Typer reads an option from the ``Annotated`` type of a parameter, so a shared option
is a shared type: ``fmt: ImageFormat = "png"``. Plugins' commands use them too, so
that ``--json``, ``-0`` and ``--format`` mean the same everywhere.
"""

from __future__ import annotations

from typing import Annotated

import typer

# the still-image formats commands write, and the check of a ``--format`` value
from artkit.api.output import FORMATS as FORMATS
from artkit.api.output import image_format as image_format

#: ``--format png|webp|jpg`` (check the value with :func:`image_format`)
ImageFormat = Annotated[str, typer.Option("--format", help="png | webp | jpg")]
#: ``--json``: one JSON object per written file instead of its path
JsonRecords = Annotated[bool, typer.Option("--json", help="Print one JSON object per image.")]
#: ``--json`` for listings: one JSON object per line
JsonLines = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
#: ``--json`` for reports: one JSON object
JsonObject = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
#: ``-0``: NUL-separated paths, for ``xargs -0``
NullSeparated = Annotated[bool, typer.Option("-0", "--null", help="NUL-separated paths.")]
