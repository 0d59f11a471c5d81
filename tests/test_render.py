"""``artkit render`` and ``artkit reproduce`` on real (tiny, trained) checkpoints.

Spec validation with one-line errors; product and zip sweeps; dry runs that compute
nothing; resumable renders that skip what is there and survive ``kill -9``;
byte-identical re-renders; manifests in plan order; sharding by hand and under
torchrun with no duplicates; labelled grid sheets; latent walks; and ``reproduce``
on sampled, post-processed and stylised images.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model, save_model
from artkit.images import read_provenance
from artkit.plugins import get_registry
from artkit.render.plan import Plan, Shard
from artkit.render.sheets import draw_sheet
from artkit.render.spec import load_spec
from artkit.testing import run_cli
from tests.helpers import one_error_line, read_image, train_tiny_dcgan

pytestmark = pytest.mark.usefixtures("one_thread")

SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def models(tmp_path_factory, one_thread) -> Path:
    """A folder with two dcgan runs (``a``, ``b``), each trained for a few real steps."""
    root = tmp_path_factory.mktemp("models")
    for i, name in enumerate(("a", "b")):
        train_tiny_dcgan(root / name, seed=i)
    return root


def write_spec(
    folder: Path, models: Path, body: str, name: str = "series.toml", top: str = ""
) -> Path:
    """``body`` with MODELS filled in and ``top`` (top-level keys) where it says TOP."""
    folder.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(body).replace("MODELS", str(models)).replace("TOP", top)
    path = folder / name
    path.write_text(text)
    return path


BASIC = """
    series = "demo"
    out = "renders"
    template = "{series}/{checkpoint}/{seed:04d}-t{truncation}.png"
    batch_size = 4
    TOP
    [sweep]
    checkpoint = ["MODELS/a", "MODELS/b"]
    seed = "0-4"
    truncation = [0.5, 1.0]
