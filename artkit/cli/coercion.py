"""Option values without pydantic: typer's coercion, done by hand for plain types.

Typer (0.2x) coerces every option value through a pydantic ``TypeAdapter``, and
importing pydantic costs a command more start-up time than the rest of artkit's CLI
together (about 0.1 s of a 0.25 s budget on a fast core). artkit's options are plain:
``str``, ``int``, ``float``, ``bool``, ``Path``, enums and lists of those. :func:`install`
gives each such parameter a coercion that follows pydantic's lax rules as typer uses
them (the same values, the same error text); anything else (literals, ranges,
custom parsers) keeps typer's own. If typer's internals ever change shape, nothing is
installed and typer works as before; ``tests/test_startup.py`` notices that pydantic
came back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

try:  # typer's private runtime-coercion layer (typer >= 0.2x)
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - another typer: keep its own path
    RuntimeParam = None  # type: ignore[assignment,misc]

PLAIN = (str, int, float, bool, Path)
# pydantic's lax int accepts "12", " 12 ", "1_000", "+5" and "1.0", not "1e3" or "0x10"
_INT = re.compile(r"[+-]?\d+(?:_\d+)*(?:\.0*)?")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _int(value: Any) -> int:
    if isinstance(value, int):  # bool included, as pydantic does
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError("Input should be a valid integer, got a number with a fractional part")
    text = value.strip() if isinstance(value, str) else None
    if text is None or not text.isascii() or not _INT.fullmatch(text):
        raise ValueError("Input should be a valid integer, unable to parse string as an integer")
    return int(text.split(".", 1)[0])


def _float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = value.strip() if isinstance(value, str) else ""
    try:
        if not text.isascii():
            raise ValueError
        return float(text)
    except ValueError:
        raise ValueError(
            "Input should be a valid number, unable to parse string as a number"
        ) from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return False
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError("Input should be a valid boolean, unable to interpret input")
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise ValueError("Input should be a valid boolean")


def _str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        """Coerce one plain-typed option (or a list of them) the way typer would."""

        leaf: type
        is_list: bool

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.is_list:
                items = value if isinstance(value, list | tuple) else [value]
                return [self._leaf(item, param, ctx) for item in items]
            return self._leaf(value, param, ctx)

        def _leaf(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if issubclass(self.leaf, Enum):
                    return coerce_cli_choice(
                        value,
                        choices=tuple(self.leaf),
                        case_sensitive=self.parameter_info.case_sensitive,
                        ctx=ctx,
                    )
                if self.leaf is Path:
                    if isinstance(value, str | os.PathLike) and not isinstance(value, Path):
                        value = Path(value)
                    return coerce_cli_path(
                        value, self.parameter_info, path_type=Path, param=param, ctx=ctx
                    )
                return {str: _str, int: _int, float: _float, bool: _bool}[self.leaf](value)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None


def _plain(annotation: Any, info: Any) -> tuple[type, bool] | None:
    """``(leaf type, is a list)`` when this module can coerce the annotation."""
    is_list = get_origin(annotation) is list
    leaf = get_args(annotation)[0] if is_list else annotation
    if leaf not in PLAIN and not (isinstance(leaf, type) and issubclass(leaf, Enum)):
        return None
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
        return None
    if leaf in (int, float) and (info.min is not None or info.max is not None or info.clamp):
        return None
    if leaf is Path and info.path_type not in (None, Path):
        return None
    return leaf, is_list


def install(command: Any) -> None:
    """Give every plain-typed parameter under ``command`` (a click command or group)
    a coercion without pydantic; leave the rest to typer."""
    if RuntimeParam is None:
        return
    for param in getattr(command, "params", ()):
        _install_param(param)
    # click makes the -h/--help option on first use, from the context's names
    make_help = getattr(command, "get_help_option", None)
    if make_help is not None and not getattr(make_help, "_artkit", False):

        def get_help_option(ctx: Any) -> Any:
            option = make_help(ctx)
            if option is not None:
                _install_param(option)
            return option

        get_help_option._artkit = True  # type: ignore[attr-defined]
        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        install(sub)


def _install_param(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if (
        descriptor is None
        or getattr(param, "_runtime_param", "absent") is not None
        or descriptor.file_annotation is not None
    ):
        return
    plain = _plain(descriptor.annotation, descriptor.parameter_info)
    if plain is not None:
        param._runtime_param = PlainRuntimeParam(
            annotation=descriptor.annotation,
            parameter_info=descriptor.parameter_info,
            leaf=plain[0],
            is_list=plain[1],
        )
