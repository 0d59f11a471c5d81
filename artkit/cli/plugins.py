"""``artkit plugins``: what is installed, what each plugin registered, what is broken.

``install`` / ``uninstall`` run pip in artkit's own environment (``sys.executable -m
pip``), after asking pip for its plan so that a plugin can never silently swap the
installed torch; ``new`` scaffolds a plugin package (:mod:`artkit.scaffold`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from artkit.cli.options import JsonLines


def attach(app: typer.Typer) -> None:
    plugins_app = typer.Typer(help="Show installed plugins and what they provide.")

    @plugins_app.callback(invoke_without_command=True)
    def plugins(
        ctx: typer.Context,
        as_json: JsonLines = False,
    ) -> None:
        """List plugins: name, version, hooks implemented, names registered, load errors."""
        if ctx.invoked_subcommand is not None:
            return
        from artkit.plugins import get_host

        host = get_host()
        infos = host.plugin_infos()
        commands = commands_by_plugin(host)
        rows = []
        for info in infos:
            row = info.as_dict()
            if commands.get(info.name):
                row["registered"] = {**row["registered"], "commands": commands[info.name]}
            rows.append(row)
        if as_json:
            for row in rows:
                print(json.dumps(row))
            return
        from rich.table import Table

        from artkit.cli.context import out_console

        table = Table(box=None, pad_edge=False)
        for col in ("plugin", "version", "source", "status", "hooks", "registered"):
            table.add_column(col)
        for row in rows:
            registered = "; ".join(
                f"{k}: {', '.join(v)}" for k, v in row["registered"].items() if v
            )
            if row["shadowed"]:
                registered += "; shadowed: " + _shadowed_text(row["name"], row["shadowed"])
            status = row["status"] if not row["error"] else f"{row['status']}: {row['error']}"
            table.add_row(
                row["name"],
                row["version"] or "-",
                row["source"],
                status,
                ", ".join(h.removeprefix("register_") for h in row["hooks"]) or "-",
                registered or "-",
            )
        out_console().print(table)

    plugins_app.command("install")(install)
    plugins_app.command("uninstall")(uninstall)
    plugins_app.command("new")(new)
    app.add_typer(plugins_app, name="plugins")


def _shadowed_text(plugin: str, shadowed: dict[str, dict[str, str]]) -> str:
    """``halftone (post has it; use rd.halftone)``, for each name another plugin wins."""
    return ", ".join(
        f"{name} ({winner} has it; use {plugin}.{name})"
        for names in shadowed.values()
        for name, winner in names.items()
    )


def commands_by_plugin(host) -> dict[str, list[str]]:
    """The subcommands each plugin's ``register_commands`` adds, by plugin name.

    Each implementation is called once more on a scratch app (registering a command
    has no other effect), so this works whether or not the real app was built.
    """
    from artkit.cli.plugin_commands import taken_names

    found: dict[str, list[str]] = {}
    for impl in host.pm.hook.register_commands.get_hookimpls():
        info = host.infos.get(impl.plugin_name)
        if info is not None and info.status != "loaded":
            continue
        scratch = typer.Typer()
        try:
            impl.function(**{arg: scratch for arg in impl.argnames})
        except Exception:  # already reported by name when the real app was built
            continue
        found[impl.plugin_name] = list(taken_names(scratch))
    return found


# --------------------------------------------------------------------------- install


#: Installing a plugin must never swap these under artkit (a CUDA build for a CPU one,
#: an older Pillow...) unless the user says so.
GUARDED = ("torch", "torchvision", "pillow", "numpy", "safetensors")
#: what pip installs from a file
ARCHIVES = (".whl", ".tar.gz", ".zip")


def _installed() -> dict[str, str]:
    """Name -> version of every distribution Python would import (the first on sys.path wins)."""
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        if dist.metadata["Name"]:
            found.setdefault(_canon(dist.metadata["Name"]), dist.version)
    return found


def _canon(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def planned_changes(report: dict, installed: dict[str, str], names) -> list[str]:
    """``["torch 2.4.0 -> 2.5.1"]`` for each of ``names`` pip's install report would change."""
    changes = {
        _canon(item["metadata"]["name"]): item["metadata"]["version"]
        for item in report.get("install", [])
    }
    return [
        f"{name} {installed[name]} -> {version}"
        for name, version in changes.items()
        if name in names and name in installed and installed[name] != version
    ]


def guarded_changes(report: dict, installed: dict[str, str]) -> list[str]:
    """The changes to :data:`GUARDED` packages pip's install report would make."""
    return planned_changes(report, installed, GUARDED)


