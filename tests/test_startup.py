"""Fast start: the everyday commands must never import torch (DESIGN.md principle 3)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import atexit, sys
heavy = ("torch", "torchvision", "numpy", "safetensors", "pydantic", "markdown_it", "pygments")  # pydantic: see artkit.cli.coercion; the last two: artkit.cli.lazy_rich
atexit.register(lambda: sys.stderr.write("HEAVY=" + ",".join(m for m in heavy if m in sys.modules) + "\\n"))
sys.argv = ["artkit", *{args!r}]
from artkit.cli import main
main()
"""


def heavy_modules_after(*args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    return {m for m in line.removeprefix("HEAVY=").split(",") if m}, result


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plugins"],
        ["plugins", "--json"],
        ["list", "models"],
        ["list", "datasets", "--json"],
        ["list", "post"],
        ["list", "extractors"],
        ["render", "--help"],
        ["reproduce", "--help"],
        ["eval", "--help"],
        ["plot", "--help"],
        ["plugins", "new", "--help"],
    ],
)
def test_everyday_commands_do_not_import_torch(args):
    heavy, result = heavy_modules_after(*args)
    assert result.returncode == 0, result.stderr
    assert "torch" not in heavy and "numpy" not in heavy, heavy
    # typer's help formatting imports these and never uses them here (artkit.cli.lazy_rich)
    assert "markdown_it" not in heavy and "pygments" not in heavy, heavy


def test_help_and_usage_errors_read_the_same_with_the_rich_stand_ins():
    # the same command in a process where typer got the real modules first
    real = "import rich.markdown, rich.traceback; "
    for args in (["--help"], ["train", "--help"], ["trian"], ["sample", "--nope"]):
        run = [sys.executable, "-c"]
        code = f"import sys; sys.argv = ['artkit', *{args!r}]; from artkit.cli import main; main()"
        a = subprocess.run([*run, code], capture_output=True, text=True, timeout=60)
        b = subprocess.run([*run, real + code], capture_output=True, text=True, timeout=60)
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), args
        assert a.stdout or a.stderr


def test_the_stand_ins_hand_over_to_the_real_modules():
    code = """
from artkit.cli.lazy_rich import defer_rich_imports
defer_rich_imports()
import sys
from rich.markdown import Markdown
from rich.traceback import Traceback
assert "markdown_it" not in sys.modules and "pygments" not in sys.modules
try:
    1 / 0
except ZeroDivisionError as exc:
    tb = Traceback.from_exception(type(exc), exc, exc.__traceback__)  # a class attribute
import rich.markdown, rich.traceback
from rich.console import Console
console = Console(width=40, record=True)
console.print(Markdown("# Title"), tb)
assert type(tb).__module__ == "rich.traceback" and rich.traceback.Traceback is type(tb)
assert rich.markdown.Heading and sys.modules["rich.markdown"].__file__.endswith("markdown.py")
text = console.export_text()
assert "Title" in text and "ZeroDivisionError" in text, text
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_info_on_a_checkpoint_does_not_import_torch(tmp_path):
    import torch

    from artkit.checkpoint import save_tensors

    path = save_tensors(
        tmp_path / "w.safetensors", {"G.w": torch.ones(3, 3)}, {"artkit.model": "x"}
    )
    heavy, result = heavy_modules_after("info", str(path))
    assert result.returncode == 0, result.stderr
    assert "torch" not in heavy and "safetensors" not in heavy, heavy
    assert "parameters  9" in result.stdout


def test_info_on_an_image_does_not_import_torch(tmp_path):
    from PIL import Image

    from artkit.images import save_image

    path = save_image(
        Image.new("RGB", (8, 8), "red"),
        tmp_path / "a.png",
        provenance={"seed": 7, "model": "dcgan"},
    )
    heavy, result = heavy_modules_after("info", str(path))
    assert result.returncode == 0, result.stderr
    assert "torch" not in heavy, heavy
    assert "seed" in result.stdout and "dcgan" in result.stdout


def test_the_builtin_command_table_names_each_command_and_its_module():
    """A run imports only its command's module (BUILTIN_COMMANDS): the table must not drift."""
    import importlib

    import typer
    from typer.main import get_command_name

    from artkit.cli import BUILTIN_COMMANDS, BUILTIN_MODULES, build_app

    def names(app: typer.Typer) -> list[str]:
        commands = [
            c.name or get_command_name(c.callback.__name__) for c in app.registered_commands
        ]
        return commands + [g.name or g.typer_instance.info.name for g in app.registered_groups]

    for module in BUILTIN_MODULES:
        app = typer.Typer()
        importlib.import_module(f"artkit.cli.{module}").attach(app)
        expected = {name for name, owner in BUILTIN_COMMANDS.items() if owner == module}
        assert set(names(app)) == expected, module
    assert sorted(names(build_app())) == sorted(BUILTIN_COMMANDS)
    assert names(build_app(only="grid")) == ["grid", "animate"]


def test_a_command_imports_only_its_own_cli_module():
    code = (
        "import sys; from artkit.cli import main; sys.argv = ['artkit', 'post', 'invert', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('artkit.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    loaded = eval(out.stdout.strip().splitlines()[-1])
    builtin_modules = {m for m in loaded if m.rsplit(".", 1)[1] not in ("context", "options")}
    assert "artkit.cli.post" in builtin_modules
    assert not builtin_modules & {"artkit.cli.train", "artkit.cli.data", "artkit.cli.render"}, (
        loaded
    )


def test_root_help_lists_every_command_from_stand_ins():
    """`artkit --help` converts no command signature (artkit.cli._listing_only) yet lists
    every built-in and plugin command and group with the summary its docstring gives."""
    from artkit.testing import run_cli

    result = run_cli(["--help"])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    from artkit.cli import BUILTIN_COMMANDS

    for name in [*BUILTIN_COMMANDS, "stylize", "translate"]:
        assert f" {name} " in text, name
    assert "Render a series spec: sweeps over seeds" in text  # render's docstring
    assert "Checkpoint files: upgrade an older schema" in text  # a group's help
    # and the commands still run after a help in the same process
    assert run_cli(["list", "models", "--json"]).exit_code == 0