"""


def render(*args: str):
    return run_cli(["--device", "cpu", "render", *args])


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- the spec ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        ("series = 'x'\ntemplat = 'a.png'", "templat: unknown key; did you mean 'template'?"),
        ("template = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'", "series: missing"),
        ("series = 'x'\ntemplate = '{seed}.png'", "model.checkpoint: missing"),
        (
            "series = 'x'\ntemplate = '{sed}.png'\n[model]\ncheckpoint = 'MODELS/a'",
            "template: unknown field {sed}; did you mean {seed}?",
        ),
        (
            "series = 'x'\ntemplate = '/tmp/{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'",
            "must be a relative path inside the output folder",
        ),
        (
            "series = 'x'\ntemplate = '../{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'",
            "template: '../{seed}.png' must not contain '..'",
        ),
        (
            "series = 'x'\ntemplate = '{seed.real}.png'\n[model]\ncheckpoint = 'MODELS/a'",
            "{seed.real} is not allowed",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.gif'\n[model]\ncheckpoint = 'MODELS/a'",
            "must end with one of .png, .webp, .jpg",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[sweep]\nseed = '0-9'\ntruncation = [0.5, 1.0]",
            "several images would share one name; add {truncation}",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[sweep]\nseed = '9-3'",
            "sweep.seed: '9-3' is not an ascending range",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[sweep]\nseed = '9223372036854775807-9223372036854775808'",
            "is too large for a seed",
        ),
        (
            "series = 'x'\ntemplate = '{seed}-{truncation}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[sweep]\ncombine = 'zip'\nseed = '0-9'\ntruncation = [0.5, 1.0]",
            "zip needs axes of equal length (seed has 10, truncation has 2)",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[sweep]\ncombine = 'cross'",
            "sweep.combine: 'cross'",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[sweep]\ntruncation = 'high'",
            "sweep.truncation: expected a number, got 'high'",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[[sheet]]\nrows = 'seed'\ncolumns = 'truncation'",
            "sheet[0].columns: 'truncation' is not an axis",
        ),
        (
            "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'MODELS/a'\n"
            "[[walk]]\nseeds = [1]",
            "walk[0].seeds: give at least two seeds",
        ),
        ("series = 'x'\ntemplate = [", "not valid TOML"),
        (
            "series = 'x'\ntemplate = '{seed}.png'\npost = ['sharpen:radius=-1']\n"
            "[model]\ncheckpoint = 'MODELS/a'",
            "post: sharpen",
        ),
    ],
)
def test_spec_errors_are_one_line_usage_errors_naming_the_key(models, tmp_path, body, message):
    spec = write_spec(tmp_path, models, body)
    result = render(str(spec))
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert line.startswith("artkit: error: series.toml: ")
    assert message in line
    assert not (tmp_path / "renders").exists()


def test_missing_spec_and_checkpoint_are_one_line_errors(models, tmp_path):
    result = render(str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "no such series spec" in one_error_line(result.stderr)
    spec = write_spec(
        tmp_path, models, "series = 'x'\ntemplate = '{seed}.png'\n[model]\ncheckpoint = 'gone'"
    )
    result = render(str(spec))
    assert result.exit_code == 2
    assert "gone: no such checkpoint file or run folder" in one_error_line(result.stderr)


def test_an_axis_the_sampler_does_not_take_is_refused_before_writing(models, tmp_path):
    spec = write_spec(
        tmp_path,
        models,
        """
        series = "x"
        template = "{seed}-{wobble}.png"
        [model]
        checkpoint = "MODELS/a"
        [sweep]
        wobble = [1, 2]
        """,
    )
    result = render(str(spec))
    assert result.exit_code == 2
    assert "sweep.wobble: model 'dcgan' has no sampler option 'wobble'" in one_error_line(
        result.stderr
    )
    assert not list((tmp_path).rglob("*.png"))


def test_product_and_zip_sweeps(models, tmp_path):
    product = load_spec(write_spec(tmp_path, models, BASIC))
    plan = Plan(product)
    assert plan.total == 2 * 5 * 2 == len(list(plan))
    # the model outermost and the seed innermost, whatever the order in the file
    assert [a.name for a in product.axes] == ["checkpoint", "truncation", "seed"]
    first = [(Path(j.params["checkpoint"]).name, j.params["truncation"], j.params["seed"])
             for j in list(plan)[:6]]  # fmt: skip
    assert first == [("a", 0.5, s) for s in range(5)] + [("a", 1.0, 0)]
    combos = {(j.params["checkpoint"], j.params["truncation"], j.params["seed"]) for j in plan}
    assert len(combos) == 20

    zipped = load_spec(
        write_spec(
            tmp_path,
            models,
            """
            series = "z"
            template = "{index:03d}-{seed}-{truncation}.png"
            [model]
            checkpoint = "MODELS/a"
            [sweep]
            combine = "zip"
            seed = [3, 1, 4]
            truncation = [0.5, 0.7, 0.9]
            """,
            name="zip.toml",
        )
    )
    jobs = list(Plan(zipped))
    assert [(j.params["seed"], j.params["truncation"]) for j in jobs] == [
        (3, 0.5), (1, 0.7), (4, 0.9),
    ]  # fmt: skip
    assert [j.path for j in jobs] == ["000-3-0.5.png", "001-1-0.7.png", "002-4-0.9.png"]


def test_shards_partition_the_plan(models, tmp_path):
    spec = load_spec(write_spec(tmp_path, models, BASIC))
    everything = [j.index for j in Plan(spec)]
    parts = [[j.index for j in Plan(spec, Shard(i, 3))] for i in range(3)]
    assert sorted(i for part in parts for i in part) == everything
    assert [len(p) for p in parts] == [7, 7, 6]
    with pytest.raises(Exception, match="use I/N with 1 <= I <= N"):
        Shard.parse("4/3")


def test_dry_run_prints_the_plan_and_computes_nothing(models, tmp_path):
    spec = write_spec(tmp_path, models, BASIC)
    result = render(str(spec), "--dry-run")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "total     20 images" in text
    assert "checkpoint      2  a, b" in text and "seed            5  0-4" in text
    assert "demo/a/0000-t0.5.png" in text and "demo/b/0004-t1.0.png" in text
    assert not (tmp_path / "renders").exists()

    result = render(str(spec), "--dry-run", "--json", "--shard", "2/2")
    plan = json.loads(result.stdout)
    assert plan["total"] == 20 and plan["in_shard"] == 10 and plan["shard"] == "2/2"
    assert plan["axes"] == {"checkpoint": 2, "truncation": 2, "seed": 5}

    # and without importing torch (a fresh process)
    code = (
        "import sys; from artkit.cli import main\n"
        "try: main(['render', sys.argv[1], '--dry-run'])\n"
        "except SystemExit: pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(spec)], capture_output=True, text=True, env=SUB_ENV
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("NO-TORCH")


# -- rendering -------------------------------------------------------------------------------


def test_render_writes_every_image_with_provenance_and_a_manifest(models, tmp_path):
    spec = write_spec(tmp_path, models, BASIC, top='post = ["sharpen"]')
    result = render(str(spec))
    assert result.exit_code == 0, result.output
    out = tmp_path / "renders"
    printed = result.stdout.splitlines()
    rows = manifest(out)
    assert [r["index"] for r in rows] == list(range(20))
    assert printed == [str(out / r["path"]) for r in rows]
    for row in rows:
        path = out / row["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        assert read_image(path).size == (32, 32)
    row = rows[7]
    assert row["params"] == {"checkpoint": f"{os.path.relpath(models, tmp_path)}/a",
                             "seed": 2, "truncation": 1.0}  # fmt: skip
    prov = read_provenance(out / row["path"])
    assert prov["command"] == "render" and prov["series"] == "demo" and prov["index"] == 7
    assert prov["seed"] == 2 and prov["truncation"] == 1.0 and prov["model"] == "dcgan"
    assert prov["post"] == ["sharpen:radius=2.0,percent=150,threshold=3"]
    # the two checkpoints give different pictures for the same seed
    a = (out / "demo/a/0000-t1.0.png").read_bytes()
    b = (out / "demo/b/0000-t1.0.png").read_bytes()
    assert a != b
    # images of one seed at two truncations differ too, and seed images match `artkit sample`
    sample = run_cli(["--device", "cpu", "sample", str(models / "a"), "--seeds", "3",
                      "--truncation", "0.5", "-o", str(tmp_path / "s")])  # fmt: skip
    assert sample.exit_code == 0
    plain = render_without_post(models, tmp_path)
    assert pixels(plain / "demo/a/0003-t0.5.png") == pixels(tmp_path / "s/000003.png")


def render_without_post(models: Path, tmp_path: Path) -> Path:
    spec = write_spec(tmp_path / "plain", models, BASIC)
    assert render(str(spec)).exit_code == 0
    return tmp_path / "plain/renders"


def pixels(path: Path) -> bytes:
    return Image.open(path).convert("RGB").tobytes()


def test_rerender_is_byte_identical_and_resume_skips_what_is_there(models, tmp_path):
    body = BASIC + '\n[[sheet]]\nrows = "truncation"\ncolumns = "seed"\n'
    first = write_spec(tmp_path / "one", models, body)
    second = write_spec(tmp_path / "two", models, body)
    assert render(str(first)).exit_code == 0
    assert render(str(second)).exit_code == 0
    one, two = digests(tmp_path / "one/renders"), digests(tmp_path / "two/renders")
    assert one == two and len(one) == 22  # 20 images, the manifest, the sheet

    again = render(str(first))
    assert "0 rendered" in again.stderr and "20 already there" in again.stderr
    assert digests(tmp_path / "one/renders") == one

    forced = render(str(first), "--force")
    assert "20 rendered" in forced.stderr
    assert digests(tmp_path / "one/renders") == one

    # a changed plan (another post chain) re-renders the stale files
    changed = write_spec(tmp_path / "one", models, BASIC, top='post = ["greyscale"]')
    result = render(str(changed))
    assert "20 rendered" in result.stderr and "20 replaced" in result.stderr
    assert read_image(tmp_path / "one/renders/demo/a/0000-t0.5.png").mode in ("L", "RGB")


def test_a_deleted_or_corrupt_image_is_rendered_again(models, tmp_path):
    spec = write_spec(tmp_path, models, BASIC)
    assert render(str(spec)).exit_code == 0
    out = tmp_path / "renders"
    before = digests(out)
    (out / "demo/a/0001-t0.5.png").unlink()
    (out / "demo/b/0002-t1.0.png").write_bytes(b"not a png")
    result = render(str(spec))
    assert "2 rendered" in result.stderr and "18 already there" in result.stderr
    assert digests(out) == before


def test_kill_9_mid_render_then_resume_completes_without_duplicates(models, tmp_path):
    spec = write_spec(
        tmp_path,
        models,
        """
        series = "long"
        out = "renders"
        template = "{series}/{seed:05d}.png"
        batch_size = 8
        post = ["sharpen", "grain:amount=0.1"]
        [model]
        checkpoint = "MODELS/a"
        [sweep]
        seed = "0-599"
        """,
    )
    out = tmp_path / "renders"
    with subprocess.Popen(  # `with`: the pipe is closed here, not left to the collector
        [sys.executable, "-m", "artkit", "--device", "cpu", "render", str(spec)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=SUB_ENV,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        for _ in range(40):  # wait until a few dozen images exist, then kill hard
            proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(list((out / "long").glob("*.png")))
    assert 40 <= done_before < 600
    assert not (out / "manifest.jsonl").exists()  # never half a manifest

    result = render(str(spec))
    assert result.exit_code == 0, result.output
    rows = manifest(out)
    assert [r["index"] for r in rows] == list(range(600))
    assert len({r["path"] for r in rows}) == 600
    files = sorted((out / "long").iterdir())
    assert [p.name for p in files] == [f"{s:05d}.png" for s in range(600)]  # no temp files left
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    for p in files:
        with Image.open(p) as im:
            im.load()  # every file decodes
    assert f"{600 - done_before} rendered" in result.stderr or "rendered" in result.stderr


SMALL = """
    series = "s"
    out = "r"
    template = "{seed:04d}.png"
    TOP
    [model]
    checkpoint = "MODELS/a"
    [sweep]
    seed = "0-59"
