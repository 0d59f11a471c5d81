"""The README pipeline: sample | post | grid, through real shell pipes."""

from __future__ import annotations

import os
import subprocess
import sys

import torch
from PIL import Image

from artkit.checkpoint import build_model, save_model
from artkit.images import read_provenance
from tests.helpers import read_image


def test_sample_post_grid_pipeline(tmp_path):
    torch.manual_seed(0)
    ckpt = save_model(
        build_model("mlp-gan", {"resolution": 16, "hidden": 16, "channels": 3}),
        tmp_path / "w.safetensors",
    )
    artkit = f"{sys.executable} -m artkit -q"
    script = (
        f"set -o pipefail; {artkit} sample {ckpt} -n 6 -o s"
        f" | {artkit} post palette:colors=4 upscale:factor=2 -o p"
        f" | {artkit} grid --labels seed -o sheet.png"
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sheet.png"
    posted = sorted((tmp_path / "p").glob("*.png"))
    assert len(posted) == 6
    prov = read_provenance(posted[0])
    assert prov["command"] == "sample" and prov["seed"] == 0
    assert [step.split(":")[0] for step in prov["post"]] == ["palette", "upscale"]
    assert read_image(posted[0]).size == (32, 32)
    assert len(Image.open(posted[0]).convert("RGB").getcolors(256)) <= 4
    sheet = read_provenance(tmp_path / "sheet.png")
    assert sheet["command"] == "grid" and sheet["source_count"] == 6
