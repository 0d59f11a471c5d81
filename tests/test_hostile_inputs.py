"""Files and input made by other people never crash artkit, flood the terminal or lose a file.

Each case is one hostile or broken input, made in code, run through the command
line: exit 1 or 2, exactly one ``artkit: error:`` line, no traceback, and nothing
outside the output folder created, changed or removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from artkit.testing import run_cli
from tests.helpers import one_error_line, read_image


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: what must not change."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            st = path.stat()
            out[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def fails_in_one_line(result, codes=(1, 2)) -> str:
    assert result.exit_code in codes, (result.exit_code, result.stdout, result.stderr)
    return one_error_line(result.stderr)


def test_a_path_over_255_bytes_is_one_line(tmp_path):
    line = fails_in_one_line(run_cli(["info", str(tmp_path / ("a" * 300 + ".png"))]))
    assert "File name too long" in line and len(line) < 250


def test_a_244_character_file_name_can_be_post_processed(tmp_path):
    (tmp_path / "in").mkdir()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "in" / ("b" * 244 + ".png"))
    result = run_cli(["post", "invert", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    out = Path(result.stdout.strip())
    assert out.name == "b" * 244 + ".png" and read_image(out).getpixel((0, 0)) == (245, 235, 225)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [out.name]  # no temp file left


def test_terminal_escapes_in_names_and_metadata_are_shown_escaped(tmp_path):
    before = snapshot(tmp_path)
    result = run_cli(["info", "\x1b[2Jevil.png"])
    line = fails_in_one_line(result)
    assert "\x1b" not in result.stderr and "\\x1b[2Jevil.png" in line
    # provenance written by someone else, with escapes in its values
    info = PngImagePlugin.PngInfo()
    info.add_itxt("artkit", json.dumps({"model": "\x1b]0;pwned\x07dcgan", "seed": 1}))
    path = tmp_path / "p.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    shown = run_cli(["info", str(path)])
    assert shown.exit_code == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b]0;pwned\\x07dcgan" in shown.stdout
    assert set(snapshot(tmp_path)) == set(before) | {"p.png"}


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "lots"])
def test_a_bad_cache_budget_is_one_line(value, monkeypatch, tmp_path):
    from artkit.testing import tiny_image_folder

    folder = tiny_image_folder(tmp_path / "imgs")
    monkeypatch.setenv("ARTKIT_DATA_CACHE_MAX_GB", value)
    result = run_cli(["data", "info", f"folder:path={folder}"])
    line = fails_in_one_line(result, codes=(2,))
    assert "ARTKIT_DATA_CACHE_MAX_GB" in line


def _png_with_text(path: Path, key: str, text: str) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(key, text, zip=True)
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


def test_xmp_of_repeated_start_tags_is_read_in_linear_time(tmp_path):
    """A ~2 KB PNG holding ~1 MB of '<a:provenance>' took over 60 s in `artkit info`."""
    import time

    path = _png_with_text(tmp_path / "x.png", "XML:com.adobe.xmp", "<a:provenance>" * 70_000)
    assert path.stat().st_size < 10_000
    started = time.perf_counter()
    result = run_cli(["info", str(path), "--json"])
    assert time.perf_counter() - started < 0.5
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["provenance"] is None


def test_deep_or_huge_provenance_is_one_line(tmp_path):
    deep = _png_with_text(tmp_path / "deep.png", "artkit", "[" * 100_000 + "]" * 100_000)
    line = fails_in_one_line(run_cli(["info", str(deep)]))
    assert "corrupt artkit provenance" in line and "deep.png" in line
    labels = run_cli(["grid", str(deep), "--labels", "seed", "-o", str(tmp_path / "g.png")])
    assert "Traceback" not in labels.stderr
    assert not (tmp_path / "g.png").exists() or labels.exit_code == 0


def test_clearing_the_dataset_cache_deletes_only_artkits_entries(tmp_path, monkeypatch):
    from artkit.testing import tiny_image_folder

    cache = tmp_path / "cache"
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(cache))
    folder = tiny_image_folder(tmp_path / "imgs")
    assert run_cli(["data", "info", f"folder:path={folder}"]).exit_code == 0
    datasets = cache / "datasets"
    ours = sorted(p.name for p in datasets.iterdir())
    assert len(ours) == 2  # one entry: .npy + .json
    foreign = {
        "results.npy": b"my experiment",
        "results.json": b'{"name": "mine"}',
        "notes.json": b"{}",
        ".draft.tmp-1": b"x",
        "x-0123456789abcdef-64-3.json": b'{"name": "x", "fingerprint": "0123456789abcdef"}',
        "x-0123456789abcdef-64-3.npy": b"not ours either",
    }
    for name, data in foreign.items():
        (datasets / name).write_bytes(data)
    before = snapshot(datasets)
    result = run_cli(["data", "cache", "--clear"])
    assert result.exit_code == 0, result.stderr
    after = snapshot(datasets)
    assert set(after) == set(foreign), after
    assert all(after[name] == before[name] for name in foreign)


# -- checkpoint headers -------------------------------------------------------------------

_TENSOR = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}


def _meta(**extra):
    return {
        "format": "pt",
        "artkit.model": "dcgan",
        "artkit.step": "1",
        "artkit.config": "{}",
        **extra,
    }


HOSTILE_HEADERS = {
    "metadata-list": json.dumps({"__metadata__": ["a"], "x": _TENSOR}).encode(),
    "infinite-offset": b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, Infinity]}}',
    "negative-offset": json.dumps({"x": {**_TENSOR, "data_offsets": [8, 4]}}).encode(),
    "deep": b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "config-number": json.dumps(
        {"__metadata__": _meta(**{"artkit.config": "5"}), "x": _TENSOR}
    ).encode(),
    "config-word": json.dumps(
        {"__metadata__": _meta(**{"artkit.config": "abc"}), "x": _TENSOR}
    ).encode(),
    "config-deep": json.dumps(
        {"__metadata__": _meta(**{"artkit.config": "[" * 100_000 + "]" * 100_000}), "x": _TENSOR}
    ).encode(),
    "step-superscript": json.dumps(
        {"__metadata__": _meta(**{"artkit.step": "²"}), "x": _TENSOR}
    ).encode(),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_HEADERS))
@pytest.mark.parametrize("command", ["info", "sample"])
def test_hostile_checkpoint_headers_are_one_line(case, command, tmp_path):
    import struct

    header = HOSTILE_HEADERS[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    before = snapshot(tmp_path)
    args = {
        "info": ["info", str(path)],
        "sample": ["sample", str(path), "-n", "1", "-o", str(tmp_path / "out")],
    }
    result = run_cli(args[command])
    if command == "info" and case == "step-superscript":
        assert result.exit_code == 0 and "Traceback" not in result.stderr  # it is readable
    else:
        fails_in_one_line(result)
    assert snapshot(tmp_path) == before


# -- decompression bombs: sizes are checked before anything is allocated ----------------

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking pytest
MEMORY_CHECK = """
import sys
from artkit.cli import main
try:
    main(sys.argv[1:])
