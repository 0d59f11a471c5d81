"""`artkit demo`, the README's first command, end to end (shortened to ~20 s of training)."""

from __future__ import annotations

from PIL import Image

from artkit.animation import read_frames
from artkit.images import read_provenance
from tests.helpers import read_image
from tests.test_plugins import artkit_subprocess


def test_demo_trains_and_renders(tmp_path):
    out = tmp_path / "demo"
    # 30 s of training, then a series, a walk and 1,000 scored samples: slack for a busy box
    result = artkit_subprocess("demo", "--minutes", "0.5", "-o", str(out), timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        str(out / "run" / "weights.safetensors"),
        str(out / "contact-sheet.png"),
        str(out / "walk.gif"),
    ]
    series = sorted((out / "series").glob("*.png"))
    assert len(series) == 64
    assert read_provenance(series[0])["model"] == "shapegan"
    assert read_image(out / "contact-sheet.png").size[0] > 200
    assert len(read_frames(out / "walk.gif")) > 50
    assert (out / "run" / "weights.safetensors").exists()
    # it ends with its score against the data it learned from
    import json

    quality = json.loads((out / "quality.json").read_text())
    assert quality["samples"] == quality["reference"] == 1000 and quality["fd"] > 0
    assert 0 <= quality["precision"] <= 1 and 0 <= quality["recall"] <= 1
    assert f"quality:       FD {quality['fd']:.2f}" in result.stderr
    # and in the features of a classifier trained on which shape each picture shows
    classified = quality["classifier"]
    assert classified["features"].startswith("classifier:data=shapes") and classified["fd"] > 0
    assert f"FD {classified['fd']:.2f}, KID" in result.stderr
    # the recipe chose the run's settings and said so
    recipe = json.loads((out / "run" / "config.json").read_text())["recipe"]
    assert recipe["options"]["lr"] == 5e-4 and "compile" not in recipe["options"]  # < 1 min
    # running it again must not overwrite the first demo
    again = artkit_subprocess("demo", "--minutes", "0.5", "-o", str(out))
    assert again.returncode == 2 and "already holds a demo" in again.stderr


def test_demo_refuses_a_stranger_s_file_before_it_trains(tmp_path):
    out = tmp_path / "demo"
    (out / "series").mkdir(parents=True)
    Image.new("RGB", (4, 4), "blue").save(out / "series" / "000007.png")
    result = artkit_subprocess("demo", "--minutes", "0.5", "-o", str(out))
    assert result.returncode == 2
    assert "000007.png exists and was not written by artkit" in result.stderr
    assert not (out / "run").exists()  # no minutes spent on a run it could not keep
    (out / "series" / "000007.png").unlink()
    (out / "walk.gif").write_bytes(b"GIF89a not ours")
    result = artkit_subprocess("demo", "--minutes", "0.5", "-o", str(out))
    assert (
        result.returncode == 2 and "walk.gif exists and was not written by artkit" in result.stderr
    )
    assert not (out / "run").exists()
