"""``artkit plugins``: what is installed, what each plugin registered, what is broken.

``install`` / ``uninstall`` run pip in artkit's own environment (``sys.executable -m
pip``), after asking pip for its plan so that a plugin can never silently swap the
installed torch; ``new`` scaffolds a plugin package (:mod:`artkit.scaffold`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Annotated

import typer


def attach(app: typer.Typer) -> None:
    plugins_app = typer.Typer(help="Show installed plugins and what they provide.")

    @plugins_app.callback(invoke_without_command=True)
    def plugins(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """List plugins: name, version, hooks implemented, names registered, load errors."""
        if ctx.invoked_subcommand is not None:
            return
        from artkit.plugins import get_host

        infos = get_host().plugin_infos()
        if as_json:
            for info in infos:
                print(json.dumps(info.as_dict()))
            return
        from rich.table import Table

        from artkit.cli.context import out_console

        table = Table(box=None, pad_edge=False)
        for col in ("plugin", "version", "source", "status", "hooks", "registered"):
            table.add_column(col)
        for info in infos:
            registered = "; ".join(f"{k}: {', '.join(v)}" for k, v in info.registered.items() if v)
            status = info.status if not info.error else f"{info.status}: {info.error}"
            table.add_row(
                info.name,
                info.version or "-",
                info.source,
                status,
                ", ".join(h.removeprefix("register_") for h in info.hooks) or "-",
                registered or "-",
            )
        out_console().print(table)

    plugins_app.command("install")(install)
    plugins_app.command("uninstall")(uninstall)
    plugins_app.command("new")(new)
    app.add_typer(plugins_app, name="plugins")


# --------------------------------------------------------------------------- install


#: Installing a plugin must never swap these under artkit (a CUDA build for a CPU one...).
GUARDED = ("torch", "torchvision")


def _installed() -> dict[str, str]:
    from importlib.metadata import distributions

    return {_canon(d.metadata["Name"]): d.version for d in distributions() if d.metadata["Name"]}


def _canon(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def guarded_changes(report: dict, installed: dict[str, str]) -> list[str]:
    """``["torch 2.4.0 -> 2.5.1"]`` for each guarded package pip's install report would change."""
    changes = {
        _canon(item["metadata"]["name"]): item["metadata"]["version"]
        for item in report.get("install", [])
    }
    return [
        f"{name} {installed[name]} -> {version}"
        for name, version in changes.items()
        if name in GUARDED and name in installed and installed[name] != version
    ]


def _plugin_entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="artkit")}


def _pip(args: list[str], *, capture: bool) -> subprocess.CompletedProcess:
    import sys

    command = [sys.executable, "-m", "pip", *args]
    try:
        return subprocess.run(
            command, capture_output=capture, text=True, stdout=None if capture else sys.stderr
        )
    except OSError as exc:
        from artkit.errors import ArtkitError

        raise ArtkitError(f"cannot run pip: {exc}") from None


