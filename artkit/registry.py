"""Named registries: models, losses, datasets, post-processors.

A registry maps a name to an :class:`Entry`: a lazy factory plus a one-line
description, the plugin that provided it, and typed parameters with defaults.
Entries are filled by the ``register_*`` hooks (see :mod:`artkit.hookspecs`) and
read by commands. Nothing here imports torch: factories given as
``"module:attr"`` strings are imported on first use.

Command lines name entries with *specs*: ``name`` or ``name:key=value,key=value``
(``palette:colors=8,dither=floyd``). :func:`parse_spec` splits them and
:meth:`Entry.bind` converts the strings to the parameters' types.

Two plugins may register the same name. A clash never fails either plugin: the
plain name goes to the better-ranked plugin (the host ranks them: ``ARTKIT_PREFER``,
built-ins, other entry points by name, plugins-dir files), and every entry stays
reachable as ``PLUGIN.NAME`` (``rd.halftone``), the unambiguous form.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from artkit.errors import (
    _SINGULAR,
    ArtkitError,
    DuplicateNameError,
    PluginError,
    UnknownNameError,
    UsageError,
    describe_exception,
)

#: The registries and the hook that fills each one.
KINDS: dict[str, str] = {
    "models": "register_models",
    "losses": "register_losses",
    "datasets": "register_datasets",
    "postprocessors": "register_postprocessors",
    "extractors": "register_extractors",
    "assets": "register_assets",
    "stylizers": "register_stylizers",
    "media": "register_media",
}

_MISSING = object()


@dataclass(frozen=True)
class Param:
    """One typed parameter of a registry entry."""

    name: str
    type: type = str
    default: Any = _MISSING
    help: str = ""
    choices: tuple[str, ...] | None = None
    #: the value names files: ``""`` one path, another string the separator of several
    #: (``"|"``); ``None`` not a path. Provenance may not point these anywhere it likes
    #: (:mod:`artkit.render.reproduce` looks them up beside the image only).
    files: str | None = None

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def convert(self, raw: Any, *, owner: str = "") -> Any:
        """Convert a command-line string (or an already-typed value) to this parameter's type."""
        where = f"{owner}: " if owner else ""
        if self.choices is not None:
            for choice in self.choices:
                if raw == choice or (isinstance(raw, str) and raw == str(choice)):
                    return choice
            raise UsageError(
                f"{where}{self.name}={raw!r} is not one of: {', '.join(map(str, self.choices))}"
            )
        value = raw
        try:
            if isinstance(raw, str):
                value = _convert_str(raw, self.type)
            elif self.type is float and isinstance(raw, int) and not isinstance(raw, bool):
                value = float(raw)
        except ValueError:
            raise UsageError(
                f"{where}{self.name}={raw!r} is not a valid {_type_name(self.type)}"
            ) from None
        return value

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": _type_name(self.type)}
        out["default"] = None if self.required else _jsonable(self.default)
        out["required"] = self.required
        if self.choices:
            out["choices"] = list(self.choices)
        if self.help:
            out["help"] = self.help
        return out


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def _convert_str(raw: str, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if raw.lower() in ("none", "null", ""):
            return None
        return _convert_str(raw, args[0])
    if origin is typing.Literal:
        options = typing.get_args(tp)
        if raw not in options:
            raise ValueError(raw)
        return raw
    if origin in (tuple, list):
        (inner, *_) = typing.get_args(tp) or (str,)
        # "64x48" for sizes, "a/b/c" otherwise
        sep = "x" if inner in (int, float) and "x" in raw else "/"
        items = [_convert_str(part, inner) for part in raw.split(sep) if part]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    if tp is int:
        return int(raw)
    if tp is float:
        return float(raw)
    return raw


def params_from(spec: Any) -> tuple[Param, ...]:
    """Turn a config dataclass, a list of Params or ``None`` into a tuple of Params."""
    if spec is None:
        return ()
    if dataclasses.is_dataclass(spec):
        hints = typing.get_type_hints(spec)
        out = []
        for f in dataclasses.fields(spec):
            if not f.init or f.name.startswith("_"):
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = _MISSING
            tp = hints.get(f.name, str)
            choices = None
            if typing.get_origin(tp) is typing.Literal:
                choices = typing.get_args(tp)
            help, files = f.metadata.get("help", ""), f.metadata.get("files")
            out.append(Param(f.name, tp, default, help, choices=choices, files=files))
        return tuple(out)
    return tuple(spec)


@dataclass(frozen=True)
class Entry:
    """A registered name: a lazy factory with a description and typed parameters."""

    kind: str
    name: str
    factory_ref: Callable[..., Any] | str
    description: str = ""
    plugin: str = "?"
    params: tuple[Param, ...] = ()
    config_class: type | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: ``file.py:12`` where the plugin called ``register``: a lazy ref that cannot be
    #: imported is the plugin's bug, and this is where to fix it
    origin: str = ""

    @property
    def qualified(self) -> str:
        """``PLUGIN.NAME``: reaches this entry even when another plugin has the plain name."""
        return f"{self.plugin}.{self.name}"

    @property
    def factory(self) -> Callable[..., Any]:
        """The factory, importing it now if it was registered as ``"module:attr"``."""
        return self._resolve(self.factory_ref)

    def extra_callable(self, key: str) -> Callable[..., Any] | None:
        """An extra registered as a callable or a lazy ``"module:attr"`` string, or None."""
        ref = self.extra.get(key)
        return None if ref is None else self._resolve(ref)

    def _resolve(self, ref: Any) -> Any:
        """:func:`resolve_ref`, with a broken plugin module turned into one line that names
        the plugin, the ref, where it failed and what to do (the traceback stays for -v)."""
        try:
            return resolve_ref(ref)
        except ArtkitError:
            raise
        except (Exception, SystemExit) as exc:
            what = f"{_SINGULAR.get(self.kind, self.kind)} {self.name!r}"
            at = f" (registered at {self.origin})" if self.origin else ""
            raise PluginError(
                f"plugin {self.plugin!r} cannot load {what} from {ref!r}{at}: "
                f"{describe_exception(exc, skip=(__file__,))}; fix or reinstall the plugin, "
                f"or disable it with ARTKIT_DISABLE_PLUGINS={self.plugin}"
            ) from exc

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        err = UnknownNameError("parameters", name, [p.name for p in self.params])
        err.args = (
            f"{self.name}: {err.args[0].replace('unknown parameters', 'unknown parameter')}",
        )
        raise err

    def bind(
        self, options: Mapping[str, Any] | None = None, *, strict: bool = True
    ) -> dict[str, Any]:
        """Typed keyword arguments for the factory: defaults overlaid with ``options``.

        Unknown keys are an error (with suggestions) when the entry declares its
        parameters; an entry without declared parameters passes options through.
        """
        options = dict(options or {})
        if not self.params:
            return options
        bound: dict[str, Any] = {}
        for key, raw in options.items():
            key = key.replace("-", "_")
            if strict or any(p.name == key for p in self.params):
                bound[key] = self.param(key).convert(raw, owner=self.name)
        missing = [p.name for p in self.params if p.required and p.name not in bound]
        if missing:
            raise UsageError(f"{self.name}: missing required parameter {missing[0]!r}")
        for p in self.params:
            if p.name not in bound and not p.required:
                bound[p.name] = p.default
        if self.config_class is not None:
            # the config's own checks (ranges, combinations) run here, before any work
            self.config_class(**bound)
        return bound

    def create(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """Call the factory with the bound options plus extra keyword arguments."""
        return self.factory(**self.bind(options), **kwargs)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "description": self.description,
            "plugin": self.plugin,
            "params": [p.describe() for p in self.params],
        }


def resolve_ref(ref: Any) -> Any:
    """``"module:attr"`` -> the object, imported now; anything else is returned as is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry:
    """Entries of one kind, filled by one hook.

    Every entry is kept under ``PLUGIN.NAME``; the plain ``NAME`` goes to the entry
    whose plugin has the lowest ``rank`` (ties: the first registered). A clash thus
    shadows the newcomer's entry instead of failing anyone's hook, and
    :meth:`shadowed` lists what lost, for warnings and ``artkit plugins``. A registry
    made without ``rank`` knows no order between plugins, so there a clash is a
    :class:`DuplicateNameError`.
    """

    def __init__(self, kind: str, rank: Callable[[str], Any] | None = None):
        self.kind = kind
        self.strict = rank is None
        self.rank = rank or (lambda plugin: 0)
        self._all: dict[str, Entry] = {}  # "plugin.name" -> entry, in registration order
        self._entries: dict[str, Entry] = {}  # plain name -> the winning entry

    def add(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        description: str = "",
        params: Any = None,
        plugin: str = "?",
        **extra: Any,
    ) -> Entry:
        if not isinstance(name, str) or not name or ":" in name or "," in name:
            raise UsageError(f"plugin {plugin!r} registered an invalid {self.kind} name {name!r}")
        key = f"{plugin}.{name}"
        if key in self._all:
            raise DuplicateNameError(f"plugin {plugin!r} registers {self.kind} name {name!r} twice")
        config_class = params if dataclasses.is_dataclass(params) else None
        entry = Entry(
            kind=self.kind,
            name=name,
            factory_ref=factory,
            description=(description or "").strip().splitlines()[0] if description else "",
            plugin=plugin,
            params=params_from(params),
            config_class=config_class,
            extra=extra,
            origin=_caller_outside(__file__),
        )
        current = self._entries.get(name)
        if current is not None and self.strict:
            raise DuplicateNameError(
                f"{self.kind} name {name!r} is registered by both plugin {current.plugin!r} "
                f"and plugin {plugin!r}"
            )
        self._all[key] = entry
        if current is None or self.rank(plugin) < self.rank(current.plugin):
            self._entries[name] = entry
        return entry

    def get(self, name: str) -> Entry:
        """The entry called ``name`` (the winner of a clash), or ``PLUGIN.NAME``."""
        entry = self._entries.get(name) or self._all.get(name)
        if entry is None:
            known = [*self._entries, *(e.qualified for e, _ in self.shadowed())]
            raise UnknownNameError(self.kind, name, known)
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._all

    def __iter__(self) -> Iterator[Entry]:
        """The entries plain names reach, by name (shadowed ones: :meth:`shadowed`)."""
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def shadowed(self) -> list[tuple[Entry, Entry]]:
        """``(entry, winner)`` for every entry whose plain name another plugin's entry has."""
        return [
            (e, self._entries[e.name]) for e in self._all.values() if self._entries[e.name] is not e
        ]

    def remove_plugin(self, plugin: str) -> None:
        """Forget every entry a plugin added (used when its hook failed half-way)."""
        kept = [e for e in self._all.values() if e.plugin != plugin]
        self._all, self._entries = {}, {}
        for entry in kept:
            self._all[entry.qualified] = entry
            current = self._entries.get(entry.name)
            if current is None or self.rank(entry.plugin) < self.rank(current.plugin):
                self._entries[entry.name] = entry


def _caller_outside(path: str) -> str:
    """``file.py:12`` of the nearest frame outside artkit's registry and plugin host."""
    frame = sys._getframe(1)
    skip = (path, path.replace("registry.py", "plugins.py"))
    while frame is not None and frame.f_code.co_filename in skip:
        frame = frame.f_back
    if frame is None:
        return ""
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def parse_spec(text: str) -> tuple[str, dict[str, str]]:
    """Split ``name:key=value,key=value`` into the name and a dict of raw strings.

    A value may contain commas if it is quoted: ``palette:colors="#000,#fff"``.
    """
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise UsageError(f"empty name in {text!r}; expected name or name:key=value,...")
    options: dict[str, str] = {}
    if not sep or not rest.strip():
        return name, options
    for item in _split_top_level(rest):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UsageError(f"{text!r}: expected key=value, got {item!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        options[key] = value
    return name, options


def _split_top_level(text: str) -> Sequence[str]:
    parts, buf, quote = [], [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p for p in parts if p.strip()]
