"""Fast start: the everyday commands must never import torch (DESIGN.md principle 3)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import atexit, sys
heavy = ("torch", "torchvision", "numpy", "safetensors")
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
