"""The public Python API: README's example runs as written, and gives the CLI's pixels."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import artkit
from artkit.errors import ArtkitError, CapabilityError, UsageError
from artkit.images import read_provenance
from artkit.testing import run_cli
from tests.helpers import read_image

README = Path(__file__).resolve().parent.parent / "README.md"
SPEC = "dcgan:resolution=32,width=0.25"


def readme_snippet() -> str:
    """The ```python block that follows README's <!-- python-api --> marker."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- python-api -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README lacks the <!-- python-api --> python example"
    return match.group(1)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """README's example run for real in a fresh folder; returns (folder, its globals)."""
    import os

    folder = tmp_path_factory.mktemp("readme")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        scope: dict = {"__name__": "readme"}
        exec(compile(readme_snippet(), "README.md (python-api)", "exec"), scope)
    finally:
        os.chdir(cwd)
    return folder, scope


def test_readme_example_writes_images_and_a_sheet(readme_run) -> None:
    folder, scope = readme_run
    run = scope["run"]
    assert (folder / run.path / "weights.safetensors").is_file()
    assert run.step == 2 and run.reason == "done"
    assert any("loss" in k for k in run.metrics)
    written = sorted((folder / "out").glob("0*.png"))
    assert [p.name for p in written] == [f"{i:06d}.png" for i in range(16)]
    for path in written:
        with Image.open(path) as im:
            im.load()
            assert im.size == (32, 32)
        prov = read_provenance(path)
        assert prov["command"] == "sample" and prov["model"] == "dcgan"
        assert prov["seed"] == int(path.stem)
        assert prov["post"][0].startswith("palette:colors=8") and prov["post"][1].startswith(
            "grain"
        )
    with Image.open(folder / "out" / "sheet.png") as sheet:
        sheet.load()
        assert sheet.width > 4 * 32 and sheet.height > 4 * 32
    assert read_provenance(folder / "out" / "sheet.png")["seeds"] == list(range(16))


def test_readme_example_images_are_reproducible(readme_run) -> None:
    folder, _ = readme_run
    result = run_cli(["--device", "cpu", "reproduce", str(folder / "out" / "000003.png"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "identical"


@pytest.mark.parametrize("which", ["spec", "run"])
def test_sample_gives_the_pixels_and_provenance_of_artkit_sample(readme_run, tmp_path, which):
    folder, scope = readme_run
    spec = SPEC if which == "spec" else str(folder / scope["run"].path)
    [image] = artkit.load(spec, device="cpu").sample(seeds=[3], truncation=0.7)
    result = run_cli(
        ["--device", "cpu", "sample", spec, "--seeds", "3", "--truncation", "0.7",
         "-o", str(tmp_path)]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    written = tmp_path / "000003.png"
    with Image.open(written) as cli_image:
        assert np.array_equal(pixels(image), pixels(cli_image))
    ours, theirs = read_provenance(image), read_provenance(written)
    if which == "run":  # relative to the output folder on the CLI; absolute from Python
        assert (
            Path(ours.pop("checkpoint_path"))
            == (written.parent / theirs.pop("checkpoint_path")).resolve()
        )
    assert ours == theirs


def test_sample_takes_seed_ranges_and_rejects_bad_seeds() -> None:
    m = artkit.load(SPEC, device="cpu")
    a = m.sample(seeds="4-5")
    b = m.sample(seeds=[4, 5], batch_size=1)
    assert [read_provenance(im)["seed"] for im in a] == [4, 5]
    assert all(np.array_equal(pixels(x), pixels(y)) for x, y in zip(a, b, strict=True))
    for bad in ([2**63], [-1], "x"):
        with pytest.raises(UsageError) as err:
            m.sample(seeds=bad)
        assert "\n" not in str(err.value)


def test_model_describes_itself() -> None:
    m = artkit.load(SPEC, device="cpu")
    assert m.name == "dcgan"
    assert m.capabilities == ["sample"]
    assert m.config["resolution"] == 32
    assert "dcgan" in repr(m)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, im: m.encode([im]),
        lambda m, im: m.decode(np.zeros((1, 8), dtype=np.float32)),
        lambda m, im: m.morph(im, im, 4),
        lambda m, im: m.translate([im]),
        lambda m, im: m.stylize([im]),
    ],
    ids=["encode", "decode", "morph", "translate", "stylize"],
)
def test_missing_capabilities_are_one_line_errors(call) -> None:
    m = artkit.load(SPEC, device="cpu")
    with pytest.raises(CapabilityError) as err:
        call(m, Image.new("RGB", (32, 32)))
    message = str(err.value)
    assert "\n" not in message and "dcgan" in message and "sample" in message


def test_vae_encodes_decodes_and_morphs() -> None:
    m = artkit.load("vae:resolution=32", device="cpu")
    pictures = m.sample(seeds=[1, 2])
    z = m.encode(pictures)
    assert z.shape[0] == 2
    back = m.decode(z)
    assert [im.size for im in back] == [(32, 32), (32, 32)]
    frames = m.morph(pictures[0], pictures[1], 5)
    assert len(frames) == 5 and frames[0].size == (32, 32)


def test_unknown_model_and_train_option_are_usage_errors(tmp_path) -> None:
    with pytest.raises(ArtkitError) as err:
        artkit.load(str(tmp_path / "nothing-here"))
    assert "no such checkpoint" in str(err.value)
    with pytest.raises(UsageError) as err:
        artkit.train(SPEC, "shapes", steps=1, out=tmp_path / "r", batch=3)
    assert "unknown option 'batch'" in str(err.value)


def test_post_apply_extends_provenance_and_matches_the_chain() -> None:
    from artkit.api.post import build_chain, run_chain

    image = Image.new("RGB", (24, 24), (200, 40, 90))
    out = artkit.post.apply(image, "palette:colors=4", "grain")
    chain = build_chain(["palette:colors=4", "grain"])
    assert np.array_equal(pixels(out), pixels(run_chain(image, chain)))
    assert read_provenance(out)["post"] == [s.spec for s in chain]
    with pytest.raises(UsageError):
        artkit.post.apply(image, "no-such-step")


def test_import_artkit_and_post_apply_stay_torch_free() -> None:
    code = (
        "import sys, artkit\n"
        "from PIL import Image\n"
        "assert callable(artkit.load) and callable(artkit.train) and callable(artkit.render)\n"
        "artkit.post.apply(Image.new('RGB', (8, 8)), 'grain')\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_render_runs_a_series(tmp_path) -> None:
    spec = tmp_path / "series.toml"
    spec.write_text(
        'series = "api"\n'
        'template = "{seed:03d}.png"\n'
        f'[model]\ncheckpoint = "{SPEC}"\n'
        '[sweep]\nseed = "0-2"\n'
    )
    stats = artkit.render(spec, out=tmp_path / "out", device="cpu")
    assert stats.rendered == 3
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [
        "000.png",
        "001.png",
        "002.png",
    ]
    assert artkit.render(spec, out=tmp_path / "out", device="cpu").skipped == 3


def test_encode_gives_the_latents_of_artkit_encode(tmp_path) -> None:
    from artkit.checkpoint import load_tensors
    from artkit.testing import tiny_image_folder

    folder = tiny_image_folder(tmp_path / "in", n=2, size=40)
    paths = sorted(str(p) for p in folder.glob("*.png"))
    spec = "vae:resolution=32"
    result = run_cli(
        ["--device", "cpu", "encode", spec, *paths, "-o", str(tmp_path / "z.safetensors")]
    )
    assert result.exit_code == 0, result.stderr
    tensors, _ = load_tensors(tmp_path / "z.safetensors")
    ours = artkit.load(spec, device="cpu").encode(paths)
    for row, path in zip(ours, paths, strict=True):
        assert np.array_equal(row.numpy(), tensors[f"mean/{path}"].numpy())


def test_train_and_render_stay_callable_once_their_packages_are_imported() -> None:
    import artkit.render.runner
    import artkit.train.loop

    assert callable(artkit.train) and callable(artkit.render)
    assert artkit.train.loop.Trainer and artkit.render.runner.render_series


def test_walk_is_what_artkit_interpolate_draws(readme_run, tmp_path) -> None:
    from artkit.animation import read_frames

    folder, scope = readme_run
    run = str(folder / scope["run"].path)
    m = artkit.load(run, device="cpu")
    frames = m.walk([3, 7], frames=6, loop=False)
    assert len(frames) == 6
    # a walk starts and ends on its keys' own pictures
    [first, last] = m.sample(seeds=[3, 7])
    assert np.array_equal(pixels(frames[0]), pixels(first))
    assert np.array_equal(pixels(frames[-1]), pixels(last))
    assert not np.array_equal(pixels(frames[2]), pixels(first))
    out = tmp_path / "walk.png"  # APNG: lossless, so the frames compare exactly
    result = run_cli(
        ["--device", "cpu", "interpolate", run, "--seeds", "3,7", "--frames", "6",
         "--no-loop", "-o", str(out)]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    cli_frames = read_frames(out)
    assert all(
        np.array_equal(pixels(a), pixels(b)) for a, b in zip(frames, cli_frames, strict=True)
    )
    for bad, message in (([3], "at least two seeds"), ([3, 7], "frames must be at least 2")):
        with pytest.raises(UsageError, match=message):
            m.walk(bad, frames=1 if len(bad) == 2 else 6)


def test_save_samples_records_the_weights_relative_to_its_folder(readme_run, tmp_path) -> None:
    folder, scope = readme_run
    m = artkit.load(str(folder / scope["run"].path), device="cpu")
    [path] = m.save_samples([5], tmp_path / "deep" / "er")
    recorded = read_provenance(path)["checkpoint_path"]
    assert not Path(recorded).is_absolute()
    assert (path.parent / recorded).resolve() == (
        folder / scope["run"].path / "weights.safetensors"
    ).resolve()


def test_save_samples_writes_the_bytes_artkit_sample_writes(readme_run, tmp_path) -> None:
    folder, scope = readme_run
    run = folder / scope["run"].path
    m = artkit.load(str(run), device="cpu")
    # threads encode while the next batch is drawn: the files are the CLI's, in seed order
    paths = m.save_samples("3-7", tmp_path / "lib", batch_size=2)
    assert [p.name for p in paths] == [f"{s:06d}.png" for s in range(3, 8)]
    result = run_cli(["--device", "cpu", "sample", str(run), "--seeds", "3-7", "-o",
                      str(tmp_path / "cli")])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for path in paths:
        assert path.read_bytes() == (tmp_path / "cli" / path.name).read_bytes()
    [webp] = m.save_samples([3], tmp_path / "webp", format="WEBP")
    assert webp.name == "000003.webp" and read_provenance(webp)["seed"] == 3
    with pytest.raises(UsageError, match="format 'bmp': use png, webp or jpg"):
        m.save_samples([3], tmp_path / "bmp", format="bmp")
    assert not (tmp_path / "bmp").exists()


def test_save_samples_never_replaces_a_file_artkit_did_not_write(readme_run, tmp_path) -> None:
    from artkit.api.sample_files import write_samples

    folder, scope = readme_run
    m = artkit.load(str(folder / scope["run"].path), device="cpu")
    out = tmp_path / "out"
    m.save_samples(range(4), out)
    m.save_samples(range(4), out)  # its own files: replaced
    Image.new("RGB", (4, 4), "blue").save(out / "000003.png")
    (out / "000000.png").unlink()
    with pytest.raises(UsageError, match=r"000003.png exists and was not written by artkit"):
        m.save_samples(range(4), out)
    assert not (out / "000000.png").exists()  # refused before the first file
    # seeds from an iterator can be read once: checked a batch at a time instead
    stream = write_samples(m, iter(range(6)), out, {}, batch_size=2)
    with pytest.raises(UsageError, match=r"000003.png exists"):
        list(stream)
    with Image.open(out / "000003.png") as im:
        assert im.size == (4, 4)
    assert not (out / "000004.png").exists()


def test_save_never_replaces_a_file_artkit_did_not_write(tmp_path) -> None:
    def colour(path: Path) -> tuple:
        with Image.open(path) as im:
            return im.convert("RGB").getpixel((0, 0))

    photo = tmp_path / "photo.png"
    Image.new("RGB", (4, 4), "blue").save(photo)  # a picture of the user's own
    red = Image.new("RGB", (4, 4), "red")
    message = r"photo.png exists and was not written by artkit; .*overwrite=True"
    with pytest.raises(UsageError, match=message):
        artkit.save(red, photo)
    assert colour(photo) == (0, 0, 255)
    artkit.save(red, photo, overwrite=True)  # asked for: replaced
    assert colour(photo) == (255, 0, 0)
    assert read_provenance(photo)["command"] == "save"  # now artkit's own file ...
    artkit.save(Image.new("RGB", (4, 4), "lime"), photo)  # ... so saving there again is fine
    assert colour(photo) == (0, 255, 0)

    # save_images checks every target before it writes the first
    out = tmp_path / "out"
    out.mkdir()
    Image.new("RGB", (4, 4), "blue").save(out / "000001.png")
    with pytest.raises(UsageError, match=r"000001.png exists and was not written by artkit"):
        artkit.save_images([red, red], out)
    assert not (out / "000000.png").exists() and colour(out / "000001.png") == (0, 0, 255)
    paths = artkit.save_images([red, red], out, overwrite=True)
    assert [colour(p) for p in paths] == [(255, 0, 0)] * 2

    # save_grid: not over a stranger's file, nor over the file one of its pictures came from
    sheet = tmp_path / "sheet.png"
    Image.new("RGB", (4, 4), "blue").save(sheet)
    with pytest.raises(UsageError, match=r"sheet.png exists and was not written by artkit"):
        artkit.save_grid([red, red], sheet)
    assert colour(sheet) == (0, 0, 255)
    with Image.open(paths[0]) as opened, pytest.raises(UsageError, match="one of the inputs"):
        artkit.save_grid([opened, red], paths[0])
    assert read_image(paths[0]).size == (4, 4)
    artkit.save_grid([red, red], sheet, overwrite=True)
    assert read_provenance(sheet)["command"] == "grid"
