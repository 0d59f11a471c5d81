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
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "artkit-plugin-cppn"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
ENV.pop("ARTKIT_DISABLE_PLUGINS", None)
ENV.pop("ARTKIT_LOAD_PLUGINS", None)


def make_env(folder: Path) -> Path:
    """A venv without pip whose site-packages also loads this environment's (torch, artkit)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    parent = sysconfig.get_paths()["purelib"]
    # addsitedir (not a bare path line) so artkit's own editable-install .pth runs too
    Path(site, "_artkit_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


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
    assert "plugin cppn: models: cppn; losses: ragan; postprocessors: pixelsort" in result.stdout
    return python


def test_the_plugin_shows_its_version_hooks_and_names(env_python):
    result = artkit(env_python, "plugins", "--json")
    info = next(json.loads(line) for line in result.stdout.splitlines() if '"cppn"' in line)
    assert info["version"] == "0.1.0" and info["status"] == "loaded"
    assert info["source"] == "entry point"
    assert set(info["hooks"]) == {
        "register_models", "register_losses", "register_postprocessors", "register_commands",
    }  # fmt: skip
    assert info["registered"]["models"] == ["cppn"]


def test_sample_post_grid_pipeline_through_the_plugin(env_python, tmp_path):
    sample = artkit(
        env_python, "sample", "cppn:width=48,height=32", "-n", "4", "-o", "a", cwd=tmp_path
    )
    assert sample.returncode == 0, sample.stderr
    post = artkit(
        env_python, "post", "pixelsort:lo=0.2,hi=0.8", "-o", "b", cwd=tmp_path, input=sample.stdout
    )
    assert post.returncode == 0, post.stderr
    grid = artkit(env_python, "grid", "-o", "sheet.png", cwd=tmp_path, input=post.stdout)
    assert grid.returncode == 0, grid.stderr
    sheet = Image.open(tmp_path / "sheet.png")
    assert sheet.size == (2 * (48 + 2) + 2, 2 * (32 + 2) + 2)  # 4 images, 2 columns
    sorted_images = sorted((tmp_path / "b").iterdir())
    assert len(sorted_images) == 4
    assert (
        Image.open(sorted_images[0]).tobytes()
        != Image.open(tmp_path / "a" / sorted_images[0].name).tobytes()
    )


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
    assert "10 passed" in result.stdout


def test_new_scaffolds_a_plugin_that_installs_and_passes_its_tests(env_python, tmp_path):
    made = artkit(env_python, "plugins", "new", "glitch", "-o", str(tmp_path / "glitch"))
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(tmp_path / "glitch")
    names = sorted(
        str(p.relative_to(tmp_path / "glitch")) for p in (tmp_path / "glitch").rglob("*.*")
    )
    assert names == [
        "README.md", "artkit_glitch/__init__.py", "artkit_glitch/steps.py",
        "pyproject.toml", "tests/test_plugin.py",
    ]  # fmt: skip
    installed = artkit(
        env_python, "plugins", "install", "-e", str(tmp_path / "glitch"), "--no-build-isolation"
    )
    assert installed.returncode == 0, installed.stderr
    assert "plugin glitch: postprocessors: glitch-tint" in installed.stdout
    tests = subprocess.run(
        [str(env_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, cwd=tmp_path / "glitch", env=ENV, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout[-2000:]
    removed = artkit(env_python, "plugins", "uninstall", "artkit-glitch")
    assert removed.returncode == 0 and removed.stdout.startswith("removed artkit-glitch 0.1.0")
    after = artkit(env_python, "list", "post", "--json")
    assert "glitch-tint" not in after.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["new", "Bad_Name"], "use lowercase letters, digits and single dashes"),
        (["install", "/no/such/folder"], "/no/such/folder: no such folder"),
        (["install", "-e", "somepackage"], "-e/--editable needs a folder"),
        (["uninstall", "torch"], "torch is not a plugin"),
        (["uninstall", "artkit-never-installed"], "artkit-never-installed: not installed"),
    ],
)
def test_plugin_command_mistakes_are_one_line_errors(env_python, tmp_path, args, message):
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


def test_install_refuses_when_pip_would_change_torch(env_python, tmp_path):
    """The rule on pip's own install report (pip's JSON format, ``--report``)."""
    from artkit.cli.plugins import guarded_changes

    installed = {"torch": "2.14.1", "torchvision": "0.29.1", "numpy": "2.1.0"}
    report = {
        "version": "1",
        "install": [
            {"metadata": {"name": "artkit-plugin-x", "version": "1.0"}},
            {"metadata": {"name": "Torch", "version": "2.15.0"}},
            {"metadata": {"name": "numpy", "version": "2.2.0"}},
        ],
    }
    assert guarded_changes(report, installed) == ["torch 2.14.1 -> 2.15.0"]
    same = {"install": [{"metadata": {"name": "torch", "version": "2.14.1"}}]}
    assert guarded_changes(same, installed) == []
    # and a real install that pip cannot resolve is one line, nothing changed
    fake = tmp_path / "fakevision"
    fake.mkdir()
    (fake / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "torchvision"\nversion = "99.0"\n[tool.setuptools]\npackages = []\n'
    )
    result = artkit(env_python, "plugins", "install", str(fake), "--no-build-isolation")
    assert result.returncode == 1
    assert [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: error: ")]
    assert "Traceback" not in result.stderr
