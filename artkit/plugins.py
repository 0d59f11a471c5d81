"""Finding, loading and isolating plugins.

Everything that makes pictures reaches artkit through this module: the built-in
plugin packages and third-party ones alike are listed under the ``artkit``
entry-point group, and loose ``*.py`` files may be added from a plugins
directory (``--plugins-dir`` or ``ARTKIT_PLUGINS_DIR``).

Environment:

- ``ARTKIT_LOAD_PLUGINS=a,b``     load only these plugins (by name)
- ``ARTKIT_DISABLE_PLUGINS=a,b``  block these plugins (shown as blocked)
- ``ARTKIT_PLUGINS_DIR=dir[:dir]`` also load every ``*.py`` file in these folders
- ``ARTKIT_PREFER=a,b``           these plugins win name clashes, in this order

A plugin that fails to import, fails pluggy's validation, or raises inside a
hook is reported by name on stderr and in ``artkit plugins``; its entries are
dropped and every other plugin keeps working. That is why hooks are called one
implementation at a time (:meth:`PluginHost.call_each`) rather than through
``pm.hook.x()``, which would stop at the first exception.

Two plugins registering the same name is not a failure: the plain name goes to the
first plugin in a fixed order -- ``ARTKIT_PREFER``, then the built-ins, then other
entry points by name, then plugins-dir files, then inline plugins -- the newcomer's
entry stays reachable as ``PLUGIN.NAME``, and one warning says so.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from artkit import hookspecs
from artkit.entry_points import entry_points
from artkit.errors import _SINGULAR, UsageError, describe_exception
from artkit.registry import KINDS, Registry

ENTRY_POINT_GROUP = "artkit"


@dataclass
class PluginInfo:
    """What ``artkit plugins`` shows about one plugin."""

    name: str
    source: str  # "entry point", "plugins dir" or "inline"
    module: str = ""
    #: the distribution an entry point came from; its version is read on first use
    #: (``version``), since parsing METADATA files costs start-up time every command pays
    dist: Any = field(default=None, repr=False, compare=False)
    _version: str | None = field(default=None, repr=False)
    status: str = "loaded"  # loaded | blocked | failed
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    #: kind -> {name: the plugin whose entry the plain name reaches instead}
    shadowed: dict[str, dict[str, str]] = field(default_factory=dict)
    builtin: bool = False  # an entry point of the artkit distribution itself

    @property
    def version(self) -> str | None:
        if self._version is None and self.dist is not None:
            self._version = getattr(self.dist, "version", None)
        return self._version

    @version.setter
    def version(self, value: str | None) -> None:
        self._version = value

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "module": self.module,
            "status": self.status,
            "hooks": self.hooks,
            "registered": self.registered,
            "shadowed": self.shadowed,
            "error": self.error,
        }


class PluginHost:
    """A pluggy PluginManager plus what we learned while loading it.

    ``pm`` is the plain pluggy manager (tests and ``register_commands`` use it
    directly); ``infos`` records every plugin we tried; registries are built on
    demand and rebuilt whenever the set of registered plugins changes, so a test
    can ``pm.register(InlinePlugin())`` and see its entries straight away.
    """

    def __init__(self, plugin_dirs: Iterable[str | os.PathLike] = ()):
        self.pm = pluggy.PluginManager("artkit")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._registries: dict[str, tuple[tuple, Registry]] = {}
        self._reported: set[str] = set()
        self._failures: list[BaseException] = []  # for -v's tracebacks (see set_verbosity)
        allow = _env_list("ARTKIT_LOAD_PLUGINS")
        block = _env_list("ARTKIT_DISABLE_PLUGINS")
        for name in block:
            self.pm.set_blocked(name)
        self._load_entry_points(allow, block)
        for folder in plugin_dirs:
            self._load_dir(Path(folder), allow, block)

    # -- loading --------------------------------------------------------------
    def _load_entry_points(self, allow: set[str] | None, block: set[str]) -> None:
        seen: set[str] = set()
        # built-ins first, then by name: a fixed order whatever sys.path says (clashes, commands)
        eps = sorted(
            entry_points(ENTRY_POINT_GROUP),
            key=lambda ep: (not _is_builtin(ep), ep.name),
        )
        for ep in eps:
            if ep.name in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(ep.name)
            info = PluginInfo(ep.name, "entry point", module=ep.value, dist=ep.dist)
            info.builtin = _is_builtin(ep)
            if not self._wanted(info, allow, block):
                continue
            try:
                plugin = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a broken plugin must not break artkit (sys.exit too)
                self._fail(info, f"import failed: {_describe(exc)}", exc)
                continue
            self._register(plugin, info)

    def _load_dir(self, folder: Path, allow: set[str] | None, block: set[str]) -> None:
        if not folder.is_dir():
            raise UsageError(f"plugins directory {str(folder)!r} does not exist")
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            info = PluginInfo(path.stem, "plugins dir", module=str(path))
            if not self._wanted(info, allow, block):
                continue
            module_name = f"artkit_plugins_dir.{path.stem}"
            try:
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit at import included
                sys.modules.pop(module_name, None)
                self._fail(info, f"import failed: {_describe(exc)}", exc)
                continue
            info.version = getattr(module, "__version__", None)
            self._register(module, info)

    def _wanted(self, info: PluginInfo, allow: set[str] | None, block: set[str]) -> bool:
        if info.name in block:
            info.status = "blocked"
            self.infos[info.name] = info
            return False
        if allow is not None and info.name not in allow:
            return False
        if info.name in self.infos:
            self._fail(
                PluginInfo(info.name, info.source, module=info.module),
                f"a plugin named {info.name!r} is already loaded from {self.infos[info.name].module}",
            )
            return False
        return True

    def _register(self, plugin: Any, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=info.name)
            unknown = self._unknown_hooks(plugin)
            if unknown:
                self.pm.unregister(name=info.name)
                raise UsageError(unknown)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            self._fail(info, f"registration failed: {_describe(exc)}", exc)
            return
        info.hooks = sorted(impl.name for impl in self.pm.get_hookcallers(plugin) or [])
        self.infos[info.name] = info

    def _unknown_hooks(self, plugin: Any) -> str:
        """pluggy accepts unknown hook names silently; a typo deserves a message."""
        known = [n for n in dir(hookspecs) if n.startswith("register_")]
        for caller in self.pm.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                close = difflib.get_close_matches(caller.name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return f"implements unknown hook {caller.name!r}{hint}"
        return ""

    def _fail(self, info: PluginInfo, message: str, exc: BaseException | None = None) -> None:
        info.status, info.error = "failed", message
        self.infos[info.name] = info
        self._say(f"plugin {info.name!r} {message}; {_fix(info.name)}", error=True, exc=exc)

    def report(self, plugin: str, message: str) -> None:
        """Warn (once per process and message) about something a plugin did; -q hides it."""
        self._say(f"plugin {plugin!r} {message}")

    def _say(self, text: str, *, error: bool = False, exc: BaseException | None = None) -> None:
        """One line on stderr, once per process: an error (a plugin that failed, kept
        under -q, its traceback added by -v) or a warning (silenced by -q)."""
        if text in self._reported:
            return
        self._reported.add(text)
        if not error and _verbosity["quiet"]:
            return
        print(f"artkit: {'error' if error else 'warning'}: {text}", file=sys.stderr)
        if exc is not None:
            if _verbosity["verbose"]:
                _print_traceback(exc)
            else:
                self._failures.append(exc)

    # -- hooks ----------------------------------------------------------------
    def info_for(self, plugin_name: str) -> PluginInfo:
        if plugin_name not in self.infos:
            # registered directly through pm.register() (tests, artkit.testing)
            plugin = self.pm.get_plugin(plugin_name)
            self.infos[plugin_name] = PluginInfo(
                plugin_name,
                "inline",
                module=getattr(plugin, "__module__", "") or type(plugin).__module__,
                hooks=sorted(c.name for c in self.pm.get_hookcallers(plugin) or []),
            )
        return self.infos[plugin_name]

    def call_each(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of ``hook_name`` separately, isolating failures.

        ``kwargs`` values may be callables of the plugin name (so ``register``
        can record who registered what); each implementation receives only the
        arguments it asks for.
        """
        hook = getattr(self.pm.hook, hook_name)
        # get_hookimpls() lists in registration order (pluggy *calls* them in reverse);
        # who wins a name clash does not depend on it (see the rank in registry()).
        for impl in hook.get_hookimpls():
            info = self.info_for(impl.plugin_name)
            if info.status == "failed":
                continue
            args = {}
            for name in impl.argnames:
                value = kwargs[name]
                args[name] = value(impl.plugin_name) if _is_per_plugin(value) else value
            try:
                impl.function(**args)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # sys.exit() in a hook must not end artkit
                message = f"failed in {hook_name}: {_describe(exc)}"
                info.error = message
                info.status = "failed"
                self._say(
                    f"plugin {impl.plugin_name!r} {message}; {_fix(impl.plugin_name)}",
                    error=True,
                    exc=exc,
                )
                for _, registry in self._registries.values():
                    registry.remove_plugin(impl.plugin_name)

    def registry(self, kind: str) -> Registry:
        """The registry of ``kind`` (models, losses, datasets, postprocessors)."""
        if kind not in KINDS:
            raise UsageError(f"unknown registry {kind!r}; known: {', '.join(KINDS)}")
        prefer = _env_order("ARTKIT_PREFER")
        # the plugin objects themselves, not their id()s: a plugin registered after
        # another was unregistered and freed can get its id, and would then be handed
        # the registry built for the old one (a flaky test showed it); holding them in
        # the key also keeps them alive while the cached registry names them
        key = (tuple(self.pm.list_name_plugin()), tuple(prefer))
        cached = self._registries.get(kind)
        if cached and cached[0] == key:
            return cached[1]
        order = {name: i for i, (name, _) in enumerate(self.pm.list_name_plugin())}

        def rank(plugin: str) -> tuple:
            """Who wins a clash: ARTKIT_PREFER, built-ins, entry points by name, then
            plugins-dir files and inline plugins in the order they were loaded."""
            if plugin in prefer:
                return (0, prefer.index(plugin), "")
            info = self.info_for(plugin)
            if info.source == "entry point":
                return (1 if info.builtin else 2, 0, plugin)
            return (3 if info.source == "plugins dir" else 4, order.get(plugin, len(order)), "")

        registry = Registry(kind, rank)
        self._registries[kind] = (key, registry)

        def register_for(plugin_name: str) -> Callable[..., Any]:
            info = self.info_for(plugin_name)

            def register(
                name: str, factory: Any, *, description: str = "", params: Any = None, **extra: Any
            ):
                entry = registry.add(
                    name,
                    factory,
                    description=description,
                    params=params,
                    plugin=plugin_name,
                    **extra,
                )
                info.registered.setdefault(kind, []).append(name)
                return entry

            return register

        for info in self.infos.values():
            info.registered.pop(kind, None)
            info.shadowed.pop(kind, None)
        self.call_each(KINDS[kind], register=PerPlugin(register_for))
        what = _SINGULAR.get(kind, kind)
        for entry, winner in registry.shadowed():
            self.info_for(entry.plugin).shadowed.setdefault(kind, {})[entry.name] = winner.plugin
            if winner.plugin in prefer:
                continue  # the user chose
            self._say(
                f"{what} {entry.name!r} is registered by both plugin {winner.plugin!r} and "
                f"plugin {entry.plugin!r}; {winner.plugin!r} wins: use {entry.qualified} for "
                f"{entry.plugin}'s, or prefer {entry.plugin} with ARTKIT_PREFER={entry.plugin}"
            )
        return registry

    def plugin_infos(self) -> list[PluginInfo]:
        """Every plugin we know of, after filling all registries (so ``registered`` is complete)."""
        for kind in KINDS:
            self.registry(kind)
        for name, _ in self.pm.list_name_plugin():
            self.info_for(name)
        return sorted(self.infos.values(), key=lambda i: (i.source != "entry point", i.name))