finally:
    kb = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0].split()[1]
    print(f"PEAK_MB={int(kb) / 1024:.0f}", file=sys.stderr)
"""


def run_measured(*args: str):
    """The real CLI in a fresh interpreter; (result, peak RSS in MB)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", MEMORY_CHECK, *args], capture_output=True, text=True, timeout=60
    )
    peak = [ln for ln in result.stderr.splitlines() if ln.startswith("PEAK_MB=")]
    return result, float(peak[-1].split("=")[1])


def _gif_bomb(path: Path, frames: int = 40, side: int = 2000) -> Path:
    first = Image.new("P", (side, side), 0)
    rest = [Image.new("P", (side, side), i % 2) for i in range(1, frames)]
    first.save(path, save_all=True, append_images=rest, optimize=False, duration=10)
    return path


def test_a_gif_of_huge_frames_is_refused_in_bounded_memory(tmp_path):
    """40 frames of 2000x2000 in a tiny GIF took 675 MB in read_frames (stylize's reader)."""
    import subprocess
    import sys

    bomb = _gif_bomb(tmp_path / "bomb.gif")
    assert bomb.stat().st_size < 200_000
    code = (
        "import sys\n"
        "from artkit.animation import read_frames\n"
        "from artkit.errors import ImageError\n"
        "try:\n    read_frames(sys.argv[1])\n"
        "except ImageError as exc:\n    print(exc, file=sys.stderr)\n"
        "kb = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0].split()[1]\n"
        "print(f'PEAK_MB={int(kb) / 1024:.0f}', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=60
    )
    assert "more than 100,000,000 pixels" in result.stderr, result.stderr[-800:]
    peak = float(result.stderr.split("PEAK_MB=")[1])
    assert peak < 500, peak


