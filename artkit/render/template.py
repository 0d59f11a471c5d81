"""Output-name templates: ``"{series}/{seed:05d}-t{truncation}.png"``.

A template is a relative path with ``str.format`` fields. Fields are plain names --
the sweep's axes, ``series`` and ``index`` -- never attribute or item lookups, so a
spec cannot reach into Python objects. Absolute paths and ``..`` are refused: a
series writes under its output folder and nowhere else.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from artkit.errors import UsageError

IMAGE_SUFFIXES = {".png": "png", ".webp": "webp", ".jpg": "jpg", ".jpeg": "jpg"}
ANIMATION_SUFFIXES = (".gif", ".webp", ".png", ".mp4")


#: the widest field a template may ask for (a file name is at most 255 bytes anyway)
MAX_WIDTH = 64


def template_fields(template: str, *, key: str) -> list[str]:
    """The field names ``template`` uses; a one-line UsageError when it cannot be parsed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"{key}: {template!r} is not a valid template ({exc})") from None
    names = []
    for _literal, field, _spec, conversion in parsed:
        if field is None:
            continue
        if not field or not field.isidentifier():
            what = "an empty {}" if not field else f"{{{field}}}"
            raise UsageError(
                f"{key}: {what} is not allowed; use plain field names like {{seed}} or {{series}}"
            )
        if conversion is not None:
            raise UsageError(f"{key}: conversions like {{{field}!{conversion}}} are not allowed")
        if _spec and ("{" in _spec or any(int(n) > MAX_WIDTH for n in re.findall(r"\d+", _spec))):
            # {seed:>1500000000} would build a 1.5 GB file name
            raise UsageError(
                f"{key}: {{{field}:{_spec[:20]}}}: widths and precisions go up to {MAX_WIDTH}"
            )
        names.append(field)
    return names


def check_template(
    template: str, *, key: str, known: Iterable[str], suffixes: Iterable[str] | None = None
) -> list[str]:
    """Validate a template: plain known fields, a relative path inside the output folder."""
    if not isinstance(template, str) or not template.strip():
        raise UsageError(f'{key}: expected a path template such as "{{series}}/{{seed:05d}}.png"')
    known = sorted(set(known))
    fields = template_fields(template, key=key)
    for field in fields:
        if field not in known:
            import difflib

            close = difflib.get_close_matches(field, known, n=1)
            hint = f"did you mean {{{close[0]}}}? " if close else ""
            raise UsageError(
                f"{key}: unknown field {{{field}}}; {hint}fields: {', '.join(known) or 'none'}"
            )
    literal = "".join(part[0] for part in string.Formatter().parse(template))
    path = PurePosixPath(template.replace("\\", "/"))
    if path.is_absolute() or template.startswith(("/", "\\", "~")) or ":" in literal:
        raise UsageError(f"{key}: {template!r} must be a relative path inside the output folder")
    if ".." in path.parts:
        raise UsageError(f"{key}: {template!r} must not contain '..'")
    if suffixes is not None:
        suffixes = tuple(suffixes)
        if not template.lower().endswith(suffixes):
            raise UsageError(f"{key}: {template!r} must end with one of {', '.join(suffixes)}")
    return fields


def fill(template: str, values: Mapping[str, Any], *, key: str) -> str:
    """``template`` formatted with ``values``, checked again: no absolute path, no ``..``."""
    try:
        text = template.format_map(dict(values))
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"{key}: cannot fill {template!r}: {exc}") from None
    path = PurePosixPath(text.replace("\\", "/"))
    # values come from the spec too: a checkpoint label must not smuggle in a path
    if path.is_absolute() or ".." in path.parts or not path.name:
        raise UsageError(f"{key}: {template!r} gives {text!r}, which leaves the output folder")
    return str(path)


def image_format(template: str) -> str:
    """png, webp or jpg from the template's suffix."""
    lower = template.lower()
    for suffix, fmt in IMAGE_SUFFIXES.items():
        if lower.endswith(suffix):
            return fmt
    raise UsageError(f"template {template!r} must end with .png, .webp or .jpg")
