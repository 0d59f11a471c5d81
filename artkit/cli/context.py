"""What every command shares: global settings, error handling, output helpers.

- :class:`Settings` holds the global options (``--device``, ``--precision``,
  ``--seed``, ``-q``, ``-v``); commands read it with :func:`settings`.
- :class:`ArtkitGroup` turns any :class:`artkit.errors.ArtkitError` raised by a
  command into ``artkit: error: <one line>`` on stderr and its exit code.
- stdout carries data (paths, JSON, tables); :func:`say`, :func:`warn` and
  :func:`err_console` write people's messages to stderr.
"""

from __future__ import annotations

import contextvars
import sys
from dataclasses import dataclass
from typing import Any

from typer import Exit
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors click
from typer.core import TyperGroup

from artkit.errors import ArtkitError, describe_os_error, printable


@dataclass
class Settings:
    device: str = "auto"
    precision: str = "auto"
    seed: int | None = None
    quiet: bool = False
    verbose: int = 0


# Set by the root callback for the duration of a command; a ContextVar rather
# than a module global so concurrent CliRunner invocations in tests can't mix.
_current: contextvars.ContextVar[Settings] = contextvars.ContextVar("artkit_settings")


def use_settings(value: Settings) -> None:
    _current.set(value)
    from artkit.plugins import set_verbosity

    set_verbosity(value.quiet, value.verbose)  # plugin warnings: -q hides, -v adds tracebacks
    _route_artkit_warnings()


def _route_artkit_warnings() -> None:
    """Library warnings meant for people (:class:`~artkit.errors.ArtkitWarning`) print as
    one ``artkit: warning:`` line (none with -q) instead of Python's two-line format."""
    import warnings

    from artkit.errors import ArtkitWarning

    shown = warnings.showwarning
    if getattr(shown, "_artkit", False):
        return

    def show(message: Any, category: Any, filename: str, lineno: int, *args: Any) -> None:
        if issubclass(category, ArtkitWarning):
            if not settings().quiet:
                warn(str(message))
            return
        shown(message, category, filename, lineno, *args)

    show._artkit = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def settings() -> Settings:
    """The global options of the running command (defaults outside a command)."""
    return _current.get(Settings())


def fail(message: str, exit_code: int = 1) -> None:
    print(f"artkit: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(exit_code)


def _usage_error(exc: UsageError) -> None:
    """click's usage errors (unknown option, bad value, missing argument) in one line,
    like every other artkit error, instead of a usage block or a rich panel."""
    if isinstance(exc, NoArgsIsHelpError):
        raise exc  # `artkit data` alone prints its help: that is not an error
    hint = ""
    if exc.ctx is not None:
        hint = f" (see `{exc.ctx.command_path} --help`)"
    message = " ".join(exc.format_message().split())
    print(f"artkit: error: {printable(message)}{hint}", file=sys.stderr, flush=True)
    raise Exit(exc.exit_code)


class ArtkitGroup(TyperGroup):
    """Root command group: user mistakes become one line and an exit code, never a traceback."""

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        from artkit.cli.coercion import install

        install(self)  # option values without importing pydantic (see artkit.cli.coercion)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:  # a subcommand's options did not parse
            _usage_error(exc)
        except ArtkitError as exc:
            if settings().verbose and exc.__cause__ is not None:  # e.g. a plugin's import error
                import traceback

                traceback.print_exception(exc.__cause__, file=sys.stderr)
            print(f"artkit: error: {printable(str(exc))}", file=sys.stderr, flush=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            raise  # main() turns a closed downstream pipe into a quiet exit
        except OSError as exc:
            # the file system said no (full disk, name too long, permissions): one line,
            # the traceback only with -v
            if settings().verbose:
                import traceback

                traceback.print_exc()
            print(
                f"artkit: error: {printable(describe_os_error(exc))}", file=sys.stderr, flush=True
            )
            ctx.exit(1)
        except MemoryError:
            print("artkit: error: out of memory", file=sys.stderr, flush=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            print("artkit: interrupted", file=sys.stderr, flush=True)
            ctx.exit(130)


def err_console():
    """A rich Console on stderr (colour only on a terminal; NO_COLOR respected by rich)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def out_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def say(message: str) -> None:
    """A progress/status line for people, on stderr; silent with -q."""
    if not settings().quiet:
        print(message, file=sys.stderr, flush=True)


def debug(message: str) -> None:
    if settings().verbose:
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    print(f"artkit: warning: {printable(message)}", file=sys.stderr, flush=True)