def test_a_gzip_idx_bomb_is_refused_in_bounded_memory(tmp_path):
    import gzip
    import struct

    n, side = 4000, 256  # 262 MB of zeros, a few hundred KB gzipped
    raw = struct.pack(">HBB3I", 0, 8, 3, n, side, side)
    with gzip.open(tmp_path / "bomb-idx3-ubyte.gz", "wb") as gz:
        gz.write(raw)
        zeros = bytes(side * side * 100)
        for _ in range(n // 100):
            gz.write(zeros)
    bomb = tmp_path / "bomb-idx3-ubyte.gz"
    assert bomb.stat().st_size < 1_000_000
    result, peak = run_measured("data", "info", f"idx:path={bomb}")
    assert result.returncode == 2, result.stderr[-500:]
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("artkit: error:")]
    assert len(errors) == 1 and "decompression bomb" in errors[0], result.stderr[-800:]
    assert peak < 500, peak


def test_post_never_overwrites_its_inputs_or_a_foreign_file(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (i * 90, 10, 10)).save(photos / f"p{i}.png")
    before = snapshot(tmp_path)
    line = fails_in_one_line(run_cli(["post", "invert", "-i", str(photos), "-o", str(photos)]))
    assert "this is the input image" in line
    assert snapshot(tmp_path) == before
    # a file of the user's where an output would go
    out = tmp_path / "out"
    out.mkdir()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out / "p0.png")
    before = snapshot(tmp_path)
    line = fails_in_one_line(run_cli(["post", "invert", "-i", str(photos), "-o", str(out)]))
    assert "exists and was not written by artkit" in line
    assert snapshot(tmp_path) == before
    # artkit's own earlier outputs are replaced as before
    (out / "p0.png").unlink()
    assert run_cli(["post", "invert", "-i", str(photos), "-o", str(out)]).exit_code == 0
    again = run_cli(["post", "greyscale", "-i", str(photos), "-o", str(out)])
    assert again.exit_code == 0, again.stderr


@pytest.mark.parametrize("key", ["self", "path", "fields"])
def test_record_fields_named_like_parameters_travel_through(key, tmp_path):
    src = tmp_path / "s.png"
    Image.new("RGB", (4, 4)).save(src)
    record = json.dumps({"path": str(src), key: 1 if key != "path" else str(src)})
    result = run_cli(["post", "invert", "-o", str(tmp_path / "o"), "--json"], input=record + "\n")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["path"] == str(tmp_path / "o" / "s.png") and out["source"] == str(src)


def test_plugins_install_refuses_option_like_targets_and_core_changes():
    from artkit.cli.plugins import GUARDED, guarded_changes, planned_changes

    result = run_cli(["plugins", "install", "--", "--index-url=http://example.invalid/simple"])
    assert "a plugin is a package name, a folder or an archive, not an option" in fails_in_one_line(
        result, codes=(2,)
    )
    report = {"install": [{"metadata": {"name": "Pillow", "version": "11.3.0"}},
                          {"metadata": {"name": "typer", "version": "0.12.0"}}]}  # fmt: skip
    installed = {"pillow": "13.0.0", "typer": "0.29.2", "torch": "2.14.1"}
    assert {"torch", "torchvision", "pillow", "numpy", "safetensors"} <= set(GUARDED)
    assert guarded_changes(report, installed) == ["pillow 13.0.0 -> 11.3.0"]
    assert planned_changes(report, installed, {"typer"}) == ["typer 0.29.2 -> 0.12.0"]