"""


def check_consistent_after_failure(out: Path, result) -> None:
    """One line saying how far it got, no manifest, no temp file, every image whole."""
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "of 60 images done" in line and "run the same command to resume" in line, line
    assert not (out / "manifest.jsonl").exists()  # the old one named replaced files
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    for path in out.glob("*.png"):
        assert read_provenance(path)["seed"] == int(path.stem)  # whole, with provenance


def resume_completes(spec: Path, out: Path) -> None:
    result = render(str(spec))
    assert result.exit_code == 0, result.output
    rows = manifest(out)
    assert [r["index"] for r in rows] == list(range(60))
    for row in rows:
        assert hashlib.sha256((out / row["path"]).read_bytes()).hexdigest() == row["sha256"]


def test_a_write_error_mid_render_leaves_no_stale_manifest_and_resumes(
    models, tmp_path, monkeypatch
):
    """An OSError in the 25th image write (as a full disk gives): one line, and the
    existing manifest -- whose files are being replaced -- is gone, not stale."""
    import errno
    import threading

    from artkit.render import runner

    spec = write_spec(tmp_path, models, SMALL)
    assert render(str(spec)).exit_code == 0
    out = tmp_path / "r"
    spec = write_spec(tmp_path, models, SMALL, top='post = ["grain:amount=0.3"]')
    real, lock, calls = runner.write_one, threading.Lock(), [0]

    def failing(image, target, *args):
        with lock:
            calls[0] += 1
            if calls[0] >= 25:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return real(image, target, *args)

    monkeypatch.setattr(runner, "write_one", failing)
    result = render(str(spec))
    check_consistent_after_failure(out, result)
    assert "No space left on device" in result.stderr
    monkeypatch.setattr(runner, "write_one", real)
    resume_completes(spec, out)


def test_a_really_full_disk_mid_render(models, tmp_path):
    """A 160 KB tmpfs fills while 30 images are replaced and 30 more added (root only)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        body = SMALL.replace("0-59", "0-29")
        assert render(str(write_spec(disk, models, body))).exit_code == 0
        spec = write_spec(disk, models, SMALL, top='post = ["grain:amount=0.3"]')
        result = render(str(spec))
        check_consistent_after_failure(disk / "r", result)
        assert "no space left on device" in result.stderr.lower()
        subprocess.run(["mount", "-o", "remount,size=2m", str(disk)], check=True)
        resume_completes(spec, disk / "r")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_shards_by_hand_merge_into_the_same_manifest(models, tmp_path):
    whole = write_spec(tmp_path / "whole", models, BASIC)
    parts = write_spec(tmp_path / "parts", models, BASIC)
    assert render(str(whole)).exit_code == 0
    first = render(str(parts), "--shard", "1/2")
    assert first.exit_code == 0 and len(first.stdout.splitlines()) == 10
    assert "merged when every shard is" in first.stderr
    assert not (tmp_path / "parts/renders/manifest.jsonl").exists()
    second = render(str(parts), "--shard", "2/2")
    assert second.exit_code == 0
    assert set(first.stdout.splitlines()).isdisjoint(second.stdout.splitlines())
    merged = (tmp_path / "parts/renders/manifest.jsonl").read_bytes()
    assert merged == (tmp_path / "whole/renders/manifest.jsonl").read_bytes()


