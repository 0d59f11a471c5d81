"""``artkit sample`` and ``artkit interpolate`` on a real (tiny, trained) checkpoint.

One file per image named by seed, provenance inside, paths printed as each file
is written, byte-identical for the same seeds whatever the batch size, no
torchvision, one-line errors for bad input; latent walks with the requested
frame count and the key seeds' images at their ends.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.checkpoint import build_model, save_tensors, sha256_file
from artkit.images import read_provenance
from artkit.testing import run_cli
from tests.helpers import one_error_line, read_image, train_tiny_dcgan

pytestmark = pytest.mark.usefixtures("one_thread")

SUB_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_thread) -> Path:
    """A dcgan trained for a few real steps (RGB, 32 px): its run folder."""
    return train_tiny_dcgan(tmp_path_factory.mktemp("ckpt") / "run")


@pytest.fixture
def ckpt(run_dir) -> Path:
    return run_dir / "weights.safetensors"


def sample(*args: str):
    return run_cli(["--device", "cpu", "sample", *map(str, args)])


def interpolate(*args: str):
    return run_cli(["--device", "cpu", "interpolate", *map(str, args)])


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


# -- sample ----------------------------------------------------------------------
def test_same_seeds_give_identical_bytes_across_runs_and_batch_sizes(ckpt, tmp_path):
    names = ["000003.png", "000004.png", "000005.png", "000009.png"]
    runs = {}
    for label, batch in (("b1", 1), ("b3", 3), ("b64", 64), ("again", 64)):
        out = tmp_path / label
        result = sample(ckpt, "--seeds", "3-5,9", "-b", batch, "-o", out)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.splitlines() == [str(out / n) for n in names]  # in seed order
        assert sorted(p.name for p in out.iterdir()) == names
        runs[label] = digests(out)
    assert runs["b1"] == runs["b3"] == runs["b64"] == runs["again"]
    assert len(set(runs["b1"].values())) == 4  # different seeds, different images
    with Image.open(tmp_path / "b1" / names[0]) as im:
        assert (im.size, im.mode) == ((32, 32), "RGB")


def test_sampling_on_cpu_keeps_freed_activations_in_the_heap(ckpt, tmp_path, monkeypatch):
    # glibc's trimming made each batch fault its activations in again: 5.86 -> 5.58 s
    # for 2,000 DCGAN 64 px samples (benchmarks/sample.py's model, alternated runs)
    import artkit.allocator

    calls = []
    monkeypatch.setattr(artkit.allocator, "tune_allocator", lambda: calls.append(1) or True)
    assert sample(ckpt, "-n", "2", "-o", tmp_path / "a").exit_code == 0
    assert calls == [1]


def test_run_folder_and_weights_file_sample_alike(ckpt, run_dir, tmp_path):
    assert sample(ckpt, "-n", "2", "-o", tmp_path / "a").exit_code == 0
    assert sample(run_dir, "-n", "2", "-o", tmp_path / "b").exit_code == 0
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert list(digests(tmp_path / "a")) == ["000000.png", "000001.png"]


def test_n_and_seed_choose_the_seeds(ckpt, tmp_path):
    result = sample(ckpt, "-n", "3", "--seed", "40", "-o", tmp_path / "a")
    assert result.exit_code == 0, result.stderr
    assert [Path(p).name for p in result.stdout.splitlines()] == [
        "000040.png",
        "000041.png",
        "000042.png",
    ]
    # the global --seed is the default first seed; the image for a seed never changes
    args = ["--device", "cpu", "--seed", "41", "sample", str(ckpt), "-n", "1"]
    result = run_cli([*args, "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.stderr
    assert digests(tmp_path / "b")["000041.png"] == digests(tmp_path / "a")["000041.png"]


def test_every_image_carries_its_provenance(ckpt, tmp_path):
    result = sample(ckpt, "--seeds", "7,2", "--truncation", "0.7", "-o", tmp_path)
    assert result.exit_code == 0, result.stderr
    sha = sha256_file(ckpt)
    for seed in (7, 2):
        prov = read_provenance(tmp_path / f"{seed:06d}.png")
        assert prov is not None
        assert prov["seed"] == seed
        assert prov["model"] == "dcgan"
        assert prov["command"] == "sample"
        assert prov["checkpoint_sha256"] == sha
        assert prov["checkpoint"] == "weights.safetensors"
        assert prov["truncation"] == 0.7
        assert prov["config"]["resolution"] == 32 and prov["config"]["width"] == 0.125
        assert prov["device"] == "cpu"
    # truncation changes the pictures
    assert sample(ckpt, "--seeds", "7", "-o", tmp_path / "t1").exit_code == 0
    assert (tmp_path / "t1/000007.png").read_bytes() != (tmp_path / "000007.png").read_bytes()


def test_json_lines(ckpt, tmp_path):
    result = sample(ckpt, "--seeds", "3-4,9", "--json", "-o", tmp_path)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [{"path": str(tmp_path / f"{s:06d}.png"), "seed": s} for s in (3, 4, 9)]
    assert all(Path(r["path"]).is_file() for r in records)


def test_null_separated_paths(ckpt, tmp_path):
    result = sample(ckpt, "-n", "2", "-0", "-o", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / '000000.png'}\0{tmp_path / '000001.png'}\0"


def test_grid_is_a_contact_sheet_of_the_samples(ckpt, tmp_path):
    from artkit.grid import make_grid

    grid = tmp_path / "sheet.png"
    result = sample(ckpt, "-n", "5", "-b", "2", "-o", tmp_path / "s", "--grid", grid)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5  # the sheet is not one of the records
    files = sorted((tmp_path / "s").iterdir())
    expected = make_grid([Image.open(p).convert("RGB") for p in files])
    assert np.array_equal(pixels(grid), np.asarray(expected.convert("RGB"), dtype=np.int16))
    prov = read_provenance(grid)
    assert prov["command"] == "sample" and prov["checkpoint_sha256"] == sha256_file(ckpt)


def test_webp_and_jpg_formats(ckpt, tmp_path):
    for fmt in ("webp", "jpg"):
        result = sample(ckpt, "-n", "1", "--format", fmt, "-o", tmp_path)
        assert result.exit_code == 0, result.stderr
        path = tmp_path / f"000000.{fmt}"
        assert result.stdout.strip() == str(path)
        assert read_provenance(path)["seed"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "0"], "-n and --batch-size must be at least 1"),
        (["-b", "0"], "-n and --batch-size must be at least 1"),
        (["--format", "bmp"], "--format 'bmp'"),
        (["--seeds", "5-3"], "not an ascending range"),
        (["--seeds", "x"], "is not a seed"),
        (["--seeds", ","], "--seeds is empty"),
        # one seed rule everywhere (artkit.api.seeds): 0 .. 2**63-1, as series specs say
        (["--seeds", f"{2**63 - 1}-{2**63}"], "too large for a seed"),
        (["--seed", str(2**63)], "seeds run from 0 to 2**63-1"),
        (["--seed", "-1"], "seeds run from 0 to 2**63-1"),
    ],
)
def test_bad_options_are_usage_errors(ckpt, tmp_path, args, message):
    result = sample(ckpt, *args, "-o", tmp_path)
    assert result.exit_code == 2
    assert message in one_error_line(result.stderr)
    assert result.stdout == ""


def test_missing_checkpoint_exits_2_with_one_line(tmp_path):
    missing = tmp_path / "nope.safetensors"
    result = sample(missing, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert str(missing) in one_error_line(result.stderr)
    assert not (tmp_path / "out").exists()


def test_pickles_and_non_checkpoints_exit_1_with_one_line(ckpt, tmp_path):
    net = build_model("mlp-gan", {"resolution": 8, "hidden": 8})
    torch.save(net.state_dict(), tmp_path / "model.pt")
    torch.save(net.state_dict(), tmp_path / "disguised.safetensors")  # a zip pickle
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 7)
    (tmp_path / "text.safetensors").write_text("hello, I am not a checkpoint at all\n")
    save_tensors(tmp_path / "plain.safetensors", {"w": torch.ones(2)})  # no artkit metadata
    half = tmp_path / "half.safetensors"
    half.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    cases = {
        "model.pt": "refusing to load a pickled PyTorch file",
        "disguised.safetensors": "refusing to load a pickled PyTorch file",
        "junk.safetensors": "not a safetensors file",
        "text.safetensors": "not a safetensors file",
        "plain.safetensors": "not an artkit model file",
        "half.safetensors": "truncated",
    }
    for name, message in cases.items():
        result = sample(tmp_path / name, "-o", tmp_path / "out")
        assert result.exit_code == 1, (name, result.stderr)
        line = one_error_line(result.stderr)
        assert message in line and name in line, (name, line)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_real_process_one_line_errors(tmp_path):
    from tests.test_plugins import artkit_subprocess

    torch.save({"w": torch.ones(1)}, tmp_path / "m.pt")
    result = artkit_subprocess(
        "--device", "cpu", "sample", str(tmp_path / "m.pt"), "-o", str(tmp_path)
    )
    assert result.returncode == 1
    assert "refusing to load a pickled" in one_error_line(result.stderr)
    result = artkit_subprocess("sample", str(tmp_path / "missing.safetensors"))
    assert result.returncode == 2
    one_error_line(result.stderr)


def test_sampling_a_model_spec_is_deterministic_by_seed(tmp_path):
    spec = "mlp-gan:resolution=8,hidden=8,channels=3"
    for out in ("a", "b"):
        result = sample(spec, "--seeds", "1", "-o", tmp_path / out)
        assert result.exit_code == 0, result.stderr
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("MODULES=" + ",".join(
    m for m in ("torch", "torchvision") if m in sys.modules) + "\\n"))
sys.argv = ["artkit", *{args!r}]
from artkit.cli import main
main()
"""