# -- series specs: confined to their folder, never replacing someone else's files --------


def _spec(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "series.toml"
    path.write_text(body)
    return path


SERIES = """
series = "s"
{out}
template = "{{seed}}.png"
[model]
checkpoint = "dcgan:resolution=32,width=0.125"
[sweep]
seed = "0-1"
"""


@pytest.mark.parametrize(
    "out", ['out = "/tmp/artkit-elsewhere"', 'out = "../outside"', 'out = "~/x"']
)
def test_a_series_spec_cannot_write_outside_its_folder(out, tmp_path):
    spec = _spec(tmp_path / "spec", SERIES.format(out=out))
    before = snapshot(tmp_path)
    line = fails_in_one_line(run_cli(["--device", "cpu", "render", str(spec)]), codes=(2,))
    assert "outside the spec's folder" in line
    assert snapshot(tmp_path) == before and not Path("/tmp/artkit-elsewhere").exists()


def test_render_never_replaces_a_foreign_file_without_force(tmp_path):
    spec = _spec(tmp_path / "spec", SERIES.format(out='out = "renders"'))
    renders = tmp_path / "spec" / "renders"
    renders.mkdir()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(renders / "0.png")  # the user's photo
    before = snapshot(tmp_path)
    line = fails_in_one_line(run_cli(["--device", "cpu", "render", str(spec)]), codes=(2,))
    assert "0.png exists and was not written by artkit" in line and "--force" in line
    assert snapshot(tmp_path) == before
    (renders / "0.png").unlink()
    (renders / "manifest.jsonl").write_text("my own notes\n")
    before = snapshot(tmp_path)
    line = fails_in_one_line(run_cli(["--device", "cpu", "render", str(spec)]), codes=(2,))
    assert "manifest.jsonl exists and was not written by artkit" in line
    assert snapshot(tmp_path) == before
    forced = run_cli(["--device", "cpu", "render", str(spec), "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert sorted(p.name for p in renders.iterdir()) == ["0.png", "1.png", "manifest.jsonl"]


def test_a_folder_dataset_skips_a_decompression_bomb(tmp_path):
    """A 90-megapixel PNG (small on disk) is skipped with its reason, not decoded."""
    import struct as st
    import zlib

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(folder / "ok.png")
    w = h = 9500  # 90.25 M pixels: between Pillow's limit and twice it (Pillow only warns)

    def chunk(kind, data):
        return st.pack(">I", len(data)) + kind + data + st.pack(">I", zlib.crc32(kind + data))

    raw = zlib.compress(b"\0" * (w + 1) * h, 9)  # grey, all black
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", st.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    (folder / "bomb.png").write_bytes(png + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    assert (folder / "bomb.png").stat().st_size < 200_000
    result = run_cli(["data", "info", f"folder:path={folder}", "--json"])
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["count"] == 1 and info["skipped"] == 1, info
    assert "too large to decode safely" in result.stderr


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"seed": "abc"}, "bad seed 'abc'"),
        ({"seed": 2**70}, "bad seed"),
        ({"truncation": [1]}, "bad truncation '[1]'"),
        ({"precision": "fp99"}, "unknown precision 'fp99'"),
    ],
)
def test_reproduce_of_bad_provenance_fails_that_image_only(change, says, tmp_path):
    made = run_cli(["--device", "cpu", "sample", "dcgan:resolution=32,width=0.125", "-n", "2",
                    "-o", str(tmp_path / "a")])  # fmt: skip
    assert made.exit_code == 0, made.stderr
    good, source = made.stdout.split()
    from artkit.images import read_provenance

    info = PngImagePlugin.PngInfo()
    info.add_itxt("artkit", json.dumps({**read_provenance(source), **change}))
    bad = tmp_path / "bad.png"
    Image.open(source).save(bad, pnginfo=info)
    result = run_cli(["--device", "cpu", "reproduce", str(bad), good])
    line = fails_in_one_line(result, codes=(1,))
    assert says in line and str(bad) in line
    assert result.stdout.strip() == f"{good}: identical"  # the batch went on


