"""Plugin loading: entry points, inline plugins, loose files, broken plugins, allow/block lists."""

from __future__ import annotations

import json
import textwrap

import pytest

import artkit
from artkit.plugins import get_host, get_registry
from artkit.testing import plugin_registered, run_cli

BUILTINS = {"gan", "vae", "style", "data", "post"}


def test_builtins_are_loaded_through_entry_points():
    infos = {i.name: i for i in get_host().plugin_infos()}
    assert set(infos) >= BUILTINS
    for name in BUILTINS:
        assert infos[name].source == "entry point"
        assert infos[name].status == "loaded", infos[name].error
        assert infos[name].version == artkit.__version__


def test_inline_plugin_registers_and_unregisters():
    class Inline:
        @artkit.hookimpl
        def register_losses(self, register):
            register("zero", "operator:mul", description="Always zero.\nMore text.")

    with plugin_registered(Inline(), name="inline"):
        entry = get_registry("losses").get("zero")
        assert entry.plugin == "inline"
        assert entry.description == "Always zero."
    assert "zero" not in get_registry("losses")


def test_plugin_raising_inside_hook_is_isolated(capsys):
    class Good:
        @artkit.hookimpl
        def register_models(self, register):
            register("good-model", "json:dumps")

    class Bad:
        @artkit.hookimpl
        def register_models(self, register):
            register("half-model", "json:dumps")
            raise RuntimeError("boom")

    with plugin_registered(Good(), name="good"), plugin_registered(Bad(), name="bad"):
        models = get_registry("models")
        assert "good-model" in models
        assert "half-model" not in models  # a failed plugin's entries are dropped
        err = capsys.readouterr().err
        assert "plugin 'bad' failed in register_models: RuntimeError: boom" in err
        assert get_host().infos["bad"].status == "failed"


def test_duplicate_name_across_plugins_blames_the_later_one(capsys):
    class First:
        @artkit.hookimpl
        def register_models(self, register):
            register("same", "json:dumps")

    class Second:
        @artkit.hookimpl
        def register_models(self, register):
            register("same", "json:loads")

    with plugin_registered(First(), name="first"), plugin_registered(Second(), name="second"):
        assert get_registry("models").get("same").plugin == "first"
        assert "registered by both plugin 'first' and plugin 'second'" in capsys.readouterr().err


def _write(folder, name, code):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(code))


GOOD_FILE = """
    import artkit

    __version__ = "1.2.3"

    @artkit.hookimpl
    def register_postprocessors(register):
        register("loose-invert", lambda image: image, description="From a loose file.")
"""


def test_loose_file_plugins_from_env_dir(tmp_path, monkeypatch):
    _write(tmp_path / "p", "looseplug.py", GOOD_FILE)
    monkeypatch.setenv("ARTKIT_PLUGINS_DIR", str(tmp_path / "p"))
    entry = get_registry("postprocessors").get("loose-invert")
    assert entry.plugin == "looseplug"
    info = get_host().infos["looseplug"]
    assert info.source == "plugins dir" and info.version == "1.2.3"


