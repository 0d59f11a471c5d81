"""Optional system assets: what artkit may find on a machine beyond what pip installs.

Some features use things a bare machine does not have: the Noto Color Emoji font
(the ``emoji`` dataset; OpenMoji's, from the ``emoji`` pip extra, is a package like
the ``samples`` photos and stays visible), system fonts (``glyphs``), pretrained weights in the torch
hub cache or artkit's weight cache (VGG for style, Inception for FID), ffmpeg for
MP4 (the ``video`` extra). Every lookup of such an asset goes through this module,
so one switch can hide them all:

``ARTKIT_SYSTEM_ASSETS=none``
    artkit behaves as on a bare machine: no system font folders, no ``fc-match``,
    no torch hub cache, no weights in the default artkit cache, no imageio-ffmpeg,
    no downloads. An explicit path (``font=``, ``fonts=``, ``--weights``) and a cache
    that ``ARTKIT_CACHE_DIR`` names explicitly are still honoured: the user, or a
    test, put them there. CI runs the suite once more with the switch on, so a test
    that quietly depends on a developer's machine fails there.

``ARTKIT_SYSTEM_ASSETS=auto`` (or unset)
    everything is looked up as usual.

Plugins declare the assets they use with the ``register_assets`` hook, so that
``artkit doctor`` can show each one as found or missing with the line that
installs it; the assets of the core (ffmpeg, a GPU) are listed here. No torch.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from artkit.errors import UsageError

#: the switch; see the module docstring
SWITCH = "ARTKIT_SYSTEM_ASSETS"
_SHOWN = "ARTKIT_SYSTEM_ASSETS=none"

#: CI's first leg sets this to a file: every asset lookup appends the test file it
#: happened in (``PYTEST_CURRENT_TEST``, inherited by subprocesses, or the test module
#: on the stack at collection), so the bare leg reruns exactly those files
LOOKUP_LOG = "ARTKIT_ASSET_LOOKUP_LOG"

#: the folders fonts are looked for in, in order
SYSTEM_FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)


def hidden() -> bool:
    """True when ``ARTKIT_SYSTEM_ASSETS=none``: every optional asset is treated as missing."""
    if os.environ.get(LOOKUP_LOG):
        _log_lookup(os.environ[LOOKUP_LOG])
    raw = os.environ.get(SWITCH, "").strip().lower()
    if raw in ("", "auto", "all", "on", "1", "yes", "true"):
        return False
    if raw in ("none", "off", "0", "no", "false"):
        return True
    raise UsageError(f"{SWITCH}={raw!r}: expected 'none' (hide optional assets) or 'auto'")


def _log_lookup(log: str) -> None:
    import re
    import sys

    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    where = current.split("::", 1)[0] if current else ""
    if not where:
        frame = sys._getframe(1)
        while frame is not None and not where:
            name = frame.f_code.co_filename
            if re.search(r"[/\\]tests[/\\]test_[^/\\]+\.py$", name):
                where = os.path.relpath(name)
            frame = frame.f_back
    if where:
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(where + "\n")
        except OSError:
            pass


def hidden_note() -> str:
    """``" (hidden by ARTKIT_SYSTEM_ASSETS=none)"`` when the switch is on, else ``""``."""
    return f" (hidden by {_SHOWN})" if hidden() else ""


# -- caches ---------------------------------------------------------------------------


def cache_root() -> Path:
    """artkit's cache: ``$ARTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/artkit``, else ``~/.cache/artkit``."""
    env = os.environ.get("ARTKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "artkit"


def weights_cache_dir() -> Path:
    """Where ``artkit weights import`` writes converted weights: ``<cache>/weights``."""
    return cache_root() / "weights"


def torch_hub_checkpoints() -> Path:
    """``torch.hub.get_dir() / "checkpoints"`` computed without torch."""
    env = os.environ.get("TORCH_HOME")
    if env:
        return Path(env).expanduser() / "hub" / "checkpoints"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "torch" / "hub" / "checkpoints"


def weight_sources(
    cache_name: str, hub_names: tuple[str, ...] = (), explicit: str | os.PathLike[str] | None = None
) -> list[tuple[str, Path]]:
    """The one resolver for pretrained weights: ``[(kind, path), ...]`` in lookup order.

    ``kind`` is ``"file"`` (an explicit file, which comes alone: used or an error),
    ``"cache"`` (``<cache>/weights/CACHE_NAME``) or ``"hub"`` (the torch hub cache
    under each of ``hub_names``). Paths are listed whether or not they exist. With
    the switch on, the hub cache is left out, and so is artkit's cache unless
    ``ARTKIT_CACHE_DIR`` names it.
    """
    if explicit is not None and str(explicit) != "":
        return [("file", Path(explicit).expanduser())]
    out: list[tuple[str, Path]] = []
    if not hidden() or os.environ.get("ARTKIT_CACHE_DIR"):
        out.append(("cache", weights_cache_dir() / cache_name))
    if not hidden():
        hub = torch_hub_checkpoints()
        out.extend(("hub", hub / name) for name in hub_names)
    return out


def offline() -> bool:
    """True when nothing may be downloaded: ``ARTKIT_OFFLINE`` set, or the switch on."""
    flag = os.environ.get("ARTKIT_OFFLINE", "").strip().lower()
    return flag not in ("", "0", "false", "no") or hidden()


# -- programs, modules and fonts ---------------------------------------------------------


def find_module(name: str) -> bool:
    """True when the optional module ``name`` (e.g. ``imageio_ffmpeg``) can be imported."""
    if hidden():
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def which(program: str) -> str | None:
    """``shutil.which``, or None with the switch on."""
    return None if hidden() else shutil.which(program)


def system_font_dirs() -> list[Path]:
    """The existing system font folders (none with the switch on)."""
    if hidden():
        return []
    dirs = (Path(d).expanduser() for d in SYSTEM_FONT_DIRS)
    return [d for d in dirs if d.is_dir()]


def missing(what: str, install: str, instead: str = "") -> str:
    """The one line for a missing asset: what, how to get it, what works now."""
    line = f"{what} not found{hidden_note()}; install it: {install}"
    return f"{line}; {instead}" if instead else line


# -- what doctor shows -------------------------------------------------------------------


@dataclass(frozen=True)
class AssetReport:
    """One row of ``artkit doctor``: an optional asset, found or missing."""

    name: str
    description: str
    found: str | None  # where (a path, a version, a device name), or None
    install: str
    instead: str = ""
    plugin: str = "artkit"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "found": self.found is not None,
            "where": self.found,
            "install": self.install,
            "instead": self.instead,
            "plugin": self.plugin,
        }


