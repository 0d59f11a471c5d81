"""What every conformance check shares: the error, registry lookup, hinted settings, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args


class ConformanceError(AssertionError):
    """A component breaks artkit's contract; the message says which rule and how."""


def _fail(kind: str, name: str, rule: str) -> ConformanceError:
    return ConformanceError(f"{kind} {name!r}: {rule}")


def _entry(kind: str, name: str) -> Any:
    from artkit.plugins import get_registry

    registry = get_registry(kind)
    if name not in registry:
        known = ", ".join(registry.names()) or "none"
        raise _fail(_KIND_WORD[kind], name, f"not registered (registered {kind}: {known})")
    entry = registry.get(name)
    _skip_without_assets(entry)
    return entry


def _skip_without_assets(entry: Any) -> None:
    """A component registered with ``requires=("asset", ...)`` is skipped where one is missing.

    Under pytest that is a skip whose reason names the asset and its install line;
    elsewhere a ConformanceError saying the same.
    """
    import sys

    from artkit.assets import skip_reason

    for asset in entry.extra.get("requires", ()):
        reason = skip_reason(asset)
        if reason is None:
            continue
        if "pytest" in sys.modules:
            import pytest

            pytest.skip(f"{entry.name}: {reason}")
        raise _fail(_KIND_WORD.get(entry.kind, entry.kind), entry.name, reason)


_KIND_WORD = {
    "models": "model",
    "losses": "loss",
    "postprocessors": "post-processor",
    "datasets": "dataset",
    "extractors": "extractor",
}


def _hinted(entry: Any, key: str, scratch: Path, given: dict[str, Any]) -> dict[str, Any]:
    """The entry's declared test settings (placeholders filled in) overlaid with ``given``."""
    from artkit.tiny import tiny_image_folder, tiny_images

    hint = entry.extra.get(key) or {}
    if callable(hint):
        hint = hint(scratch)
    files: dict[str, Callable[[], str]] = {
        "{tiny_image}": lambda: _saved(tiny_images(1, 32)[0], scratch / "tiny-image.png"),
        "{tiny_folder}": lambda: str(tiny_image_folder(scratch / "tiny-folder")),
    }
    out = {}
    for k, v in {**hint, **given}.items():
        out[k] = files[v]() if isinstance(v, str) and v in files else v
    return out


def _saved(image: Any, path: Path) -> str:
    if not path.exists():
        image.save(path)
    return str(path)


def _expect_one_line_error(
    kind: str, name: str, action: Callable[[], Any], what: str, mention: str
) -> None:
    """``action()`` must raise UsageError/ValueError with one line that names ``mention``."""
    from artkit.errors import UsageError

    try:
        action()
    except (UsageError, ValueError) as exc:
        text = str(exc)
        if "\n" in text.strip() or mention not in text:
            raise _fail(
                kind, name, f"{what}: the error must be one line naming {mention!r}, got {text!r}"
            ) from None
        return
    except Exception as exc:
        raise _fail(
            kind,
            name,
            f"{what} must raise UsageError (or ValueError), not {type(exc).__name__}; "
            "register it with params=YourConfig and artkit checks names and types for you",
        ) from None
    raise _fail(kind, name, f"{what} must be refused with a one-line UsageError")


def _bad_values(params: Any, skip: set[str]) -> list[tuple[str, str]]:
    """``(param, value)`` pairs every typed parameter must refuse: words for numbers, unknown choices."""
    bad = []
    for p in params:
        if p.name in skip:
            continue
        if p.choices:
            bad.append((p.name, "no-such-choice"))
        elif p.type in (int, float) or (
            get_args(p.type) and all(t in (int, float, type(None)) for t in get_args(p.type))
        ):
            bad.append((p.name, "not-a-number"))
    return bad


# --------------------------------------------------------------------------- models


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
