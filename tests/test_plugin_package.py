"""Third-party plugins from outside the repo: the example package, install/uninstall/new.

A throwaway environment sees artkit's own packages through a ``.pth`` file (so
nothing is downloaded and ``.venv`` is never changed); ``artkit plugins install``
puts the example plugin ``examples/artkit-plugin-cppn`` into it with pip, and every
hook is then exercised through the real command line: a model, a post-processor,
a GAN loss and a command. Blocking the plugin removes its names; the scaffold from
``artkit plugins new`` installs and passes its own tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from artkit.testing import tiny_images

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "artkit-plugin-cppn"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
ENV.pop("ARTKIT_DISABLE_PLUGINS", None)
ENV.pop("ARTKIT_LOAD_PLUGINS", None)


def make_env(folder: Path, parent: str | None = None) -> Path:
    """A venv without pip whose site-packages also loads ``parent``'s (default: this one's)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    parent = parent or sysconfig.get_paths()["purelib"]
    # addsitedir (not a bare path line) so artkit's own editable-install .pth runs too
    Path(site, "_artkit_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


def site_packages(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def torch_version() -> str:
    from importlib.metadata import version

    return version("torch")


TORCH_BEFORE = torch_version()  # must be the same after every test here


def artkit(python: Path, *args: str, cwd: Path | None = None, env: dict | None = None, input=None):
    return subprocess.run(
        [str(python), "-m", "artkit", *args],
        capture_output=True, text=True, cwd=cwd, env=env or ENV, input=input, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def env_python(tmp_path_factory) -> Path:
    python = make_env(tmp_path_factory.mktemp("env") / "venv")
    result = artkit(python, "plugins", "install", str(EXAMPLE), "--no-build-isolation")
    assert result.returncode == 0, result.stderr
    assert "added artkit-plugin-cppn 0.1.0" in result.stdout
    assert (
        "plugin cppn: models: cppn, tinygan; losses: ragan; postprocessors: pixelsort"
        in result.stdout
    )
    return python


def test_the_plugin_shows_its_version_hooks_and_names(env_python):
    result = artkit(env_python, "plugins", "--json")
    info = next(json.loads(line) for line in result.stdout.splitlines() if '"cppn"' in line)
    assert info["version"] == "0.1.0" and info["status"] == "loaded"
    assert info["source"] == "entry point"
    assert set(info["hooks"]) == {
        "register_models", "register_losses", "register_postprocessors", "register_commands",
    }  # fmt: skip
    assert info["registered"] == {
        "models": ["cppn", "tinygan"], "losses": ["ragan"], "postprocessors": ["pixelsort"],
        "commands": ["cppn-zoom"],
    }  # fmt: skip
    table = artkit(env_python, "plugins")
    row = next(line for line in table.stdout.splitlines() if line.startswith("cppn "))
    assert "0.1.0" in row and "loaded" in row


def test_sample_post_grid_pipeline_through_the_plugin(env_python, tmp_path):
    """The issue's pipeline, through real shell pipes: cppn -> pixelsort -> contact sheet."""
    ak = f"{env_python} -m artkit"
    pipeline = (
        f"set -o pipefail; {ak} sample cppn:width=48,height=32,colour=hsv -n 4 -o a"
        f" | {ak} post pixelsort:lo=0.2,hi=0.8,direction=vertical -o b | {ak} grid -o sheet.png"
    )
    run = subprocess.run(
        ["bash", "-c", pipeline], capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "sheet.png"
    sheet = Image.open(tmp_path / "sheet.png").convert("RGB")
    assert sheet.size == (2 * (48 + 2) + 2, 2 * (32 + 2) + 2)  # 4 images, 2 columns, 2 px gaps
    for k in range(4):
        sample = Image.open(tmp_path / "a" / f"{k:06d}.png").convert("RGB")
        sorted_ = Image.open(tmp_path / "b" / f"{k:06d}.png").convert("RGB")
        x, y = 2 + (k % 2) * (48 + 2), 2 + (k // 2) * (32 + 2)
        assert sheet.crop((x, y, x + 48, y + 32)).tobytes() == sorted_.tobytes()  # tile k
        assert sorted_.tobytes() != sample.tobytes()  # pixelsort moved pixels...
        pixels = [np.asarray(im).reshape(-1, 3) for im in (sorted_, sample)]
        assert (np.sort(pixels[0], 0) == np.sort(pixels[1], 0)).all()  # ...and only moved them


def test_latent_walk_through_a_cppn(env_python, tmp_path):
    result = artkit(
        env_python, "interpolate", "cppn:width=32,height=32", "--seeds", "1,2,3",
        "--frames", "9", "-o", "walk.gif", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "walk.gif") as walk:
        assert walk.n_frames == 9 and walk.size == (32, 32)


def test_blocking_the_plugin_removes_its_names(env_python, tmp_path):
    blocked = {**ENV, "ARTKIT_DISABLE_PLUGINS": "cppn"}
    listed = artkit(env_python, "list", "models", "--json", env=blocked)
    assert listed.returncode == 0
    assert "cppn" not in {json.loads(line)["name"] for line in listed.stdout.splitlines()}
    post = artkit(env_python, "post", "pixelsort", "-i", "x.png", env=blocked)
    assert post.returncode == 2 and "unknown post-processor 'pixelsort'" in post.stderr
    command = artkit(env_python, "cppn-zoom", "--help", env=blocked)
    assert command.returncode == 2


def test_the_example_plugins_own_tests_pass(env_python, tmp_path):
    copy = tmp_path / "plugin"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    result = subprocess.run(
        [str(env_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, cwd=copy, env=ENV, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "17 passed" in result.stdout  # tinygan's train -> sample -> render included


def readme_plugin() -> dict[str, str]:
    """The minimal plugin in README's "Plugins" section: {file name: text}."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Plugins\n") : text.index("### Hook reference")]
    files = {}
    for block in re.findall(r"```(?:toml|python)\n(.*?)```", section, re.S):
        name = block.split("\n", 1)[0].removeprefix("# ").split(" ")[0]  # "# pyproject.toml"
        files[name] = block
    return files


def test_the_readme_minimal_plugin_works(env_python, tmp_path):
    files = readme_plugin()
    assert set(files) == {"pyproject.toml", "artkit_plugin_solarize/__init__.py"}
    assert sum(text.count("\n") for text in files.values()) < 30  # "under 30 lines"
    for name, text in files.items():
        (tmp_path / "plugin" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "plugin" / name).write_text(text)
    installed = artkit(
        env_python, "plugins", "install", str(tmp_path / "plugin"), "--no-build-isolation"
    )
    assert installed.returncode == 0, installed.stderr
    assert "plugin solarize: postprocessors: solarize" in installed.stdout
    source = tmp_path / "in.png"
    tiny_images(1, 32)[0].save(source)
    result = artkit(
        env_python, "post", "solarize:threshold=100", "-i", str(source), "-o", str(tmp_path / "o")
    )
    assert result.returncode == 0, result.stderr
    expected = ImageOps.solarize(Image.open(source).convert("RGB"), 100)
    assert Image.open(result.stdout.strip()).convert("RGB").tobytes() == expected.tobytes()
    bad = artkit(env_python, "post", "solarize:threshold=high", "-i", str(source))
    assert bad.returncode == 2 and "threshold='high' is not a valid int" in bad.stderr
    removed = artkit(env_python, "plugins", "uninstall", "solarize")
    assert removed.stdout == "removed artkit-plugin-solarize 0.1.0 (plugins: solarize)\n"


def test_new_scaffolds_a_plugin_that_installs_and_passes_its_tests(env_python, tmp_path):
    """``artkit-plugin-NAME``, lint-clean under its own ruff config (lazy ``torch_*.py``
    modules allowed), installed with its test extras, and its tests pass as generated."""
    root = tmp_path / "artkit-plugin-glitch"
    made = artkit(env_python, "plugins", "new", "glitch", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "artkit-plugin-glitch"
    assert f"artkit plugins install -e '{made.stdout.strip()}[test]'" in made.stderr
    assert "python -m pytest" in made.stderr
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*.*"))
    assert names == [
        "README.md", "artkit_plugin_glitch/__init__.py", "artkit_plugin_glitch/steps.py",
        "pyproject.toml", "tests/test_plugin.py",
    ]  # fmt: skip
    assert 'name = "artkit-plugin-glitch"' in (root / "pyproject.toml").read_text()
    readme = (root / "README.md").read_text()
    assert "python -m pytest" in readme and "\npytest" not in readme
    assert "artkit plugins install -e '.[test]'" in readme

    def ruff(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ruff", *args], capture_output=True, text=True, cwd=root
        )

    for lint in (["check", "--no-cache", "."], ["format", "--check", "."]):  # its own config
        result = ruff(*lint)
        assert result.returncode == 0, result.stdout + result.stderr
    # the convention the docs recommend: torch at module level only in lazily loaded modules
    heavy = "import torch\n\n\ndef build(**options):\n    return torch.nn.Identity()\n"
    (root / "artkit_plugin_glitch" / "torch_model.py").write_text(heavy)
    (root / "artkit_plugin_glitch" / "nn_layers.py").write_text(heavy)
    assert ruff("check", "--no-cache", ".").returncode == 0
    (root / "artkit_plugin_glitch" / "model.py").write_text(heavy)  # imported eagerly: banned
    flagged = ruff("check", "--no-cache", ".")
    assert flagged.returncode == 1 and "TID253" in flagged.stdout
    assert "model.py" in flagged.stdout and "torch_model.py" not in flagged.stdout
    for name in ("torch_model.py", "nn_layers.py", "model.py"):
        (root / "artkit_plugin_glitch" / name).unlink()

    installed = artkit(
        env_python, "plugins", "install", "-e", f"{root}[test]", "--no-build-isolation"
    )
    assert installed.returncode == 0, installed.stderr
    assert "added artkit-plugin-glitch 0.1.0" in installed.stdout
    assert "plugin glitch: postprocessors: glitch-tint" in installed.stdout
    tests = subprocess.run(
        [str(env_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, cwd=root, env=ENV, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout[-2000:]
    removed = artkit(env_python, "plugins", "uninstall", "artkit-plugin-glitch")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith("removed artkit-plugin-glitch 0.1.0")
    after = artkit(env_python, "list", "post", "--json")
    assert "glitch-tint" not in after.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["new", "Bad_Name"], "use lowercase letters, digits and single dashes"),
        (["install", "/no/such/folder"], "/no/such/folder: no such folder or file"),
        (["install", "-e", "somepackage"], "-e/--editable needs a plugin folder"),
        (["install", "-e", "somepackage[test]"], "-e/--editable needs a plugin folder"),
        (["install", "/no/such/folder[test]"], "/no/such/folder: no such folder or file"),
        (["install", "notes.txt"], "notes.txt: not a plugin folder or a .whl"),
        (["uninstall", "torch"], "torch is not a plugin"),
        (["uninstall", "gan"], "gan is part of artkit; artkit will not uninstall it"),
        (["uninstall", "artkit-never-installed"], "artkit-never-installed: not installed"),
    ],
)
def test_plugin_command_mistakes_are_one_line_errors(env_python, tmp_path, args, message):
    (tmp_path / "notes.txt").write_text("not a package")
    result = artkit(env_python, "plugins", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("artkit: error: ") and message in lines[-1]
    assert "Traceback" not in result.stderr


def test_new_refuses_a_folder_that_is_not_empty(env_python, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    result = artkit(env_python, "plugins", "new", "glitch", "-o", str(tmp_path / "busy"))
    assert result.returncode == 2 and "already exists and is not an empty folder" in result.stderr
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"
[project]
name = "{name}"
version = "{version}"
dependencies = {dependencies}
{entry_point}
[tool.setuptools]
packages = {packages}
"""


def write_package(folder: Path, name: str, version: str, *, requires=(), plugin: str = "") -> Path:
    """A tiny real distribution; with ``plugin`` it is an artkit plugin with one post-processor."""
    module = name.replace("-", "_")
    entry_point = f'[project.entry-points.artkit]\n{plugin} = "{module}"' if plugin else ""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        PYPROJECT.format(
            name=name, version=version, dependencies=json.dumps(list(requires)),
            entry_point=entry_point, packages=json.dumps([module] if plugin else []),
        )
    )  # fmt: skip
    if plugin:
        (folder / module).mkdir()
        (folder / module / "__init__.py").write_text(
            "from artkit import hookimpl\n\n\n@hookimpl\ndef register_postprocessors(register):\n"
            f"    register('{plugin}-copy', lambda image: image.copy(), keeps_size=True)\n"
        )
    return folder


def test_install_refuses_a_plugin_that_would_change_torch(env_python, tmp_path):
    """A plugin pinning another torch: pip's plan says so, artkit refuses, nothing is installed.

    The other torch is a metadata-only wheel (version 1.0.0) served from a local folder,
    so pip resolves it offline; ``--allow-torch-change`` then lets it through, in a
    throwaway environment of its own (pip never touches the parent ``.venv``).
    """
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
         "-w", str(wheels), str(write_package(tmp_path / "torch", "torch", "1.0.0"))],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    greedy = write_package(
        tmp_path / "greedy", "artkit-greedy", "0.1.0", requires=["torch==1.0.0"], plugin="greedy"
    )
    offline = {**ENV, "PIP_FIND_LINKS": str(wheels), "PIP_NO_INDEX": "1"}
    install = ("plugins", "install", str(greedy), "--no-build-isolation")

    refused = artkit(env_python, *install, env=offline)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"artkit: error: installing {greedy} would change torch {torch_version()} -> 1.0.0; "
        "pass --allow-core-change if that is what you want"
    ]
    listed = artkit(env_python, "list", "post", "--json")
    assert "greedy-copy" not in listed.stdout  # nothing was installed

    allowed_env = make_env(tmp_path / "allowed")
    allowed = artkit(allowed_env, *install, "--allow-torch-change", env=offline)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.splitlines() == [
        "added artkit-greedy 0.1.0",
        f"added torch 1.0.0 (was {torch_version()})",
        "plugin greedy: postprocessors: greedy-copy",
    ]
    assert torch_version() == TORCH_BEFORE  # this environment's torch is untouched


def test_install_mistakes_and_pip_failures_are_one_line(env_python, tmp_path):
    offline = {**ENV, "PIP_NO_INDEX": "1"}
    missing = artkit(env_python, "plugins", "install", "artkit-no-such-plugin", env=offline)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "artkit: error: pip cannot install artkit-no-such-plugin: ERROR: Could not find a version "
        "that satisfies the requirement artkit-no-such-plugin (from versions: none)"
    ]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[project\nname = ")  # not TOML
    failed = artkit(env_python, "plugins", "install", str(broken), "--no-build-isolation")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"artkit: error: pip cannot install {broken}")


def test_reinstalling_with_upgrade_changes_nothing(env_python):
    again = artkit(
        env_python, "plugins", "install", str(EXAMPLE), "--upgrade", "--no-build-isolation"
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert "already installed at this version, nothing changed" in again.stderr
    assert "pixelsort" in artkit(env_python, "list", "post", "--json").stdout


def test_uninstall_by_plugin_name_and_what_it_refuses(env_python, tmp_path):
    package = write_package(tmp_path / "pkg", "artkit-copier", "0.2.0", plugin="copier")
    installed = artkit(env_python, "plugins", "install", str(package), "--no-build-isolation")
    assert installed.stdout.splitlines() == [
        "added artkit-copier 0.2.0",
        "plugin copier: postprocessors: copier-copy",
    ]
    # a package that is no plugin (artkit's own dependencies above all) is left alone
    refused = artkit(env_python, "plugins", "uninstall", "pluggy")
    assert refused.returncode == 2
    assert "pluggy is not an artkit plugin (it has no artkit entry point)" in refused.stderr
    # a plugin installed in a parent environment: pip skips it, artkit says so
    child = make_env(tmp_path / "child", parent=site_packages(env_python))
    outside = artkit(child, "plugins", "uninstall", "copier")
    assert outside.returncode == 1
    assert "pip left artkit-copier in" in outside.stderr and "it is outside" in outside.stderr
    # by its plugin name, as `artkit plugins` shows it
    removed = artkit(env_python, "plugins", "uninstall", "copier")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == "removed artkit-copier 0.2.0 (plugins: copier)\n"
    assert "copier-copy" not in artkit(env_python, "list", "post", "--json").stdout