def test_two_process_torchrun_renders_each_shard_once(models, tmp_path):
    spec = write_spec(
        tmp_path, models, BASIC + '\n[[sheet]]\nrows = "checkpoint"\ncolumns = "seed"\n'
    )
    t0 = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "artkit", "--device", "cpu", "render", str(spec)],
        capture_output=True, text=True, env=SUB_ENV, timeout=300,
    )  # fmt: skip
    print(f"torchrun took {time.monotonic() - t0:.1f}s")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    printed = result.stdout.splitlines()
    assert len(printed) == 20 and len(set(printed)) == 20  # every image once, by one rank
    out = tmp_path / "renders"
    assert [r["index"] for r in manifest(out)] == list(range(20))
    assert (out / "manifest.shard-1-of-2.jsonl").exists()
    assert (out / "demo/sheet-checkpoint-by-seed.png").exists()
    # the same pictures as a single-process render (files differ only in the relative
    # checkpoint path recorded in them: that render sits one folder deeper)
    single = write_spec(tmp_path / "single", models, BASIC)
    assert render(str(single)).exit_code == 0
    for row in manifest(out):
        assert pixels(out / row["path"]) == pixels(tmp_path / "single/renders" / row["path"])


# -- sheets and walks -----------------------------------------------------------------------


def test_grid_sheet_layout_and_labels():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    images = [Image.new("RGB", (20, 10), c) for c in colours for _ in range(2)]
    sheet = draw_sheet([0.5, 1.0, 1.5], ["a", "b"], images, row_title="t", col_title="ckpt")
    # margin + 2 columns of (20 + 4) + 4, band + 3 rows of (10 + 4) + 4
    assert (sheet.width - 2 * 24 - 4) > 0 and (sheet.height - 3 * 14 - 4) > 0
    margin, band = sheet.width - 2 * 24 - 4, sheet.height - 3 * 14 - 4
    for k, colour in enumerate(c for c in colours for _ in range(2)):
        i, j = divmod(k, 2)
        centre = (margin + j * 24 + 10, band + i * 14 + 5)
        assert sheet.getpixel(centre) == colour

    # labels: ink in the header band above each column and in the margin beside each row
    def inked(box):
        return set(sheet.crop(box).tobytes()) != {255}

    for j in range(2):
        assert inked((margin + j * 24, band // 2, margin + j * 24 + 20, band))
    for i in range(3):
        assert inked((0, band + i * 14, margin - 4, band + i * 14 + 10))
    # a missing combination is an empty cell
    holes = draw_sheet([1], ["x", "y"], [images[0], None], row_title="r", col_title="c")
    assert holes.getpixel((holes.width - 4 - 10, holes.height - 4 - 5)) == (255, 255, 255)


def test_series_sheet_and_walk_come_from_the_rendered_images(models, tmp_path):
    spec = write_spec(
        tmp_path,
        models,
        BASIC
        + """
        [[sheet]]
        rows = "truncation"
        columns = "seed"
        limit = 3
        where = { checkpoint = "b" }
        out = "{series}/sheet.png"

        [[walk]]
        seeds = [0, 3]
        frames = 6
        where = { checkpoint = "b", truncation = 0.5 }
        out = "{series}/walk.gif"
        """,
    )
    result = render(str(spec))
    assert result.exit_code == 0, result.output
    out = tmp_path / "renders"
    sheet = Image.open(out / "demo/sheet.png").convert("RGB")
    prov = read_provenance(out / "demo/sheet.png")
    assert prov["sheet"]["row_values"] == ["0.5", "1"] and prov["sheet"]["where"] == {
        "checkpoint": "b"
    }
    margin, band = sheet.width - 3 * 36 - 4, sheet.height - 2 * 36 - 4
    cell = sheet.crop((margin, band, margin + 32, band + 32))
    assert cell.tobytes() == Image.open(out / "demo/b/0000-t0.5.png").convert("RGB").tobytes()
    walk = Image.open(out / "demo/walk.gif")
    assert walk.n_frames == 6


def test_stylize_series_with_fast_style_models(tmp_path):
    if "fast-style" not in get_registry("models"):
        pytest.skip("the fast-style model is not registered")
    torch.manual_seed(0)
    model = build_model("fast-style", {"width": 4, "residual_blocks": 1})
    save_model(model, tmp_path / "styles/ink.safetensors")
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, colour in enumerate(["red", "teal"]):
        Image.new("RGB", (40, 30), colour).save(photos / f"p{i}.png")
    spec = tmp_path / "styled.toml"
    spec.write_text(
        textwrap.dedent(
            """
            series = "styled"
            out = "renders"
            template = "{series}/{style}/{content}-{size}.png"
            [sweep]
            style = ["styles/ink.safetensors"]
            content = ["photos/*.png"]
            size = [32, 48]
            """
        )
    )
    result = render(str(spec))
    assert result.exit_code == 0, result.output
    out = tmp_path / "renders/styled/ink"
    assert sorted(p.name for p in out.iterdir()) == [
        "p0-32.png", "p0-48.png", "p1-32.png", "p1-48.png",
    ]  # fmt: skip
    assert read_image(out / "p0-48.png").size == (48, 36)
    result = run_cli(["--device", "cpu", "reproduce", str(out / "p1-32.png")])
    assert result.exit_code == 0 and result.stdout.strip().endswith(": identical")


# -- reproduce -------------------------------------------------------------------------------


def test_reproduce_sampled_and_post_processed_images(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert (
        run_cli(["--device", "cpu", "sample", str(models / "a"), "-n", "2", "-o", "s"]).exit_code
        == 0
    )
    post = run_cli(["post", "palette:colors=6", "sharpen", "-i", "s", "-o", "p"])
    assert post.exit_code == 0, post.output
    result = run_cli(["--device", "cpu", "reproduce", "s/000000.png", "p/000001.png", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["identical", "identical"]

    # an image that was edited after the fact is reported with its pixel difference
    im = read_image("p/000001.png")
    prov = read_provenance("p/000001.png")
    edited = im.convert("RGB")
    edited.putpixel((3, 3), (255, 255, 255) if edited.getpixel((3, 3))[0] < 128 else (0, 0, 0))
    from artkit.images import save_image

    save_image(edited, tmp_path / "edited.png", provenance=prov)
    result = run_cli(["--device", "cpu", "reproduce", "edited.png"])
    assert result.exit_code == 1
    assert "different (largest pixel difference" in result.stdout
    assert "0.10% of pixels" in result.stdout  # 1 of 32*32


def test_reproduce_finds_a_moved_checkpoint_by_sha256(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = write_spec(tmp_path, models, BASIC)
    assert render(str(spec)).exit_code == 0
    image = tmp_path / "renders/demo/b/0004-t0.5.png"
    moved = tmp_path / "elsewhere/image.png"
    moved.parent.mkdir()
    shutil.copy(image, moved)
    lost = run_cli(["--device", "cpu", "reproduce", str(moved)])
    assert lost.exit_code == 1
    assert "cannot find weights.safetensors (sha256" in one_error_line(lost.stderr)
    found = run_cli(["--device", "cpu", "reproduce", str(moved), "--search", str(models)])
    assert found.exit_code == 0 and found.stdout.strip().endswith("identical")
    wrong = run_cli(["--device", "cpu", "reproduce", str(moved), "--checkpoint", str(models / "a")])
    assert wrong.exit_code == 1 and "is not the file it was made with" in one_error_line(
        wrong.stderr
    )


def test_reproduce_refuses_images_without_provenance(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    result = run_cli(["reproduce", str(tmp_path / "plain.png")])
    assert result.exit_code == 1
    assert "carries no artkit provenance" in one_error_line(result.stderr)


def test_format_key_webp_and_reproduce_of_a_lossy_image(models, tmp_path):
    spec = write_spec(
        tmp_path,
        models,
        """
        series = "w"
        out = "renders"
        template = "{series}/{seed}"
        format = "webp"
        quality = 80
        [model]
        checkpoint = "MODELS/a"
        [sweep]
        seed = [5, 6]
        """,
    )
    assert render(str(spec)).exit_code == 0
    image = tmp_path / "renders/w/5.webp"
    assert read_image(image).format == "WEBP"
    assert read_provenance(image)["quality"] == 80
    result = run_cli(["--device", "cpu", "reproduce", str(image)])
    assert result.exit_code == 0 and result.stdout.strip().endswith("identical"), result.output
    bad = write_spec(
        tmp_path, models, "series = 'x'\ntemplate = '{seed}.png'\nformat = 'webp'\n"
        "[model]\ncheckpoint = 'MODELS/a'", name="bad.toml",
    )  # fmt: skip
    result = render(str(bad))
    assert result.exit_code == 2
    assert "format: 'webp' but the template ends in .png" in one_error_line(result.stderr)


def test_reproduce_a_stylize_command_result(tmp_path, monkeypatch):
    if "fast-style" not in get_registry("models"):
        pytest.skip("the fast-style model is not registered")
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(1)
    save_model(
        build_model("fast-style", {"width": 4, "residual_blocks": 1}), tmp_path / "f.safetensors"
    )
    Image.new("RGB", (36, 28), "orange").save(tmp_path / "photo.png")
    made = run_cli(
        ["--device", "cpu", "stylize", "photo.png", "--model", "f.safetensors", "-o", "st"]
    )
    assert made.exit_code == 0, made.output
    (path,) = made.stdout.split()
    result = run_cli(["--device", "cpu", "reproduce", path])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{path}: identical"
    Path("photo.png").unlink()  # the content image is part of the recipe
    result = run_cli(["--device", "cpu", "reproduce", path])
    assert result.exit_code == 1 and "cannot find its content image" in one_error_line(
        result.stderr
    )


def test_gatys_series_over_style_images_and_its_reproduction(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    Image.radial_gradient("L").resize((40, 32)).convert("RGB").save("photos/round.png")
    Image.linear_gradient("L").resize((32, 40)).convert("RGB").save("photos/ramp.png")
    (tmp_path / "styles").mkdir()
    stripes = Image.new("RGB", (32, 32), "navy")
    for x in range(0, 32, 4):
        stripes.paste((250, 200, 0), (x, 0, x + 2, 32))
    stripes.save("styles/stripes.png")
    Path("g.toml").write_text(
        textwrap.dedent(
            """
            series = "g"
            out = "renders"
            template = "{series}/{content}-{style}-w{style_weight:g}.png"
            [sweep]
            content = ["photos"]
            style = ["styles/stripes.png"]
            style_weight = [100.0, 2000.0]
            [stylize]
            size = 32
            steps = 8
            extractor = "random-multiscale"
            """
        )
    )
    result = render("g.toml")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in Path("renders/g").iterdir())
    assert files == [
        "ramp-stripes-w100.png", "ramp-stripes-w2000.png",
        "round-stripes-w100.png", "round-stripes-w2000.png",
    ]  # fmt: skip
    prov = read_provenance("renders/g/round-stripes-w2000.png")
    assert prov["method"] == "gatys" and prov["extractor"] == "random-multiscale"
    assert prov["steps"] == 8 and prov["style_weight"] == 2000.0 and prov["size"] == 32
    assert pixels(Path("renders/g/round-stripes-w100.png")) != pixels(
        Path("renders/g/round-stripes-w2000.png")
    )
    again = render("g.toml")
    assert "0 rendered" in again.stderr and "4 already there" in again.stderr
    check = run_cli(["--device", "cpu", "reproduce", "renders/g/ramp-stripes-w2000.png"])
    assert check.exit_code == 0 and check.stdout.strip().endswith("identical"), check.output
    # a bad Gatys option is a one-line error naming the key
    Path("bad.toml").write_text(Path("g.toml").read_text().replace("steps = 8", "stepz = 8"))
    bad = render("bad.toml")
    assert bad.exit_code == 2 and "stylize.stepz: not a Gatys option" in one_error_line(bad.stderr)


def test_reproduce_a_gatys_stylize_command_result(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Image.radial_gradient("L").resize((30, 24)).convert("RGB").save("photo.png")
    Image.effect_noise((24, 24), 60).convert("RGB").save("noise.png")
    made = run_cli(
        ["--device", "cpu", "stylize", "photo.png", "-s", "noise.png", "--method", "gatys",
         "--size", "32", "--steps", "6", "--extractor", "random-multiscale", "-o", "g"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    (path,) = made.stdout.split()
    result = run_cli(["--device", "cpu", "reproduce", path])
    assert result.exit_code == 0 and result.stdout.strip() == f"{path}: identical", result.output
    Image.effect_noise((24, 24), 90).convert("RGB").save("noise.png")  # the style changed
    result = run_cli(["--device", "cpu", "reproduce", path])
    assert result.exit_code == 1 and "cannot find its style image" in one_error_line(result.stderr)


def test_a_model_spec_series_needs_no_checkpoint_and_reproduces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("spec.toml").write_text(
        textwrap.dedent(
            """
            series = "untrained"
            template = "{checkpoint}/{seed}.png"
            [sweep]
            checkpoint = ["dcgan:resolution=32,width=0.125", "dcgan:resolution=32,width=0.25"]
            seed = [1, 2]
            """
        )
    )
    result = render("spec.toml")
    assert result.exit_code == 0, result.output
    assert sorted(str(p) for p in Path(".").rglob("*.png")) == [
        "dcgan-resolution-32-width-0.125/1.png", "dcgan-resolution-32-width-0.125/2.png",
        "dcgan-resolution-32-width-0.25/1.png", "dcgan-resolution-32-width-0.25/2.png",
    ]  # fmt: skip
    assert read_provenance("dcgan-resolution-32-width-0.25/2.png")["model_spec"] == (
        "dcgan:resolution=32,width=0.25"
    )
    check = run_cli(["--device", "cpu", "reproduce", "dcgan-resolution-32-width-0.25/2.png"])
    assert check.exit_code == 0 and check.stdout.strip().endswith("identical"), check.output