def _with_provenance(source: Path, target: Path, **change) -> Path:
    from artkit.images import read_provenance

    info = PngImagePlugin.PngInfo()
    info.add_itxt("artkit", json.dumps({**read_provenance(source), **change}))
    Image.open(source).save(target, pnginfo=info)
    return target


def test_reproduce_follows_no_path_that_provenance_names(tmp_path):
    """model_spec may not name a checkpoint (those are found by sha256 only), and a post
    step's file may only be found beside the image or under --search."""
    from artkit.checkpoint import build_model, save_model

    made = run_cli(["--device", "cpu", "sample", "dcgan:resolution=32,width=0.125", "-n", "1",
                    "-o", str(tmp_path / "made")])  # fmt: skip
    assert made.exit_code == 0, made.stderr
    source = Path(made.stdout.split()[0])
    other = tmp_path / "elsewhere" / "other.safetensors"
    other.parent.mkdir()
    save_model(build_model("dcgan", {"resolution": 32, "width": 0.125}), other)
    secret = tmp_path / "elsewhere" / "secret.env"
    secret.write_text("TOKEN=hunter2\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "link.gpl").symlink_to(secret)
    cases = {
        "spec.png": ({"model_spec": str(other)}, "unknown model"),
        "abs.png": ({"post": [f"palette:file={secret}"]}, "is not beside the image"),
        "up.png": ({"post": ["palette:file=../elsewhere/secret.env"]}, "is not beside the image"),
        "link.png": ({"post": ["palette:file=link.gpl"]}, "is not beside the image"),
        "name.png": ({"post": ["no-such-step"]}, "unknown post-processor"),
        "chain.png": ({"post": "invert"}, "bad post chain"),
    }
    for name, (change, says) in cases.items():
        bad = _with_provenance(source, tmp_path / "images" / name, **change)
        result = run_cli(["--device", "cpu", "reproduce", str(bad)])
        line = fails_in_one_line(result, codes=(1,))
        assert says in line and str(bad) in line, line
        assert "hunter2" not in result.output


def test_reproduce_finds_a_post_steps_file_beside_the_image_or_under_search(tmp_path):
    made = run_cli(["--device", "cpu", "sample", "dcgan:resolution=32,width=0.125", "-n", "1",
                    "-o", str(tmp_path / "made")])  # fmt: skip
    palette = tmp_path / "palettes" / "two.txt"
    palette.parent.mkdir()
    palette.write_text("#000000\n#ffffff\n")
    post = run_cli(["post", f"palette:file={palette}", "-i", made.stdout.split()[0],
                    "-o", str(tmp_path / "out")])  # fmt: skip
    assert post.exit_code == 0, post.stderr
    image = post.stdout.split()[0]
    result = run_cli(["--device", "cpu", "reproduce", image])
    assert "is not beside the image (or pass --search FOLDER)" in fails_in_one_line(result)
    searched = run_cli(["--device", "cpu", "reproduce", image, "--search", str(palette.parent)])
    assert searched.exit_code == 0 and searched.stdout.strip() == f"{image}: identical"
    (tmp_path / "out" / "two.txt").write_text(palette.read_text())
    beside = run_cli(["--device", "cpu", "reproduce", image])
    assert beside.exit_code == 0 and beside.stdout.strip() == f"{image}: identical"


def test_render_dry_run_of_a_huge_series_stays_lazy_and_wide_fields_are_refused(tmp_path):
    import time

    big = _spec(
        tmp_path / "big", SERIES.format(out="").replace('seed = "0-1"', 'seed = "0-99999999999"')
    )
    started = time.perf_counter()
    result = run_cli(["render", str(big), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert time.perf_counter() - started < 5 and "99999999999.png" in result.stdout
    wide = _spec(tmp_path / "wide", SERIES.format(out="").replace("{seed}", "{seed:>1500000000}"))
    line = fails_in_one_line(run_cli(["render", str(wide), "--dry-run"]), codes=(2,))
    assert "widths and precisions go up to 64" in line
