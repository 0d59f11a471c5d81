"""``artkit stylize``: Gatys and fast methods, records, provenance, colour, animations.

Tiny sizes and few steps keep this quick; the real photos from the scikit-image /
scikit-learn wheels (``sample:NAME``) are used where they matter (colour
preservation) and the tests that need them skip when the extra is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.images import read_provenance
from artkit.testing import run_cli
from artkit_style.colour import chroma_difference
from artkit_style.extractors import NO_WEIGHTS_NOTICE
from tests.helpers import one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

NOTICE = NO_WEIGHTS_NOTICE.format(label="VGG19")


@pytest.fixture(autouse=True)
def offline_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(tmp_path / "artkit-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("ARTKIT_OFFLINE", "1")


def stylize(*args, input=None):
    return run_cli(["--device", "cpu", "stylize", *map(str, args)], input=input)


def sample_photo(name: str) -> Image.Image:
    try:
        from artkit_data.samples import sample_image

        return sample_image(name).convert("RGB")
    except Exception as exc:  # the optional extra is missing
        pytest.skip(f"needs the bundled sample photos (pip install 'artkit[samples]'): {exc}")


def blobs(size=(48, 40), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    low = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    return low.resize(size, Image.Resampling.BICUBIC)


def stripes(size=48) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size]
    mask = (np.sin((x + y) * 0.8) > 0)[..., None]
    arr = np.where(mask, [230, 40, 30], [20, 60, 220]).astype(np.uint8)
    return Image.fromarray(arr)


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    out = {"a": tmp_path / "a.png", "b": tmp_path / "b.png", "style": tmp_path / "style.png"}
    blobs(seed=1).save(out["a"])
    blobs(seed=2).save(out["b"])
    stripes().save(out["style"])
    out["style2"] = tmp_path / "style2.png"
    stripes(40).rotate(90).save(out["style2"])
    return out


FAST_ARGS = ("--size", "32", "--steps", "3")


# -- gatys ----------------------------------------------------------------------------------
def test_arguments_give_files_paths_and_provenance(files, tmp_path):
    out = tmp_path / "out"
    result = stylize(
        files["a"], files["b"], "-s", files["style"], "-s", files["style2"],
        "--style-weights", "3,1", *FAST_ARGS, "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(out / "a.png"), str(out / "b.png")]
    assert NOTICE in result.stderr.splitlines()  # offline fallback, one line
    with Image.open(out / "a.png") as im:
        assert im.size == (32, 27) and im.mode == "RGB"  # longer side = --size
    prov = read_provenance(out / "a.png")
    assert prov["command"] == "stylize" and prov["method"] == "gatys"
    assert prov["content"] == str(files["a"])
    assert prov["styles"] == [str(files["style"]), str(files["style2"])]
    assert prov["style_weights"] == [0.75, 0.25]
    assert prov["extractor"] == "random-multiscale" and prov["extractor_pretrained"] is False
    assert prov["steps"] == 3 and prov["size"] == 32 and prov["style_weight"] == 500.0
    assert prov["optimizer"] == "lbfgs" and prov["init"] == "content"


def test_stdin_records_plain_and_json(files, tmp_path):
    lines = f'{files["a"]}\n{{"path": "{files["b"]}", "seed": 7}}\n'
    result = stylize("-s", files["style"], *FAST_ARGS, "--json", "-o", tmp_path / "o", input=lines)
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [
        {"path": str(tmp_path / "o" / "a.png"), "content": str(files["a"])},
        {"path": str(tmp_path / "o" / "b.png"), "seed": 7, "content": str(files["b"])},
    ]


def test_same_stem_twice_gets_a_new_name_and_quiet_is_quiet(files, tmp_path):
    result = run_cli(
        ["-q", "stylize", str(files["a"]), str(files["a"]), "-s", str(files["style"]),
         *FAST_ARGS, "-o", str(tmp_path / "o")]
    )  # fmt: skip
    assert result.exit_code == 0
    assert [Path(p).name for p in result.stdout.splitlines()] == ["a.png", "a-2.png"]
    assert result.stderr == ""


def test_preserve_color_keeps_the_contents_chroma(tmp_path):
    content = sample_photo("chelsea").resize((64, 43), Image.Resampling.LANCZOS)
    content_path = tmp_path / "chelsea.png"
    content.save(content_path)
    stripes(64).save(tmp_path / "style.png")
    diffs = {}
    for label, extra in (("plain", []), ("keep", ["--preserve-color"])):
        out = tmp_path / label
        result = stylize(
            content_path, "-s", tmp_path / "style.png", "--size", "64", "--steps", "15",
            "--no-multiscale", *extra, "-o", out,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        with Image.open(out / "chelsea.png") as im:
            diffs[label] = chroma_difference(im.convert("RGB"), content)
    assert read_provenance(tmp_path / "keep" / "chelsea.png")["preserve_color"] == "luminance"
    assert diffs["keep"] < 1.5, diffs  # Cb/Cr are the content's, up to rounding
    assert diffs["plain"] > 4 * diffs["keep"] and diffs["plain"] > 4, diffs


def test_histogram_colour_mode_runs(files, tmp_path):
    result = stylize(
        files["a"], "-s", files["style"], *FAST_ARGS, "--preserve-color",
        "--color-mode", "histogram", "-o", tmp_path / "o",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert read_provenance(tmp_path / "o" / "a.png")["preserve_color"] == "histogram"


def test_sample_photos_are_accepted_as_content_and_style(tmp_path):
    sample_photo("coffee")
    result = stylize("sample:coffee", "-s", "sample:brick", *FAST_ARGS, "-o", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "coffee.png")
    assert read_provenance(tmp_path / "coffee.png")["styles"] == ["sample:brick"]


def test_missing_weights_notice_and_bad_weights_error(files, tmp_path):
    result = stylize(
        files["a"], "-s", files["style"], "--extractor", "vgg19",
        "--weights", tmp_path / "missing.safetensors", *FAST_ARGS, "-o", tmp_path / "o",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    notices = [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: notice:")]
    assert len(notices) == 1 and "missing.safetensors not found" in notices[0]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    result = stylize(files["a"], "-s", files["style"], "--weights", bad, *FAST_ARGS, "-o", tmp_path)
    assert result.exit_code == 1
    assert str(bad) in one_error_line(result.stderr)
    assert result.stdout == ""


def test_random_vgg_weights_file_is_used(files, tmp_path):
    from artkit.checkpoint import save_tensors
    from artkit_style.nn_extractors import vgg_architecture

    torch.manual_seed(0)
    weights = save_tensors(
        tmp_path / "vgg.safetensors",
        {f"features.{k}": v for k, v in vgg_architecture("vgg19").state_dict().items()},
    )
    result = stylize(
        files["a"], "-s", files["style"], "--weights", weights, *FAST_ARGS, "-o", tmp_path / "o"
    )
    assert result.exit_code == 0, result.stderr
    assert "notice" not in result.stderr
    prov = read_provenance(tmp_path / "o" / "a.png")
    assert prov["extractor"] == "vgg19" and prov["extractor_pretrained"] is True
    assert len(prov["extractor_weights_sha256"]) == 64 and prov["style_weight"] == 30.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs at least one --style"),
        (["-s", "S", "--method", "fast"], "--method fast needs --model"),
        (["-s", "S", "-s", "S", "--style-weights", "1"], "has 1 numbers for 2"),
        (["-s", "S", "--style-weights", "x"], "--style-weights 'x'"),
        (["-s", "S", "--steps", "0"], "--steps 0"),
        (["-s", "S", "--init", "zeros"], "--init 'zeros'"),
        (["-s", "S", "--optimizer", "sgd"], "--optimizer 'sgd'"),
        (["-s", "S", "--format", "bmp"], "--format 'bmp'"),
        (["-s", "S", "--color-mode", "hsv"], "--color-mode 'hsv'"),
        (["-s", "S", "--method", "paint"], "--method 'paint'"),
    ],
)
def test_usage_errors(files, tmp_path, args, message):
    args = [str(files["style"]) if a == "S" else a for a in args]
    result = stylize(files["a"], *args, "-o", tmp_path)
    assert result.exit_code == 2, result.stderr
    assert message in one_error_line(result.stderr)


def test_missing_style_or_content_file_is_one_line(files, tmp_path):
    result = stylize(files["a"], "-s", tmp_path / "nope.png", "-o", tmp_path)
    assert result.exit_code == 1 and "nope.png" in one_error_line(result.stderr)
    result = stylize(tmp_path / "gone.png", "-s", files["style"], *FAST_ARGS, "-o", tmp_path)
    assert result.exit_code == 1 and "gone.png" in one_error_line(result.stderr)


# -- animations --------------------------------------------------------------------------------
def write_gif(path: Path, durations: list[int], size=(32, 24)) -> Path:
    frames = [blobs(size, seed=i) for i in range(len(durations))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def frame_info(path: Path) -> tuple[int, list[int], tuple[int, int]]:
    with Image.open(path) as im:
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            im.load()  # WebP fills in the duration on load
            durations.append(im.info["duration"])
        return im.n_frames, durations, im.size


def test_animated_gif_with_gatys_keeps_frames_and_timing(files, tmp_path):
    gif = write_gif(tmp_path / "anim.gif", [100, 200, 150])
    result = stylize(
        gif, "-s", files["style"], "--size", "32", "--steps", "1", "-o", tmp_path / "o"
    )
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "o" / "anim.gif"
    assert result.stdout.strip() == str(out)
    assert frame_info(out) == (3, [100, 200, 150], (32, 24))


# -- fast ----------------------------------------------------------------------------------------
@pytest.fixture
def fast_model(tmp_path) -> Path:
    from artkit.checkpoint import build_model, save_model
    from artkit.plugins import get_registry

    if "fast-style" not in get_registry("models"):
        pytest.skip("the fast-style model is not registered")
    try:
        torch.manual_seed(0)
        model = build_model("fast-style", {"width": 4, "residual_blocks": 1})
    except ImportError as exc:
        pytest.skip(f"fast-style network not available: {exc}")
    return save_model(model, tmp_path / "fast.safetensors")


def test_fast_model_stylises_stills_and_animations(fast_model, files, tmp_path):
    from artkit.checkpoint import sha256_file

    gif = write_gif(tmp_path / "anim.gif", [100, 200, 150, 100])
    webp = tmp_path / "loop.webp"
    frames = [blobs((32, 24), seed=i) for i in range(5)]
    frames[0].save(
        webp, save_all=True, append_images=frames[1:], duration=80, loop=0, lossless=True
    )
    out = tmp_path / "o"
    result = stylize(files["a"], gif, webp, "--model", fast_model, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(out / n) for n in ("a.png", "anim.gif", "loop.webp")]
    with Image.open(out / "a.png") as im:
        assert im.size == (48, 40)  # fast keeps the input size without --size
    assert frame_info(out / "anim.gif") == (4, [100, 200, 150, 100], (32, 24))
    assert frame_info(out / "loop.webp") == (5, [80] * 5, (32, 24))
    prov = read_provenance(out / "a.png")
    assert prov["method"] == "fast" and prov["model"] == "fast-style"
    assert prov["checkpoint_sha256"] == sha256_file(fast_model)
    assert read_provenance(out / "loop.webp")["frames"] == 5


def test_fast_model_reads_stdin_and_resizes(fast_model, files, tmp_path):
    result = stylize(
        "--model", fast_model, "--size", "24", "-o", tmp_path / "o",
        input=f"{files['a']}\n{files['b']}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    with Image.open(tmp_path / "o" / "b.png") as im:
        assert max(im.size) == 24


def test_gatys_options_with_a_fast_model_are_refused(fast_model, files, tmp_path):
    result = stylize(files["a"], "--model", fast_model, "--method", "gatys", "-o", tmp_path)
    assert result.exit_code == 2 and "--model" in one_error_line(result.stderr)
