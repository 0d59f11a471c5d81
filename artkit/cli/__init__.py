"""The ``artkit`` command line.

One module per command or noun; each registers itself on the root Typer app
in :func:`build_app`. Plugins add commands through the ``register_commands``
hook. Modules here import torch only inside command functions: ``artkit
--help``, ``plugins``, ``list`` and ``info`` must start without it (a test
inspects ``sys.modules`` to keep it that way).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from artkit import __version__
from artkit.cli.context import ArtkitGroup, Settings, use_settings

HELP = (
    "artkit: train GANs and VAEs on your own images, apply style transfer, "
    "post-process and batch-render art series. Chain commands with pipes: "
    "commands print one output path per line and read paths from stdin."
)


def _version(value: bool) -> None:
    if value:
        print(f"artkit {__version__}")
        raise typer.Exit()


#: every built-in command or command group -> the ``artkit.cli`` module whose
#: ``attach(app)`` adds it, in the order ``artkit --help`` lists them. A run imports
#: only the module of the command it names (tests/test_startup.py keeps this true).
BUILTIN_COMMANDS: dict[str, str] = {
    "demo": "demo",
    "train": "train",
    "sample": "sample",
    "interpolate": "sample",
    "encode": "latent",
    "decode": "latent",
    "reconstruct": "latent",
    "morph": "latent",
    "project": "project",
    "post": "post",
    "grid": "sheets",
    "animate": "sheets",
    "render": "render",
    "reproduce": "reproduce",
    "data": "data",
    "weights": "weights",
    "checkpoint": "checkpoint",
    "plugins": "plugins",
    "list": "listing",
    "info": "info",
    "doctor": "doctor",
    "eval": "eval",
    "plot": "plot",
}
BUILTIN_MODULES: tuple[str, ...] = tuple(dict.fromkeys(BUILTIN_COMMANDS.values()))


def build_app(only: str | None = None) -> typer.Typer:
    """The root app with the built-in commands (only ``only``'s, when it names one)."""
    app = typer.Typer(
        name="artkit",
        help=HELP,
        cls=ArtkitGroup,
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        device: Annotated[
            str, typer.Option(help="auto | cpu | cuda[:N] | mps | xpu", envvar="ARTKIT_DEVICE")
        ] = "auto",
        precision: Annotated[
            str, typer.Option(help="auto | fp32 | bf16 | fp16", envvar="ARTKIT_PRECISION")
        ] = "auto",
        seed: Annotated[int | None, typer.Option(help="Global random seed.")] = None,
        quiet: Annotated[
            bool, typer.Option("-q", "--quiet", help="Only errors on stderr.")
        ] = False,
        verbose: Annotated[
            int, typer.Option("-v", "--verbose", count=True, help="More detail on stderr.")
        ] = 0,
        plugins_dir: Annotated[
            str | None,
            typer.Option(
                "--plugins-dir",
                help="Also load every *.py plugin file in this folder (or set ARTKIT_PLUGINS_DIR).",
            ),
        ] = None,
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_version, is_eager=True, help="Print the version and exit."
            ),
        ] = False,
    ) -> None:
        ctx.obj = Settings(
            device=device, precision=precision, seed=seed, quiet=quiet, verbose=verbose
        )
        use_settings(ctx.obj)

    modules = BUILTIN_MODULES
    if only in BUILTIN_COMMANDS:  # a run needs its own command's module, not all twenty
        modules = (BUILTIN_COMMANDS[only],)
    for module in modules:
        importlib.import_module(f"artkit.cli.{module}").attach(app)
    return app


#: root options that take a value (their value is not the command's name)
_ROOT_TAKES_VALUE = {"--device", "--precision", "--seed", "--plugins-dir"}


def _before_command(argv: list[str]) -> tuple[list[str], str | None]:
    """The root options before the command, and the command's name (None when none)."""
    options: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--":
            break
        elif not arg.startswith("-"):
            return options, arg
        else:
            options.append(arg)
            skip = arg in _ROOT_TAKES_VALUE
    return options, None


def _root_flag(argv: list[str], names: tuple[str, ...]) -> bool:
    """Whether a root option is among the arguments before the command's name."""
    return any(arg in names for arg in _before_command(argv)[0])