def _ffmpeg() -> str | None:
    if not find_module("imageio_ffmpeg"):
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"imageio-ffmpeg {version('imageio-ffmpeg')}"
    except PackageNotFoundError:
        return "imageio-ffmpeg"


def _gpu() -> str | None:
    # torch answers this; doctor imports it anyway, and nothing here is on a fast path
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        return "xpu"
    return None


#: the core's own optional assets: (name, description, check, install, instead)
CORE_ASSETS: tuple[tuple[str, str, Callable[[], str | None], str, str], ...] = (
    (
        "ffmpeg",
        "MP4 output for interpolate / animate / morph",
        _ffmpeg,
        "pip install 'artkit[video]'",
        "write .gif, .webp or .png (APNG)",
    ),
    (
        "gpu",
        "an accelerator for training (CUDA, MPS or XPU)",
        _gpu,
        "a CUDA build of torch on a machine with an NVIDIA GPU (pip install torch)",
        "CPU training works, with bf16 where the CPU has it",
    ),
)


def reports() -> list[AssetReport]:
    """Every optional asset, the core's and the registered ones, checked now."""
    from artkit.plugins import get_registry

    rows = []
    for name, description, check, install, instead in CORE_ASSETS:
        rows.append(AssetReport(name, description, _safe(check), install, instead))
    for entry in get_registry("assets"):
        rows.append(
            AssetReport(
                entry.name,
                entry.description,
                _safe(entry.factory),
                str(entry.extra.get("install", "")),
                str(entry.extra.get("instead", "")),
                entry.plugin,
            )
        )
    return rows


def _safe(check: Callable[[], str | None]) -> str | None:
    """A check that fails counts as missing: doctor must never crash on a broken asset."""
    try:
        found = check()
    except Exception:
        return None
    return str(found) if found else None


def report(name: str) -> AssetReport:
    """The report of one asset by name (core or registered); unknown names are a usage error."""
    for row in reports():
        if row.name == name:
            return row
    from artkit.errors import UnknownNameError

    raise UnknownNameError("assets", name, [r.name for r in reports()])


def skip_reason(name: str) -> str | None:
    """Why a test (or feature) that needs asset ``name`` cannot run here, or None when it can."""
    row = report(name)
    if row.found is not None:
        return None
    return f"needs {row.description}{hidden_note()}: {row.install}"