def artkit_requirements() -> set[str]:
    """The canonical names of the packages artkit itself depends on (its metadata's Requires-Dist)."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    try:
        found = requires("artkit") or []
    except PackageNotFoundError:
        return set(GUARDED)
    names = {
        _canon(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0])
        for req in found
        if "extra ==" not in req
    }
    return names | set(GUARDED)


def _plugin_entry_points() -> dict[str, tuple[str, str]]:
    """Plugin name -> (module, canonical distribution name) for every ``artkit`` entry point."""
    from importlib.metadata import entry_points

    return {
        ep.name: (ep.value, _canon(ep.dist.metadata["Name"]) if ep.dist else "")
        for ep in entry_points(group="artkit")
    }


def _pip(args: list[str]) -> subprocess.CompletedProcess:
    """Run pip in artkit's own environment (the interpreter running artkit), output captured."""
    try:
        return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    except OSError as exc:
        from artkit.errors import ArtkitError

        raise ArtkitError(f"cannot run pip: {exc}") from None


def _pip_error(result: subprocess.CompletedProcess, what: str) -> Exception:
    from artkit.errors import ArtkitError

    lines = [ln.strip() for ln in (result.stderr or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")] or lines[-1:]
    detail = errors[0] if errors else f"pip exited with status {result.returncode}"
    return ArtkitError(f"{what}: {detail}")


def _registered_by(names: set[str]) -> dict[str, dict]:
    """``artkit plugins --json``'s row of each plugin in ``names``, asked of a fresh process
    (it sees the new entry points)."""
    if not names:
        return {}
    result = subprocess.run(
        [sys.executable, "-m", "artkit", "-q", "plugins", "--json"], capture_output=True, text=True
    )
    found = {}
    for line in result.stdout.splitlines():
        info = json.loads(line)
        if info["name"] in names:
            found[info["name"]] = info
    return found


def install(
    target: Annotated[
        str,
        typer.Argument(help="A package name (from the index) or a folder; DIR[test] adds extras."),
    ],
    editable: Annotated[
        bool, typer.Option("-e", "--editable", help="Install a folder in development mode.")
    ] = False,
    upgrade: Annotated[bool, typer.Option("--upgrade", "-U", help="Upgrade if installed.")] = False,
    allow_core_change: Annotated[
        bool,
        typer.Option(
            "--allow-core-change",
            "--allow-torch-change",
            help=f"Let pip change {', '.join(GUARDED)} under artkit.",
        ),
    ] = False,
    no_build_isolation: Annotated[
        bool,
        typer.Option(
            "--no-build-isolation", help="Build with the tools already installed (offline)."
        ),
    ] = False,
) -> None:
    """Install a plugin with pip into artkit's own environment; prints what was added."""
    from artkit.cli.context import say
    from artkit.errors import ArtkitError, UsageError

    if target.startswith("-"):
        # after `--` an option-looking target would reach pip as an option (--index-url=...)
        raise UsageError(
            f"{target!r}: a plugin is a package name, a folder or an archive, not an option"
        )
    # pip's extras suffix ('DIR[test]': the plugin with its test dependencies)
    base, extras = _split_extras(target)
    path = Path(base).expanduser()
    looks_like_path = base.startswith((".", "/", "~")) or path.exists()
    if looks_like_path and not path.is_dir():
        if not path.exists():
            raise UsageError(f"{base}: no such folder or file (give a package name or a folder)")
        if not base.endswith(ARCHIVES):
            raise UsageError(f"{base}: not a plugin folder or a {', '.join(ARCHIVES)} file")
    if editable and not (looks_like_path and path.is_dir()):
        raise UsageError("-e/--editable needs a plugin folder")
    spec = str(path.resolve()) + extras if looks_like_path else target
    flags = (["--upgrade"] if upgrade else []) + (
        ["--no-build-isolation"] if no_build_isolation else []
    )
    pip_target = ["-e", spec] if editable else [spec]
    before, plugins_before = _installed(), _plugin_entry_points()

    # 1. ask pip what it would do, and refuse to swap torch under artkit
    plan = _pip(["install", "--dry-run", "--quiet", "--report", "-", *flags, *pip_target])
    if plan.returncode != 0:
        raise _pip_error(plan, f"pip cannot install {target}")
    try:
        report = json.loads(plan.stdout or "{}")
    except json.JSONDecodeError:
        raise ArtkitError("pip gave no install report (pip 22.2 or newer is needed)") from None
    swaps = guarded_changes(report, before)
    if swaps and not allow_core_change:
        raise ArtkitError(
            f"installing {target} would change {', '.join(swaps)}; "
            "pass --allow-core-change if that is what you want"
        )
    from artkit.cli.context import warn

    for change in planned_changes(report, before, artkit_requirements() - set(GUARDED)):
        warn(f"installing {target} changes {change}, which artkit depends on")

    # 2. install for real (pip's messages are kept for a one-line error)
    say(f"installing {target} into {sys.prefix}")
    done = _pip(["install", "--quiet", *flags, *pip_target])
    if done.returncode != 0:
        raise _pip_error(done, f"pip failed to install {target}")

    # 3. say what changed
    after, plugins_after = _installed(), _plugin_entry_points()
    added = {n: v for n, v in after.items() if before.get(n) != v}
    new_plugins = {
        n for n, (module, dist) in plugins_after.items()
        if dist in added or (module, dist) != plugins_before.get(n)
    }  # fmt: skip
    for name, version in sorted(added.items()):
        was = f" (was {before[name]})" if name in before else ""
        print(f"added {name} {version}{was}")
    broken = []
    for plugin, info in sorted(_registered_by(new_plugins).items()):
        if info["status"] != "loaded":
            broken.append(f"plugin {plugin!r} {info.get('error') or info['status']}")
            continue
        registered = info["registered"]
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in registered.items() if v) or "nothing"
        print(f"plugin {plugin}: {listed}")
        if info.get("shadowed"):
            # kept, not broken: the names stay with their first owner
            warn(
                f"plugin {plugin} clashes: {_shadowed_text(plugin, info['shadowed'])}; "
                f"to prefer {plugin}, set ARTKIT_PREFER={plugin}"
            )
    if broken:
        raise ArtkitError(f"installed {target}, but {'; '.join(broken)} (artkit plugins shows it)")
    if not added:
        say(f"{target}: already installed at this version, nothing changed")


def _split_extras(target: str) -> tuple[str, str]:
    """``'plugin[test,docs]'`` -> ``('plugin', '[test,docs]')``; no suffix -> ``(target, '')``."""
    import re

    found = re.fullmatch(r"(.+?)(\[[A-Za-z0-9._,\s-]*\])", target)
    if found and Path(target).expanduser().exists():  # a folder really named so
        return target, ""
    return (found[1], found[2]) if found else (target, "")


def uninstall(
    name: Annotated[
        str, typer.Argument(help="The plugin's package name (pip list) or its plugin name.")
    ],
) -> None:
    """Remove a plugin package from artkit's environment with pip."""
    from importlib.metadata import PackageNotFoundError, distribution

    from artkit.errors import ArtkitError, UsageError

    dist_name = _distribution_of_plugin(name) or name
    canon = _canon(dist_name)
    if canon in ("artkit", *GUARDED):
        what = "part of artkit" if canon == "artkit" else "not a plugin"
        raise UsageError(f"{name} is {what}; artkit will not uninstall it")
    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        raise UsageError(f"{name}: not installed (see artkit plugins)") from None
    plugins = [ep.name for ep in dist.entry_points if ep.group == "artkit"]
    if not plugins:
        raise UsageError(
            f"{name} is not an artkit plugin (it has no artkit entry point); remove it with pip"
        )
    version = _installed().get(canon, "")
    where = dist.locate_file("")
    done = _pip(["uninstall", "--yes", "--quiet", dist_name])
    if done.returncode != 0:
        raise _pip_error(done, f"pip failed to uninstall {dist_name}")
    if canon in _installed():  # pip skips what lies outside this environment, quietly
        raise ArtkitError(f"pip left {dist_name} in {where}: it is outside {sys.prefix}")
    # (read before pip ran: the distribution's metadata files are gone now)
    print(f"removed {canon} {version} (plugins: {', '.join(plugins)})")


def _distribution_of_plugin(plugin: str) -> str | None:
    """The distribution that provides the plugin called ``plugin`` (``cppn`` -> ``artkit-plugin-cppn``)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="artkit", name=plugin):
        if ep.dist is not None:
            return ep.dist.metadata["Name"]
    return None


def new(
    name: Annotated[
        str, typer.Argument(help="Plugin name, e.g. glitch (package artkit-plugin-glitch).")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder to create. (default: ./artkit-plugin-NAME)"),
    ] = None,
) -> None:
    """Scaffold a plugin package: pyproject entry point, a hookimpl module, a passing test."""
    from artkit.cli.context import say
    from artkit.scaffold import plugin_names, scaffold

    root = scaffold(name, out)
    names = plugin_names(name)
    say(
        f"plugin {names['name']!r} ({names['project']}) with post-processor {names['step']!r}; "
        f"next: artkit plugins install -e '{root}[test]' && (cd {root} && python -m pytest)"
    )
    print(root)
