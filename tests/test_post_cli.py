"""``artkit post STEP ...``: chains over stdin or -i, provenance, order, errors, streaming.

The full pipeline ``artkit sample ... | artkit post ... | artkit grid ...`` is covered up
to post here (test_sample_pipes_into_post); grid's end is tested with grid.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from artkit.images import read_provenance, save_image
from artkit.testing import run_cli
from tests.helpers import read_image

SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}


def make_images(folder, n=4, size=(24, 16), fmt="png"):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), np.uint8)
        paths.append(
            save_image(
                Image.fromarray(pixels),
                folder / f"img{i:02d}.{fmt}",
                provenance={"seed": i, "model": "toy", "post": ["invert"]},
            )
        )
    return paths


def lines(text):
    return [line for line in text.splitlines() if line]


def artkit(*args, input=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "artkit", *args],
        input=input,
        capture_output=True,
        text=True,
        env=SUB_ENV,
        timeout=timeout,
    )


def test_chain_on_stdin_extends_provenance(tmp_path):
    paths = make_images(tmp_path / "in")
    out = tmp_path / "out"
    steps = ["grade:contrast=1.2", "sharpen", "palette:colors=8"]
    result = run_cli(["post", *steps, "-o", str(out)], input="".join(f"{p}\n" for p in paths))
    assert result.exit_code == 0, result.stderr
    written = lines(result.stdout)
    assert written == [str(out / p.name) for p in paths]  # input order, input names
    for source, target in zip(paths, written, strict=True):
        prov = read_provenance(target)
        assert prov["seed"] == int(source.stem[-2:]) and prov["model"] == "toy"
        assert prov["source"] == str(source)
        assert prov["post"][0] == "invert"  # the earlier chain is kept
        assert prov["post"][1].startswith("grade:brightness=1.0,contrast=1.2,")
        assert prov["post"][2] == "sharpen:radius=2.0,percent=150,threshold=3"
        assert prov["post"][3].startswith("palette:colors=8,")
        with Image.open(target) as im:
            assert im.size == (24, 16) and len(im.convert("RGB").getcolors(256)) <= 8


def test_recorded_chain_replays_to_the_same_pixels(tmp_path):
    (src,) = make_images(tmp_path / "in", n=1)
    first = run_cli(
        ["post", "grain:seed=5", "halftone:cell=4", "-i", str(src), "-o", str(tmp_path / "a")]
    )
    assert first.exit_code == 0, first.stderr
    recorded = read_provenance(lines(first.stdout)[0])["post"][1:]
    again = run_cli(["post", *recorded, "-i", str(src), "-o", str(tmp_path / "b")])
    assert again.exit_code == 0, again.stderr
    a, b = (read_image(tmp_path / d / src.name) for d in "ab")
    assert a.tobytes() == b.tobytes()


def test_inputs_from_options_folders_and_repeated_stems(tmp_path):
    make_images(tmp_path / "x", n=2)
    make_images(tmp_path / "y", n=1)
    out = tmp_path / "out"
    result = run_cli(
        ["post", "invert", "-i", str(tmp_path / "x"), "-i", str(tmp_path / "y"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    assert [os.path.basename(p) for p in lines(result.stdout)] == [
        "img00.png",
        "img01.png",
        "img00-1.png",
    ]


def test_formats_and_json_records(tmp_path):
    (png,) = make_images(tmp_path / "a", n=1)
    (jpg,) = make_images(tmp_path / "b", n=1, fmt="jpg")
    out = tmp_path / "out"
    records = json.dumps({"path": str(png), "seed": 7, "note": "x"}) + "\n" + f"{jpg}\n"
    result = run_cli(["post", "flip", "--json", "-o", str(out)], input=records)
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(line) for line in lines(result.stdout))
    assert first == {"path": str(out / "img00.png"), "seed": 7, "note": "x", "source": str(png)}
    assert second["path"] == str(out / "img00.jpg")  # keep: jpg stays jpg
    webp = run_cli(["post", "flip", "--format", "webp", "-0", "-i", str(png), "-o", str(out)])
    assert webp.stdout == f"{out / 'img00.webp'}\0"
    assert read_provenance(out / "img00.webp")["post"][-1] == "flip:axis=horizontal"


def test_odd_files_gif_16_bit_and_alpha(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    frames = [Image.new("P", (10, 6), i) for i in (1, 2, 3)]
    for f in frames:
        f.putpalette([v for i in range(256) for v in (i * 40 % 256, 0, 0)])
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    deep = np.full((5, 7), 65535, np.uint16)
    deep[0, 0] = 0
    Image.fromarray(deep).save(folder / "deep.png")
    Image.new("RGBA", (3, 4), (1, 2, 3, 100)).save(folder / "see.png")
    out = tmp_path / "out"
    result = run_cli(["post", "invert", "-i", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert sorted(os.path.basename(p) for p in lines(result.stdout)) == [
        "anim.png",  # gif is not a format artkit writes: png
        "deep.png",
        "see.png",
    ]
    with Image.open(out / "anim.png") as im:
        assert im.size == (10, 6) and im.convert("RGB").getpixel((0, 0)) == (215, 255, 255)
    with Image.open(out / "deep.png") as im:  # 16-bit scaled to 8-bit, then inverted
        assert im.mode == "L" and im.getpixel((0, 0)) == 255 and im.getpixel((1, 0)) == 0
    with Image.open(out / "see.png") as im:
        assert im.mode == "RGBA" and im.getpixel((0, 0)) == (254, 253, 252, 100)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sharpn"], "unknown post-processor 'sharpn'; did you mean 'sharpen'?"),
        (["sharpen", "palette:colors=0"], "palette: colors=0 must be between 2 and 256"),
        (["resize:filter=x"], "resize: filter='x' is not one of: lanczos, nearest, bilinear"),
        (["blur:radius"], "'blur:radius': expected key=value, got 'radius'"),
        (["sharpen", "--jobs", "0.5"], "--jobs '0.5'"),
        (["sharpen", "in.png"], "'in.png' is not a step: give input images with -i in.png"),
        (["sharpen", "--format", "gif"], "--format 'gif': use png, webp, jpg or keep"),
    ],
)
def test_bad_steps_fail_fast_with_one_line(args, message):
    # The input is bad JSON: had it been read, the error would be about line 1.
    result = run_cli(["post", *args], input="{not json\n")
    assert result.exit_code == 2
    err = result.stderr.strip()
    assert err == f"artkit: error: {err.removeprefix('artkit: error: ')}"
    assert len(err.splitlines()) == 1 and message in err, err


def test_bad_step_does_not_wait_for_stdin():
    with subprocess.Popen(  # `with` closes the pipes; left open they warn when collected
        [sys.executable, "-m", "artkit", "post", "palette:colors=999"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=SUB_ENV,
    ) as proc:
        try:
            assert proc.wait(timeout=30) == 2  # stdin is still open and empty
            err = proc.stderr.read()
            assert err.strip() == "artkit: error: palette: colors=999 must be between 2 and 256"
        finally:
            proc.kill()


def test_unreadable_images_are_reported_and_the_rest_processed(tmp_path):
    (good,) = make_images(tmp_path / "in", n=1)
    bad = tmp_path / "in" / "bad.png"
    bad.write_bytes(b"not a png")
    result = run_cli(
        ["post", "invert", "-o", str(tmp_path / "out")],
        input=f"{bad}\n{tmp_path / 'missing.png'}\n{good}\n",
    )
    assert result.exit_code == 1
    assert lines(result.stdout) == [str(tmp_path / "out" / "img00.png")]
    assert "bad.png" in result.stderr and "missing.png" in result.stderr
    assert "2 of 3 images failed" in result.stderr


@pytest.mark.parametrize("jobs", ["1", "2", "all"])
def test_order_is_kept_and_jobs_agree(tmp_path, jobs):
    folder = tmp_path / "in"
    # big images first: with several workers the small ones finish earlier
    paths = make_images(folder, n=2, size=(400, 400)) + [
        p.rename(folder / f"z{i}.png") for i, p in enumerate(make_images(tmp_path / "s", n=4))
    ]
    out = tmp_path / f"out{jobs}"
    result = run_cli(
        ["post", "blur:radius=3", "vignette", "--jobs", jobs, "-o", str(out)],
        input="".join(f"{p}\n" for p in paths),
    )
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout) == [str(out / p.name) for p in paths]
    if jobs == "all":
        single = tmp_path / "single"
        run_cli(
            ["post", "blur:radius=3", "vignette", "-j", "1", "-i", str(folder), "-o", str(single)]
        )
        for p in paths:
            assert (out / p.name).read_bytes() == (single / p.name).read_bytes()


def _reader(stream, sink):
    for line in iter(stream.readline, ""):
        sink.put(line)


def test_output_streams_before_input_ends(tmp_path):
    paths = make_images(tmp_path / "in", n=3)
    with subprocess.Popen(  # `with` closes the pipes once the reader has its EOF
        [sys.executable, "-m", "artkit", "post", "sharpen", "-o", str(tmp_path / "out")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=SUB_ENV,
    ) as proc:
        got: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, got), daemon=True).start()
        try:
            for p in paths:  # one path in, one path out, while stdin stays open
                proc.stdin.write(f"{p}\n")
                proc.stdin.flush()
                assert got.get(timeout=30).strip() == str(tmp_path / "out" / p.name)
            proc.stdin.close()
            assert proc.wait(timeout=30) == 0
        finally:
            proc.kill()


def test_closed_stdout_is_quiet(tmp_path):
    make_images(tmp_path / "in", n=6)
    result = subprocess.run(
        f"{sys.executable} -m artkit post invert -i {tmp_path / 'in'} -o {tmp_path / 'out'} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=SUB_ENV,
        timeout=60,
    )
    assert len(lines(result.stdout)) == 1
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES=" + ",".join(sorted(sys.modules)) + "\\n"))
sys.argv = ["artkit", *{args!r}]
from artkit.cli import main
main()
"""


