"""Post-processing chains: ``name:key=value,...`` steps resolved and run on PIL images.

Steps are looked up in the ``postprocessors`` registry and their parameters typed
and validated *before* any image is touched, so a typo fails at once with a
one-line :class:`~artkit.errors.UsageError`. A step's canonical text (every
parameter spelled out) is what provenance records under ``post``.

:func:`apply` is ``artkit.post.apply(image, "palette:colors=8", "grain")``.
Never imports torch; numpy only when a step needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artkit.errors import ArtkitError, UnknownNameError, UsageError

if TYPE_CHECKING:
    from PIL import Image

    from artkit.registry import Entry


def format_value(value: Any) -> str:
    """One parameter value as ``parse_spec`` + ``Param.convert`` will read it back."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        return ("x" if numeric else "/").join(format_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
    if "," in text or "'" in text or '"' in text or text != text.strip() or quoted:
        if '"' not in text:
            return f'"{text}"'
        if "'" not in text:
            return f"'{text}'"
        raise UsageError(
            f"a value cannot contain both kinds of quote and be written as a step: {text!r}"
        )
    return text


def format_spec(name: str, params: Mapping[str, Any]) -> str:
    """The inverse of :func:`artkit.registry.parse_spec`: ``name:key=value,...``."""
    if not params:
        return name
    return name + ":" + ",".join(f"{k}={format_value(v)}" for k, v in params.items())


@dataclass(frozen=True)
class Step:
    """One resolved step of the chain: a function and its typed parameters."""

    name: str
    fn: Callable[..., Any]
    params: dict[str, Any]
    spec: str  # canonical: every parameter spelled out (what provenance records)

    def __call__(self, image: Image.Image, source: str = "") -> Image.Image:
        from PIL import Image

        where = f"{source}: " if source else ""
        try:
            out = self.fn(image, **self.params)
        except ArtkitError as exc:
            raise ArtkitError(f"{where}{exc}") from None
        except Exception as exc:  # a bug in a (third-party) step: one line, not a traceback
            text = " ".join(str(exc).split()) or "(no message)"
            raise ArtkitError(f"{where}{self.name} failed: {type(exc).__name__}: {text}") from None
        if not isinstance(out, Image.Image):
            raise ArtkitError(f"{where}{self.name} returned {type(out).__name__}, not a PIL image")
        return out


def resolve_step(text: str, entry_for: Callable[[str], Entry]) -> Step:
    """Parse, look up and validate one STEP; any problem is a one-line UsageError."""
    import difflib

    from artkit.registry import parse_spec

    name, options = parse_spec(text)
    entry = entry_for(name)
    strict = bool(entry.params) or entry.config_class is not None
    if strict:
        known = [p.name for p in entry.params]
        for key in options:
            if key.replace("-", "_") not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                allowed = ", ".join(known) if known else "none (it takes no parameters)"
                raise UsageError(f"{name}: unknown parameter {key!r}; {hint}allowed: {allowed}")
    bound = entry.bind(options)
    # declared order, so the same step always reads the same in provenance
    params = {p.name: bound.pop(p.name) for p in entry.params if p.name in bound} | bound
    if entry.config_class is not None:
        entry.config_class(**params)  # range checks live in the config's __post_init__
    try:
        fn = entry.factory
    except Exception as exc:
        raise ArtkitError(
            f"post-processor {name!r} (plugin {entry.plugin!r}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return Step(name, fn, params, format_spec(name, params) if strict else text)


def build_chain(specs: Sequence[str]) -> list[Step]:
    """Every STEP resolved, in order; raises before any image is touched."""
    from artkit.plugins import get_registry

    if not specs:
        raise UsageError("give at least one step, e.g. artkit post sharpen (see artkit list post)")
    registry = get_registry("postprocessors")
    chain = []
    for text in specs:
        try:
            chain.append(resolve_step(text, registry.get))
        except UnknownNameError:
            from artkit.images import is_image_path

            if os.path.exists(text) or is_image_path(text):
                raise UsageError(
                    f"{text!r} is not a step: give input images with -i {text} or on stdin"
                ) from None
            raise
    return chain


def run_chain(image: Image.Image, chain: Sequence[Step], source: str = "") -> Image.Image:
    """``image`` through every step of ``chain`` in order (``source`` names it in errors)."""
    for s in chain:
        image = s(image, source)
    return image


def apply(image: Image.Image, *steps: str) -> Image.Image:
    """``image`` through the chain of ``steps``; provenance (``image.info``) gains them under ``post``.

    ``artkit.post.apply(im, "palette:colors=8", "grain")``: the same steps, checks and
    results as ``artkit post palette:colors=8 grain``.
    """
    from artkit import __version__
    from artkit.api.output import attach_provenance
    from artkit.images import read_provenance

    chain = build_chain(list(steps))
    provenance = dict(read_provenance(image) or {})
    out = run_chain(image, chain)
    before = provenance.get("post")
    provenance["post"] = [*(before if isinstance(before, list) else []), *(s.spec for s in chain)]
    provenance.setdefault("artkit", __version__)
    return attach_provenance(out, provenance)
