"""Entry points of one group, read straight from the installed distributions' folders.

Every artkit command looks up the ``artkit`` entry-point group at start-up.
``importlib.metadata`` does that correctly for every layout, but importing it (it
pulls in the ``email`` package to parse METADATA files) and building its
distribution objects cost about 30 ms, an eighth of a command's start-up budget.
The common layout is simple: each directory on ``sys.path`` holds
``NAME-VERSION.dist-info`` (or ``NAME.egg-info``) folders, and those list their
entry points in ``entry_points.txt``. :func:`entry_points` reads exactly that, in
``importlib.metadata``'s order and with its rule that the first distribution of a
name wins, and falls back to ``importlib.metadata`` for anything else (zip files
on ``sys.path``, an unreadable folder or file). ``tests/test_plugins.py`` checks the
two agree on the machine it runs on.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

# importlib.metadata's pattern for "module:attr [extras]"
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


class _Unusual(Exception):
    """A layout this module does not read: ask importlib.metadata instead."""


@dataclass(frozen=True)
class Distribution:
    """The installed distribution an entry point came from (name from its folder)."""

    name: str  # normalised: lower case, runs of -_. as one _
    folder: str

    @property
    def version(self) -> str | None:
        """From the folder's name when it carries one, else from its METADATA."""
        base = os.path.basename(self.folder).rsplit(".", 1)[0]  # NAME-VERSION(.dist-info)
        parts = base.split("-")
        if len(parts) >= 2 and parts[1][:1].isdigit():
            return parts[1]
        import importlib.metadata

        try:
            return importlib.metadata.PathDistribution.at(self.folder).version
        except Exception:  # a version is a nicety, never a failure
            return None

    @property
    def _normalized_name(self) -> str:  # what importlib.metadata's PathDistribution offers
        return self.name


@dataclass(frozen=True)
class EntryPoint:
    """``name = module:attr`` from a distribution's ``entry_points.txt``."""

    name: str
    value: str
    group: str
    dist: Any = None

    def load(self) -> Any:
        """Import the module and return the attribute (as importlib.metadata does)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r}: cannot read {self.value!r}")
        obj: Any = importlib.import_module(match.group("module"))
        for attr in (match.group("attr") or "").split("."):
            if attr:
                obj = getattr(obj, attr)
        return obj


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of ``[group]`` in an entry_points.txt."""
    found: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group:
            name, sep, value = line.partition("=")
            if not sep:
                raise _Unusual(line)
            found.append((name.strip(), value.strip()))
    return found


def _scan(group: str) -> list[EntryPoint]:
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for entry in sys.path:
        folder = entry or os.getcwd()
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                raise _Unusual(folder)  # a zip or egg file: importlib.metadata reads those
            continue
        try:
            children = os.listdir(folder)
        except OSError as exc:
            raise _Unusual(folder) from exc
        for child in children:
            if not child.endswith((".dist-info", ".egg-info")):
                continue
            name = _normalise(child.rsplit(".", 1)[0].split("-", 1)[0])
            if name in seen:
                continue
            path = os.path.join(folder, child)
            if not os.path.isdir(path):
                continue  # an egg-info *file* holds no entry points
            seen.add(name)
            try:
                with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError) as exc:
                raise _Unusual(path) from exc
            dist = Distribution(name, path)
            found += [EntryPoint(n, v, group, dist) for n, v in _section(text, group)]
    return found


def entry_points(group: str) -> list[Any]:
    """The entry points of ``group`` from every distribution on ``sys.path``."""
    try:
        return _scan(group)
    except _Unusual:
        import importlib.metadata

        return list(importlib.metadata.entry_points(group=group))