def test_sampling_never_imports_torchvision(ckpt, tmp_path):
    loaded = []
    for command in ("sample", "interpolate"):
        more = (
            ["-n", "2", "-o", tmp_path / "s"] if command == "sample" else ["-o", tmp_path / "w.gif"]
        )
        args = ["--device", "cpu", command, str(ckpt), *map(str, more)]
        result = subprocess.run(
            [sys.executable, "-c", PROBE.format(args=args)],
            capture_output=True,
            text=True,
            env=SUB_ENV,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        line = [ln for ln in result.stderr.splitlines() if ln.startswith("MODULES=")][-1]
        loaded.append(set(line.removeprefix("MODULES=").split(",")))
    for modules in loaded:
        assert "torch" in modules  # the probe works
        assert "torchvision" not in modules


def test_paths_stream_as_files_are_written_and_a_closed_pipe_is_quiet(ckpt, tmp_path):
    n = 3000
    out = tmp_path / "many"
    with subprocess.Popen(  # `with` closes stderr too; left open it warns when collected
        [sys.executable, "-m", "artkit", "--device", "cpu", "sample", str(ckpt), "-n", str(n),
         "-b", "16", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=SUB_ENV,
    ) as proc:  # fmt: skip
        try:
            first = proc.stdout.readline().decode().strip()
            # the first path arrives while the run is far from done, and its file is complete
            written = len(list(out.iterdir()))
            assert first == str(out / "000000.png")
            assert read_image(first).size == (32, 32)
            assert written < n, "nothing was printed until every file was written"
            proc.stdout.close()  # like `| head -1`
            err = proc.stderr.read().decode()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err
    assert len(list(out.iterdir())) < n  # it stopped producing


def test_sampling_again_replaces_its_own_files_but_never_someone_elses(ckpt, tmp_path):
    out = tmp_path / "out"
    assert sample(ckpt, "--seeds", "0-3", "-o", out).exit_code == 0
    before = digests(out)
    # artkit's own files are replaced (same seeds, same bytes)
    again = sample(ckpt, "--seeds", "0-3", "-o", out)
    assert again.exit_code == 0, again.stderr
    assert digests(out) == before
    # someone's picture where seed 2's sample would go: refused before any file is written
    mine = out / "000002.png"
    Image.new("RGB", (5, 5), "red").save(mine)
    (out / "000000.png").unlink()
    (out / "000007.png").mkdir()  # a folder of that name, too
    for seeds, bad in (("0-3", mine), ("7", out / "000007.png")):
        result = sample(ckpt, "--seeds", seeds, "-o", out)
        assert result.exit_code == 2
        assert f"{bad} exists and was not written by artkit" in one_error_line(result.stderr)
        assert result.stdout == ""
    assert not (out / "000000.png").exists()  # nothing written before the refusal
    with Image.open(mine) as im:
        assert im.size == (5, 5)
    # other names in the folder do not matter
    assert sample(ckpt, "--seeds", "4-5", "-o", out).exit_code == 0


def test_an_output_path_that_is_a_file_is_one_line(ckpt, tmp_path):
    target = tmp_path / "taken"
    target.write_text("mine")
    result = sample(ckpt, "-n", "1", "-o", target)
    assert result.exit_code == 2
    assert "is a file, not a folder" in one_error_line(result.stderr)
    assert target.read_text() == "mine"


# -- interpolate -------------------------------------------------------------------------
def test_interpolate_frames_and_endpoints_match_samples(ckpt, tmp_path):
    from artkit.animation import read_frames

    result = sample(ckpt, "--seeds", "1,2,7", "-o", tmp_path / "keys")
    assert result.exit_code == 0, result.stderr
    walk = tmp_path / "walk.png"  # APNG: lossless, so frames compare exactly
    result = interpolate(ckpt, "--seeds", "1,2,7", "--frames", "9", "--no-loop", "-o", walk)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(walk)
    frames = [np.asarray(f.convert("RGB"), dtype=np.int16) for f in read_frames(walk)]
    assert len(frames) == 9
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    # key seeds sit at frames 0, 4 and 8 of a 2-segment walk of 9 frames
    for index, seed in ((0, 1), (4, 2), (8, 7)):
        key = pixels(tmp_path / "keys" / f"{seed:06d}.png")
        assert np.abs(frames[index] - key).max() <= 1, (index, seed)
    prov = read_provenance(walk)
    assert prov["command"] == "interpolate" and prov["seeds"] == [1, 2, 7]
    assert prov["frames"] == 9 and prov["loop"] is False
    assert prov["checkpoint_sha256"] == sha256_file(ckpt)


def test_interpolate_loop_gif_has_the_requested_frame_count(ckpt, tmp_path):
    from artkit.animation import read_frames

    walk = tmp_path / "walk.gif"
    result = interpolate(ckpt, "--seeds", "0,5", "--frames", "6", "-o", walk)
    assert result.exit_code == 0, result.stderr
    frames = read_frames(walk)
    assert len(frames) == 6
    first, last = (np.asarray(f.convert("RGB"), dtype=np.int16) for f in (frames[0], frames[-1]))
    # looping: the walk ends one step short of the first seed, not on it
    assert not np.array_equal(first, last)
    assert sample(ckpt, "--seeds", "0", "-o", tmp_path / "k").exit_code == 0
    # GIF quantises to a palette: close to the sample, not equal
    assert np.abs(first - pixels(tmp_path / "k/000000.png")).mean() < 8
    # same command, same bytes
    again = tmp_path / "again.gif"
    assert interpolate(ckpt, "--seeds", "0,5", "--frames", "6", "-o", again).exit_code == 0
    assert again.read_bytes() == walk.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1"], "at least two seeds"),
        (["--seeds", "1,2", "--frames", "1"], "--frames must be at least 2"),
        (["--seeds", "1,2", "-o", "walk.bmp"], "unsupported format"),
    ],
)
def test_interpolate_usage_errors(ckpt, tmp_path, args, message):
    result = interpolate(ckpt, *[a if a != "walk.bmp" else str(tmp_path / a) for a in args])
    assert result.exit_code == 2
    assert message in one_error_line(result.stderr)
    assert result.stdout == ""