def modules_after(*args):
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args))],
        capture_output=True,
        text=True,
        env=SUB_ENV,
        timeout=60,
    )
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("MODULES=")][-1]
    return set(line.removeprefix("MODULES=").split(",")), result


def test_post_never_imports_torch(tmp_path):
    (src,) = make_images(tmp_path / "in", n=1)
    # sharpen is Pillow-only: no numpy either, which keeps start-up short
    mods, result = modules_after("post", "sharpen", "-i", str(src), "-o", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    assert "torch" not in mods and "numpy" not in mods and "torchvision" not in mods
    chain = ["grade:contrast=1.2", "sharpen", "palette:colors=16", "kaleidoscope", "halftone"]
    mods, result = modules_after("post", *chain, "-i", str(src), "-o", str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    assert "torch" not in mods and "numpy" in mods


def test_help_documents_the_interface():
    result = run_cli(["post", "--help"])
    assert result.exit_code == 0
    for word in ("STEP", "--input", "stdin", "--out", "--format", "--jobs", "--json"):
        assert word in result.stdout


def test_sample_pipes_into_post(tmp_path):
    """``artkit sample ... | artkit post ...`` through a real pipe (grid's end: see its tests)."""
    sample = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "artkit",
            "sample",
            "dcgan:resolution=32,width=0.125",
            "-n",
            "3",
            "-o",
            str(tmp_path / "a"),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=SUB_ENV,
    )
    start = time.monotonic()
    post = subprocess.run(
        [
            sys.executable,
            "-m",
            "artkit",
            "post",
            "upscale:factor=2",
            "palette:colors=8,dither=ordered",
            "-o",
            str(tmp_path / "b"),
            "--json",
        ],
        stdin=sample.stdout,
        capture_output=True,
        text=True,
        env=SUB_ENV,
        timeout=120,
    )
    sample.stdout.close()
    assert sample.wait(timeout=60) == 0 and post.returncode == 0, post.stderr
    records = [json.loads(line) for line in lines(post.stdout)]
    assert [r["seed"] for r in records] == [0, 1, 2]
    for r in records:
        prov = read_provenance(r["path"])
        assert prov["command"] == "sample" and prov["model"] == "dcgan"
        assert prov["seed"] == r["seed"] and prov["source"] == r["source"]
        assert [s.split(":")[0] for s in prov["post"]] == ["upscale", "palette"]
        with Image.open(r["path"]) as im:
            assert im.size == (64, 64)
    assert time.monotonic() - start < 120
