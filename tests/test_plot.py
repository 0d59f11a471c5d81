"""``artkit plot``: curves of several runs, one panel per metric, and its optional extra."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from artkit.cli.plot import run_labels, smooth
from artkit.testing import run_cli
from tests.helpers import one_error_line


def write_run(folder, scale: float, steps: int = 60, eval_every: int = 20):
    folder.mkdir(parents=True)
    rows = []
    for s in range(1, steps + 1):
        rows.append({"step": s, "epoch": s / 10, "time": s * 0.1, "it_per_s": 5.0,
                     "d_loss": scale / s, "g_loss": s * 0.1 * scale})  # fmt: skip
        if s % eval_every == 0:
            rows.append({"step": s, "eval_fd": 100 / s, "eval_kid": 1 / s, "eval_kid_std": 0.1 / s,
                         "eval_n": 2000, "eval_ref_n": 2000, "eval_seconds": 3.0,
                         "eval_features": "random-conv", "eval_best": True})  # fmt: skip
    text = "\n".join(json.dumps(r) for r in rows) + "\n{cut short by a cra"
    (folder / "metrics.jsonl").write_text(text)
    return folder


def plot(*args: str):
    pytest.importorskip("matplotlib")
    return run_cli(["plot", *args])


def decoded(path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB")


def test_plot_draws_one_panel_per_metric_and_one_line_per_run(tmp_path):
    a = write_run(tmp_path / "runs" / "run-a", 1.0)
    b = write_run(tmp_path / "runs" / "run-b", 2.0)
    result = plot(str(a), str(b), "-o", str(tmp_path / "all.png"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "all.png")
    # d_loss, g_loss, eval_fd, eval_kid: bookkeeping (eval_n, time, booleans, kid_std) is no panel
    assert "4 panels, 2 runs" in result.stderr
    three = plot(
        str(a),
        str(b),
        "-m",
        "d_loss",
        "-m",
        "g_loss",
        "-m",
        "eval_fd",
        "-o",
        str(tmp_path / "three.png"),
    )
    one = plot(str(a), "-m", "eval_kid", "-o", str(tmp_path / "one.png"))
    assert three.exit_code == one.exit_code == 0
    full, row, single = (
        decoded(tmp_path / "all.png"),
        decoded(tmp_path / "three.png"),
        decoded(tmp_path / "one.png"),
    )
    # 4 panels in rows of 3: two rows as wide as one row of three; one panel a third as wide
    assert full.width == row.width and full.height == pytest.approx(2 * row.height, rel=0.02)
    assert single.width == pytest.approx(row.width / 3, rel=0.02) and single.height == row.height
    colours = full.resize((128, 64)).getcolors(128 * 64)
    assert colours is not None and len(colours) > 20  # lines in several colours, not a blank page


def test_plot_writes_svg_and_pdf(tmp_path):
    run = write_run(tmp_path / "r", 1.0)
    for suffix, magic in (("svg", b"<?xml"), ("pdf", b"%PDF")):
        out = tmp_path / f"c.{suffix}"
        assert plot(str(run), "-o", str(out)).exit_code == 0
        assert out.read_bytes().startswith(magic)


def test_runs_with_the_same_folder_name_get_distinct_labels(tmp_path):
    a, b = tmp_path / "x" / "run", tmp_path / "y" / "run"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    assert run_labels([a, b]) == ["x/run", "y/run"]
    assert run_labels([a, tmp_path / "x"]) == ["run", "x"]


def test_smoothing_is_an_unbiased_moving_average():
    assert smooth([5.0, 5.0, 5.0], 0.9) == pytest.approx([5.0, 5.0, 5.0])  # no pull towards 0
    values = smooth([0.0] * 10 + [1.0] * 10, 0.6)
    assert values[9] == 0.0 and 0.5 < values[-1] <= 1.0 and values == sorted(values)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "nope"], "--metric nope: not logged; logged: d_loss, g_loss, eval_fd, eval_kid"),
        (["--smooth", "1"], "--smooth must be from 0 to 0.99"),
        (["-o", "curves.txt"], "-o curves.txt: use a .png"),
    ],
)
def test_plot_mistakes_are_one_line_errors(tmp_path, args, message):
    run = write_run(tmp_path / "r", 1.0)
    result = plot(str(run), *args)
    assert result.exit_code == 2 and message in one_error_line(result.stderr)


def test_plot_of_a_folder_without_metrics_is_a_usage_error(tmp_path):
    result = plot(str(tmp_path))
    assert result.exit_code == 2 and "no metrics.jsonl" in one_error_line(result.stderr)


def test_plot_without_matplotlib_names_the_extra(tmp_path):
    write_run(tmp_path / "r", 1.0)
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # what an install without the extra sees
        "from artkit.cli import main\n"
        f"main(['plot', {str(tmp_path / 'r')!r}, '-o', {str(tmp_path / 'c.png')!r}])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert (
        one_error_line(proc.stderr)
        == "artkit: error: artkit plot needs matplotlib: pip install 'artkit[plot]'"
    )
    assert not (tmp_path / "c.png").exists()