def _pip_error(result: subprocess.CompletedProcess, what: str) -> Exception:
    from artkit.errors import ArtkitError

    lines = [ln.strip() for ln in (result.stderr or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")] or lines[-1:]
    detail = errors[0] if errors else f"pip exited with status {result.returncode}"
    return ArtkitError(f"{what}: {detail}")


def _registered_by(names: set[str]) -> dict[str, dict[str, list[str]]]:
    """What the plugins called ``names`` register, asked of a fresh process (new entry points)."""
    import sys

    if not names:
        return {}
    result = subprocess.run(
        [sys.executable, "-m", "artkit", "-q", "plugins", "--json"], capture_output=True, text=True
    )
    found = {}
    for line in result.stdout.splitlines():
        info = json.loads(line)
        if info["name"] in names:
            found[info["name"]] = (
                info["registered"]
                if info["status"] == "loaded"
                else {"error": [info.get("error") or info["status"]]}
            )
    return found


def install(
    target: Annotated[str, typer.Argument(help="A package name (from the index) or a folder.")],
    editable: Annotated[
        bool, typer.Option("-e", "--editable", help="Install a folder in development mode.")
    ] = False,
    upgrade: Annotated[bool, typer.Option("--upgrade", "-U", help="Upgrade if installed.")] = False,
    allow_torch_change: Annotated[
        bool,
        typer.Option(
            "--allow-torch-change", help="Let pip change the installed torch or torchvision."
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
    from pathlib import Path

    from artkit.cli.context import say
    from artkit.errors import ArtkitError, UsageError

    looks_like_path = target.startswith((".", "/", "~")) or Path(target).exists()
    if looks_like_path and not Path(target).expanduser().is_dir():
        raise UsageError(f"{target}: no such folder (give a package name or a plugin folder)")
    if editable and not looks_like_path:
        raise UsageError("-e/--editable needs a folder, not a package name")
    spec = str(Path(target).expanduser().resolve()) if looks_like_path else target
    flags = (["--upgrade"] if upgrade else []) + (
        ["--no-build-isolation"] if no_build_isolation else []
    )
    pip_target = ["-e", spec] if editable else [spec]
    before, plugins_before = _installed(), _plugin_entry_points()

    # 1. ask pip what it would do, and refuse to swap torch under artkit
    plan = _pip(
        ["install", "--dry-run", "--quiet", "--report", "-", *flags, *pip_target], capture=True
    )
    if plan.returncode != 0:
        raise _pip_error(plan, f"pip cannot install {target}")
    try:
        report = json.loads(plan.stdout or "{}")
    except json.JSONDecodeError:
        raise ArtkitError("pip gave no install report (pip 22.2 or newer is needed)") from None
    swaps = guarded_changes(report, before)
    if swaps and not allow_torch_change:
        raise ArtkitError(
            f"installing {target} would change {', '.join(swaps)}; "
            "pass --allow-torch-change if that is what you want"
        )

    # 2. install for real; pip's own progress goes to stderr
    say(f"installing {target} into {Path(__import__('sys').prefix)}")
    done = _pip(["install", "--quiet", *flags, *pip_target], capture=True)
    if done.returncode != 0:
        raise _pip_error(done, f"pip failed to install {target}")

    # 3. say what changed
    after, plugins_after = _installed(), _plugin_entry_points()
    added = {n: v for n, v in after.items() if before.get(n) != v}
    new_plugins = {n for n in plugins_after if plugins_after[n] != plugins_before.get(n)}
    for name, version in sorted(added.items()):
        was = f" (was {before[name]})" if name in before else ""
        print(f"added {name} {version}{was}")
    for plugin, registered in sorted(_registered_by(new_plugins).items()):
        listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in registered.items() if v) or "nothing"
        print(f"plugin {plugin}: {listed}")
    if not added:
        say(f"{target}: already installed, nothing changed")


def uninstall(
    name: Annotated[str, typer.Argument(help="The plugin's package name (see pip list).")],
) -> None:
    """Remove a plugin package from artkit's environment with pip."""
    from importlib.metadata import PackageNotFoundError, distribution

    from artkit.errors import UsageError

    canon = _canon(name)
    if canon in ("artkit", *GUARDED):
        raise UsageError(f"{name} is not a plugin; artkit will not uninstall it")
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        raise UsageError(f"{name}: not installed") from None
    plugins = [ep.name for ep in dist.entry_points if ep.group == "artkit"]
    version = _installed().get(canon, "")
    done = _pip(["uninstall", "--yes", "--quiet", name], capture=True)
    if done.returncode != 0:
        raise _pip_error(done, f"pip failed to uninstall {name}")
    # (read before pip ran: the distribution's metadata files are gone now)
    shown = f" (plugins: {', '.join(plugins)})" if plugins else ""
    print(f"removed {canon} {version}{shown}")


def new(
    name: Annotated[str, typer.Argument(help="Plugin name, e.g. glitch (package artkit-glitch).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to create. (default: ./artkit-NAME)")
    ] = None,
) -> None:
    """Scaffold a plugin package: pyproject entry point, a hookimpl module, a passing test."""
    from artkit.cli.context import say
    from artkit.scaffold import plugin_names, scaffold

    root = scaffold(name, out)
    names = plugin_names(name)
    say(
        f"plugin {names['name']!r} ({names['project']}) with post-processor {names['step']!r}; "
        f"next: artkit plugins install -e {root} && (cd {root} && pytest)"
    )
    print(root)