def _plugins_dir_from_argv(argv: list[str]) -> str | None:
    # The plugins dir must be known before the app is built, because plugins in it
    # may add commands; so it is read from argv ahead of click's own parsing.
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--plugins-dir" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--plugins-dir="):
            return arg.split("=", 1)[1]
    return None


def build_full_app(argv: list[str] | None = None) -> typer.Typer:
    """The root app with plugin commands added, for these arguments."""
    from artkit.plugins import get_host, plugin_dirs_from_env

    argv = sys.argv[1:] if argv is None else argv
    extra = _plugins_dir_from_argv(argv)
    dirs = plugin_dirs_from_env() + ([extra] if extra else [])
    if _root_flag(argv, ("-q", "--quiet")):
        from artkit.plugins import set_verbosity

        set_verbosity(quiet=True)  # plugin warnings come while the app is built
    command = _command_name(argv)
    app = build_app(only=command)
    try:
        host = get_host(dirs)
    except Exception as exc:  # a bad --plugins-dir is a usage error, not a crash
        from artkit.errors import ArtkitError

        if isinstance(exc, ArtkitError):
            print(f"artkit: error: {exc}", file=sys.stderr)
            raise SystemExit(exc.exit_code) from None
        raise
    from artkit.cli.plugin_commands import PluginApp, taken_names
    from artkit.plugins import PerPlugin

    # each plugin gets a guard around the root app: a command name that is taken
    # (a built-in, or an earlier plugin's) stays with its owner, with one warning
    taken = {**dict.fromkeys(BUILTIN_COMMANDS, "artkit"), **taken_names(app)}
    host.call_each(
        "register_commands",
        app=PerPlugin(lambda plugin: PluginApp(app, plugin, taken, host.report)),
    )
    if not _keep_only(app, command):
        _listing_only(app)
    return app


def _command_name(argv: list[str]) -> str | None:
    """The command the arguments name (the first word that is not a root option)."""
    return _before_command(argv)[1]


def _keep_only(app: typer.Typer, name: str | None) -> bool:
    """Leave only the command ``name`` in ``app`` when it is one of its commands.

    Typer turns every command function's signature into click parameters when the
    app becomes a click group (a few ms each, 30+ commands); a run needs one. With no
    name, or an unknown one (click then lists them all, or suggests one), all stay
    and the answer is False.
    """
    if name is None:
        return False
    from typer.main import get_command_name

    commands = [
        c
        for c in app.registered_commands
        if (c.name or (c.callback and get_command_name(c.callback.__name__))) == name
    ]
    groups = [
        g
        for g in app.registered_groups
        if (g.name or (g.typer_instance and g.typer_instance.info.name)) == name
    ]
    if commands or groups:
        app.registered_commands[:] = commands
        app.registered_groups[:] = groups
        return True
    return False


def _listing_only(app: typer.Typer) -> None:
    """Stand-ins that carry only each command's name and help, for runs that run none.

    Without a known command name the root can only print its help, its version, or a
    usage error listing or suggesting names; converting every signature for that cost
    more than the rest of ``artkit --help``. The app is this run's own (built per
    call), so its entries may be rewritten; the sub-apps they point to are not touched.
    """
    import inspect

    from typer.main import get_command_name, solve_typer_info_help

    def listed_only() -> None:  # pragma: no cover - never invoked: no command runs
        raise RuntimeError("a listing stand-in was invoked")

    for info in app.registered_commands:
        if info.callback is None:
            continue
        info.name = info.name or get_command_name(info.callback.__name__)
        info.help = (
            inspect.cleandoc(info.help) if info.help is not None else inspect.getdoc(info.callback)
        )
        info.callback = listed_only
    for group in app.registered_groups:
        if group.typer_instance is None:
            continue
        text = solve_typer_info_help(group)
        group.name = group.name or group.typer_instance.info.name
        group.help = text
        group.typer_instance = typer.Typer(name=group.name, help=text)


def get_command(argv: list[str] | None = None):
    """The click command behind the app (what the console script runs)."""
    return typer.main.get_command(build_full_app(argv))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    from artkit.cli.lazy_rich import defer_rich_imports

    defer_rich_imports()  # typer's help imports them and never uses them here
    command = get_command(argv)
    try:
        command.main(args=argv, prog_name="artkit", standalone_mode=True)
    except BrokenPipeError:
        # downstream closed the pipe (`artkit ... | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0) from None