def artkit_subprocess(*args, env=None, timeout=60):
    """Run the real console entry point in a fresh interpreter."""
    import os
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "artkit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def test_broken_loose_plugin_keeps_everything_else_working(tmp_path):
    _write(tmp_path / "p", "looseplug.py", GOOD_FILE)
    _write(tmp_path / "p", "broken.py", "import artkit\nraise ImportError('needs libfoo')\n")
    _write(
        tmp_path / "p",
        "typo.py",
        "import artkit\n@artkit.hookimpl\ndef register_model(register):\n    pass\n",
    )
    args = ["--plugins-dir", str(tmp_path / "p")]
    result = artkit_subprocess(*args, "list", "post", "--json")
    assert result.returncode == 0, result.stderr
    names = [json.loads(line)["name"] for line in result.stdout.splitlines()]
    assert "loose-invert" in names
    assert "plugin 'broken' import failed: ImportError: needs libfoo" in result.stderr
    assert "Traceback" not in result.stderr
    result = artkit_subprocess("plugins", "--json", env={"ARTKIT_PLUGINS_DIR": str(tmp_path / "p")})
    assert result.returncode == 0, result.stderr
    infos = {d["name"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert infos["broken"]["status"] == "failed"
    assert "needs libfoo" in infos["broken"]["error"]
    assert "did you mean 'register_models'" in infos["typo"]["error"]
    assert infos["looseplug"]["registered"] == {"postprocessors": ["loose-invert"]}


def test_missing_plugins_dir_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        run_cli(["--plugins-dir", str(tmp_path / "nope"), "plugins"])
    assert exc.value.code == 2


def test_disable_blocks_and_load_restricts(monkeypatch):
    monkeypatch.setenv("ARTKIT_DISABLE_PLUGINS", "gan,vae")
    infos = {i.name: i for i in get_host().plugin_infos()}
    assert infos["gan"].status == "blocked" and infos["vae"].status == "blocked"
    assert get_host().pm.is_blocked("gan")
    artkit.plugins.reset()
    monkeypatch.delenv("ARTKIT_DISABLE_PLUGINS")
    monkeypatch.setenv("ARTKIT_LOAD_PLUGINS", "data")
    assert {i.name for i in get_host().plugin_infos()} == {"data"}


def test_a_plugin_that_exits_does_not_end_artkit(tmp_path):
    """sys.exit() at import or SystemExit in a hook is a broken plugin, not the end of artkit."""
    _write(tmp_path / "p", "quitter.py", "import sys\nsys.exit(0)\n")
    _write(
        tmp_path / "p",
        "hookexit.py",
        "import artkit\n@artkit.hookimpl\ndef register_postprocessors(register):\n    raise SystemExit(7)\n",
    )
    _write(tmp_path / "p", "looseplug.py", GOOD_FILE)
    args = ["--plugins-dir", str(tmp_path / "p")]
    version = artkit_subprocess(*args, "--version")
    assert version.returncode == 0 and version.stdout.startswith("artkit "), version.stderr
    result = artkit_subprocess(*args, "list", "post", "--json")
    assert result.returncode == 0, result.stderr
    names = [json.loads(line)["name"] for line in result.stdout.splitlines()]
    assert "loose-invert" in names and "grade" in names
    assert "plugin 'quitter' import failed: SystemExit: 0" in result.stderr
    assert "plugin 'hookexit' failed in register_postprocessors: SystemExit: 7" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_plugin_command_cannot_replace_a_builtin_or_an_earlier_one(tmp_path):
    code = """
        import artkit

        @artkit.hookimpl
        def register_commands(app):
            @app.command("info")
            def info():
                print("HIJACKED")

            @app.command("{own}")
            def own():
                print("{own} ran")
    """
    _write(tmp_path / "p", "aaa.py", code.replace("{own}", "aaa-cmd"))
    _write(tmp_path / "p", "bbb.py", code.replace("{own}", "aaa-cmd").replace("aaa-cmd ran", "x"))
    args = ["--plugins-dir", str(tmp_path / "p")]
    png = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(png)
    result = artkit_subprocess(*args, "info", str(png))
    assert result.returncode == 0, result.stderr
    assert "HIJACKED" not in result.stdout
    assert "plugin 'aaa' command 'info' clashes with a built-in command" in result.stderr
    mine = artkit_subprocess(*args, "aaa-cmd")
    assert mine.returncode == 0 and mine.stdout.strip() == "aaa-cmd ran", mine.stderr
    assert "plugin 'bbb' command 'aaa-cmd' clashes with plugin 'aaa''s command" in mine.stderr
    quiet = artkit_subprocess("-q", *args, "aaa-cmd")  # -q: only errors, clashes included
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


@pytest.mark.parametrize(
    ("plugin", "commands"), [("style", {"stylize"}), ("translate", {"translate"})]
)
def test_a_plugins_commands_go_with_it(plugin, commands):
    """stylize and translate are the style and translate plugins' own commands."""
    shown = artkit_subprocess("--help")
    blocked = artkit_subprocess("--help", env={"ARTKIT_DISABLE_PLUGINS": plugin})
    assert shown.returncode == blocked.returncode == 0, blocked.stderr

    def listed(text):
        return {
            line.split()[1]
            for line in text.splitlines()
            if line.startswith("│ ") and len(line.split()) > 2
        }

    assert commands <= listed(shown.stdout)
    assert not commands & listed(blocked.stdout)
    gone = artkit_subprocess(next(iter(commands)), "--help", env={"ARTKIT_DISABLE_PLUGINS": plugin})
    assert gone.returncode == 2 and "No such command" in gone.stderr


def test_the_fast_entry_point_scan_agrees_with_importlib_metadata():
    """artkit.entry_points reads dist-info folders itself (start-up time); it must find
    what importlib.metadata finds, for artkit's group and for busier ones."""
    import importlib.metadata

    from artkit.entry_points import _scan

    for group in ("artkit", "console_scripts", "pytest11"):
        ours = sorted((e.name, e.value, e.dist._normalized_name) for e in _scan(group))
        theirs = sorted(
            (e.name, e.value, e.dist._normalized_name)
            for e in importlib.metadata.entry_points(group=group)
        )
        assert ours == theirs, group
    versions = {e.dist.version for e in _scan("artkit")}
    assert versions == {importlib.metadata.version("artkit")}