class PerPlugin:
    """Marks a hook argument that must be built separately for each plugin:
    ``PerPlugin(lambda plugin_name: value)`` (see :meth:`PluginHost.call_each`)."""

    def __init__(self, make: Callable[[str], Any]):
        self.make = make

    def __call__(self, plugin_name: str) -> Any:
        return self.make(plugin_name)


def _is_per_plugin(value: Any) -> bool:
    return isinstance(value, PerPlugin)


def _is_builtin(ep: Any) -> bool:
    if not ep.dist:
        return False
    # The name from the dist-info folder's name where the distribution knows it:
    # parsing METADATA (ep.dist.metadata) costs every command ~25 ms of start-up.
    name = getattr(ep.dist, "_normalized_name", None) or ep.dist.metadata["Name"] or ""
    return name.lower() == "artkit"


def _fix(plugin: str) -> str:
    return f"fix or reinstall it, or disable it with ARTKIT_DISABLE_PLUGINS={plugin}"


def _env_order(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None if name == "ARTKIT_LOAD_PLUGINS" else set()
    return {part.strip() for part in raw.split(",") if part.strip()}


def _describe(exc: BaseException) -> str:
    """``ErrorType: message (file.py:12)`` -- one line, pointing into the plugin."""
    return describe_exception(exc, skip=(__file__,))


def _print_traceback(exc: BaseException) -> None:
    import traceback

    traceback.print_exception(exc, file=sys.stderr)


#: -q and -v of the running command (the CLI calls :func:`set_verbosity`)
_verbosity: dict[str, Any] = {"quiet": False, "verbose": 0}


def set_verbosity(quiet: bool = False, verbose: int = 0) -> None:
    """-q hides plugin warnings (failures still show); -v adds each failure's traceback,
    also for those reported while loading, before the options were parsed."""
    _verbosity.update(quiet=quiet, verbose=verbose)
    if verbose and _host is not None:
        for exc in _host._failures:
            _print_traceback(exc)
        _host._failures.clear()


# -- the process-wide host ----------------------------------------------------
_host: PluginHost | None = None
_host_dirs: tuple[str, ...] = ()


def plugin_dirs_from_env() -> list[str]:
    raw = os.environ.get("ARTKIT_PLUGINS_DIR", "")
    return [p for p in raw.split(os.pathsep) if p]


def get_host(plugin_dirs: Iterable[str | os.PathLike] | None = None) -> PluginHost:
    """The process-wide PluginHost, created on first use.

    With ``plugin_dirs=None`` the current host is returned (or one built from
    ``ARTKIT_PLUGINS_DIR``); asking for other dirs than the current host was
    built with builds a new one.
    """
    global _host, _host_dirs
    if plugin_dirs is None and _host is not None:
        return _host
    dirs = tuple(
        str(d) for d in (plugin_dirs if plugin_dirs is not None else plugin_dirs_from_env())
    )
    if _host is None or dirs != _host_dirs:
        _host, _host_dirs = PluginHost(dirs), dirs
    return _host


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy PluginManager with every plugin loaded."""
    return get_host().pm


def get_registry(kind: str) -> Registry:
    """Shortcut for ``get_host().registry(kind)``."""
    return get_host().registry(kind)


def reset() -> None:
    """Forget the process-wide host (tests use this after changing the environment)."""
    global _host, _host_dirs
    _host, _host_dirs = None, ()
    _verbosity.update(quiet=False, verbose=0)
