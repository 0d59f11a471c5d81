"""Outputs beyond images: a plugin registers a medium, a model names it, the writer follows.

The inline plugin below is what a music plugin will do with MIDI: a model whose
``output_kind`` is ``"ascii"`` and a medium that turns each generated picture into
ASCII art in a ``.txt`` file, with its provenance on the first line. ``artkit
sample`` writes those files (one path per line, as for images) and ``artkit info``
reads their provenance back through the same medium.

The medium also has every optional method of the contract (:mod:`artkit.media`), as
the MIDI medium does: ``to_items(batch, model=...)`` (the ramp comes from the model's
config), ``save(..., audio=True)`` (a ``.beep`` file beside the art), ``preview`` (a
picture for ``artkit grid``), ``join`` (a medley for ``interpolate`` / ``morph``),
``load_array`` and ``compare`` (``reproduce``, ``eval``, ``morph``'s inputs) and
``evaluate`` (its own measures in ``artkit eval``); a dataset of "rolls" has
``preview_image`` for ``artkit data preview``. Every optional method is exercised
through the real command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import artkit
from artkit.checks.common import ConformanceError
from artkit.errors import UsageError
from artkit.media import ImageMedium, medium, medium_for_path, to_items
from artkit.model import LatentModel
from artkit.testing import plugin_registered, run_cli
from tests.helpers import one_error_line, read_image

RAMP = " .:-=+*#%@"
DIGITS = "0123456789"  # the ramp AsciiModel's config names: to_items was given the model
_LEVEL = {c: i for ramp in (RAMP, DIGITS) for i, c in enumerate(ramp)}


def _art(path):
    """The rows of art in a .txt the medium wrote (the provenance line dropped)."""
    return Path(path).read_text().splitlines()[1:]


class AsciiMedium:
    name = "ascii"
    suffixes = (".txt",)
    eval_features = "random-conv"

    @staticmethod
    def to_items(batch, *, model=None):
        ramp = model.config.ramp if model is not None else RAMP
        grey = ((batch.float().mean(1) + 1) / 2).clamp(0, 1)  # (N, H, W)
        idx = (grey * (len(ramp) - 1)).round().long()
        return ["\n".join("".join(ramp[i] for i in row) for row in pic.tolist()) for pic in idx]

    @staticmethod
    def save(item, path, provenance, *, audio=False, **_):
        path = Path(path).with_suffix(".txt")
        path.write_text("# artkit " + json.dumps(provenance, sort_keys=True) + "\n" + item + "\n")
        if audio:  # "sound": one beep per row
            path.with_suffix(".beep").write_text("beep\n" * len(item.splitlines()))
        return path

    @staticmethod
    def read_provenance(path):
        first = Path(path).read_text().splitlines()[0]
        return (
            json.loads(first.removeprefix("# artkit ")) if first.startswith("# artkit ") else None
        )

    @staticmethod
    def join(items):
        return "\n".join(items)  # rows one after another: a medley in time

    @staticmethod
    def levels(path):
        return np.array([[_LEVEL[c] for c in row] for row in _art(path)], dtype=np.int16)

    @classmethod
    def preview(cls, path):
        grey = (cls.levels(path) * 255 // 9).astype(np.uint8)
        return Image.fromarray(grey, "L").resize((grey.shape[1] * 4, grey.shape[0] * 4))

    @classmethod
    def load_array(cls, path, channels, resolution):
        from artkit.config_checks import image_size

        levels = cls.levels(path)
        if levels.shape != image_size(resolution):
            raise UsageError(f"{path}: not {resolution}")
        grey = (levels * 255 // 9).astype(np.uint8)
        return np.repeat(grey[:, :, None], channels, axis=2)

    @classmethod
    def compare(cls, a, b):
        x, y = cls.levels(a), cls.levels(b)
        if x.shape != y.shape:
            return max(x.size, y.size), 9
        diff = np.abs(x - y)
        return int((diff > 0).sum()), int(diff.max())

    @staticmethod
    def evaluate(fake, ref):
        ink = [float(np.mean([a.mean() / 255 for a in arrays])) for arrays in (fake, ref)]
        return [{"name": "mean ink", "samples": ink[0], "reference": ink[1]}]


@dataclass
class Cfg:
    z_dim: int = 4
    resolution: int = 6
    channels: int = 1
    ramp: str = DIGITS


class AsciiModel(LatentModel):
    network_names = ("G",)
    output_kind = "ascii"

    def __init__(self, **_):
        super().__init__(Cfg(), registry_name="ascii-blobs")
        self.G = nn.Linear(4, 36)

    @torch.no_grad()
    def generate(self, z):
        return torch.tanh(self.G(z.float())).view(-1, 1, 6, 6)


class AsciiVAE(AsciiModel):
    """Encodes too (a VAE's shape), so ``morph`` walks between two of the medium's files."""

    network_names = ("G", "E")

    def __init__(self, **_):
        super().__init__()
        self.registry_name = "ascii-vae"
        self.E = nn.Linear(36, 8)

    @torch.no_grad()
    def encode(self, x):
        mean, logvar = self.E(x.float().flatten(1)).chunk(2, dim=1)
        return mean, logvar

    @torch.no_grad()
    def decode(self, z):
        return self.generate(z)


class Rolls:
    """A dataset whose items are not pictures: (T, P, tracks) "piano rolls" that draw themselves."""

    def __init__(self, resolution, channels, count):
        from artkit.config_checks import image_size

        self.resolution, self.channels = resolution, channels
        t, p = image_size(resolution)
        g = np.random.default_rng(0)
        self.items = (g.random((count, t, p, channels)) > 0.7).astype(np.uint8) * 255

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def fingerprint(self):
        return "rolls-" + "x".join(map(str, self.items.shape))

    def preview_image(self, i):
        return Image.new("RGB", (10, 7), (255, 0, 0))  # red: drawn by the source, not as pixels


def build_rolls(resolution=8, channels=2, count=5, **_):
    return Rolls(resolution, channels, int(count))


class AsciiPlugin:
    @artkit.hookimpl
    def register_models(self, register):
        register("ascii-blobs", AsciiModel, description="Blobs as ASCII art.")
        register("ascii-vae", AsciiVAE, description="Blobs as ASCII art, encodable.")

    @artkit.hookimpl
    def register_media(self, register):
        register("ascii", AsciiMedium, description="ASCII art in .txt files.")

    @artkit.hookimpl
    def register_datasets(self, register):
        register("rolls", build_rolls, description="Random piano rolls.", test_channels=(1, 2))


@pytest.fixture
def ascii_plugin():
    with plugin_registered(AsciiPlugin(), name="asciiart"):
        yield


def cli(*args, input=None):
    return run_cli(["--device", "cpu", *map(str, args)], input=input)


def sample(out, *extra):
    result = cli("sample", "ascii-blobs", "-o", out, *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


def test_a_plugin_medium_is_written_by_sample_and_read_by_info(tmp_path, ascii_plugin):
    assert medium("ascii") is AsciiMedium and medium() is ImageMedium
    assert medium_for_path("x.TXT") is AsciiMedium and medium_for_path("x.png") is ImageMedium
    paths = sample(tmp_path, "--seeds", "3,4")
    assert [Path(p).name for p in paths] == ["000003.txt", "000004.txt"]
    art = _art(paths[0])
    # to_items was given the model: its config's ramp, not the medium's default
    assert len(art) == 6 and all(len(row) == 6 and set(row) <= set(DIGITS) for row in art)
    assert art != _art(paths[1])  # two seeds, two pictures
    info = run_cli(["info", paths[0], "--json"])
    assert info.exit_code == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["type"] == "ascii" and data["provenance"]["seed"] == 3
    assert data["provenance"]["model"] == "ascii-blobs"
    # the Python API hands out the medium's items too
    items = artkit.load("ascii-blobs", device="cpu").sample(seeds=[3])
    assert items[0] == "\n".join(art)


def test_to_items_gets_the_model_only_when_it_takes_one():
    batch = torch.linspace(-1, 1, 36).view(1, 1, 6, 6)
    assert set(to_items(AsciiMedium, batch)[0]) <= set(RAMP + "\n")  # no model: default ramp
    assert set(to_items(AsciiMedium, batch, model=AsciiModel())[0]) <= set(DIGITS + "\n")
    # the image medium's to_items takes no model: it is not passed one
    [picture] = to_items(ImageMedium, batch, model=AsciiModel())
    assert picture.size == (6, 6) and picture.mode == "L"


def test_sample_audio_goes_to_a_medium_that_renders_sound(tmp_path, ascii_plugin):
    paths = sample(tmp_path / "a", "--seeds", "1,2", "--audio")
    beeps = sorted(p.name for p in (tmp_path / "a").glob("*.beep"))
    assert beeps == ["000001.beep", "000002.beep"]
    assert Path(paths[0]).with_suffix(".beep").read_text() == "beep\n" * 6
    # no --audio: no sound
    sample(tmp_path / "b", "--seeds", "1")
    assert not list((tmp_path / "b").glob("*.beep"))
    # the Python API does the same
    model = artkit.load("ascii-blobs", device="cpu")
    written = model.save_samples([5], tmp_path / "c", audio=True)
    assert [p.name for p in written] == ["000005.txt"]
    assert (tmp_path / "c" / "000005.beep").is_file()
    assert _art(written[0]) == model.sample(seeds=[5])[0].splitlines()


def test_audio_for_a_medium_without_sound_is_one_line(tmp_path, ascii_plugin):
    result = cli("sample", "mlp-gan:resolution=8,hidden=8", "-n", "1", "--audio", "-o", tmp_path)
    assert result.exit_code == 2
    assert "this model's medium (image) has no audio rendering" in one_error_line(result.stderr)
    assert not list(tmp_path.iterdir())  # refused before anything was written
    with pytest.raises(UsageError, match=r"medium \(image\) has no audio"):
        artkit.load("mlp-gan:resolution=8,hidden=8", device="cpu").save_samples(
            [0], tmp_path, audio=True
        )


def test_grid_pictures_another_medium_through_its_preview(tmp_path, ascii_plugin):
    result = cli("sample", "ascii-blobs", "--seeds", "1-4", "-o", tmp_path / "s")
    assert result.exit_code == 0, result.stderr
    sheet = tmp_path / "sheet.png"
    made = run_cli(
        ["grid", "-o", str(sheet), "--gap", "0", "--labels", "seed"], input=result.stdout
    )
    assert made.exit_code == 0, made.stderr
    with Image.open(sheet) as im:
        # 2 x 2 previews of 24 x 24 px each (6 x 6 characters at 4 px), labels below
        assert im.width == 48 and im.height > 48
        first = AsciiMedium.preview(result.stdout.split()[0]).convert("RGB")
        assert np.array_equal(
            np.asarray(im.convert("RGB"))[:24, :24], np.asarray(first)
        )  # the preview is the picture
    # `sample --grid` pictures the files it wrote the same way
    sample(tmp_path / "t", "--seeds", "1-4", "--grid", tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as im:
        assert im.width > 24 and im.height > 24


def test_interpolate_joins_a_walk_into_one_file(tmp_path, ascii_plugin, monkeypatch):
    out = tmp_path / "walk.txt"
    result = cli("interpolate", "ascii-blobs", "--seeds", "1,2", "--frames", "4", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    rows = _art(out)
    assert len(rows) == 4 * 6 and set("".join(rows)) <= set(DIGITS)
    prov = AsciiMedium.read_provenance(out)
    assert prov["command"] == "interpolate" and prov["seeds"] == [1, 2] and prov["frames"] == 4
    # the first frame is seed 1's sample
    first = artkit.load("ascii-blobs", device="cpu").sample(seeds=[1])[0].splitlines()
    assert rows[:6] == first
    # no -o: walk.txt (the medium's suffix), not walk.gif
    monkeypatch.chdir(tmp_path)
    result = cli("interpolate", "ascii-blobs", "--seeds", "1,2", "--frames", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "walk.txt" and len(_art(tmp_path / "walk.txt")) == 12
    # an animation's suffix for a non-image walk: one line
    bad = cli("interpolate", "ascii-blobs", "--seeds", "1,2", "-o", tmp_path / "w.gif")
    assert bad.exit_code == 2
    line = one_error_line(bad.stderr)
    assert "this model writes ascii files, not '.gif'; use .txt" in line
    assert not (tmp_path / "w.gif").exists()


def test_a_walk_in_a_medium_that_cannot_join_is_one_line(tmp_path):
    class NoJoin(AsciiMedium):
        join = None

    class Plugin(AsciiPlugin):
        @artkit.hookimpl
        def register_media(self, register):
            register("ascii", NoJoin, description="ASCII art that cannot be joined.")

    with plugin_registered(Plugin(), name="nojoin"):
        result = cli("interpolate", "ascii-blobs", "--seeds", "1,2", "-o", tmp_path / "w.txt")
    assert result.exit_code == 2
    assert "this model's medium (ascii) has no way to join" in one_error_line(result.stderr)


def test_morph_reads_the_medium_and_joins_the_frames(tmp_path, ascii_plugin):
    a, b = sample(tmp_path / "in", "--seeds", "1,2")
    out = tmp_path / "m.txt"
    result = cli("morph", "ascii-vae", a, b, "--frames", "3", "-o", out)
    assert result.exit_code == 0, result.stderr
    rows = _art(out)
    assert len(rows) == 3 * 6 and set("".join(rows)) <= set(DIGITS)
    prov = AsciiMedium.read_provenance(out)
    assert prov["command"] == "morph" and prov["sources"] == [a, b]
    # the first frame decodes the first input's latent, read through load_array
    model = artkit.load("ascii-vae", device="cpu")
    x = AsciiMedium.load_array(a, 1, 6)
    assert np.array_equal(model.prepare(a), x)
    mean = model.encode([a])
    assert rows[:6] == model.decode(mean)[0].splitlines()
    bad = cli("morph", "ascii-vae", a, b, "-o", tmp_path / "m.mp4")
    assert bad.exit_code == 2 and "use .txt" in one_error_line(bad.stderr)


def test_reproduce_compares_through_the_medium(tmp_path, ascii_plugin):
    [path] = sample(tmp_path, "--seeds", "7")
    result = cli("reproduce", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{path}: identical"
    as_json = json.loads(cli("reproduce", path, "--json").stdout)
    assert as_json["status"] == "identical" and as_json["medium"] == "ascii"
    # change one character of the art: reproduce sees it
    lines = Path(path).read_text().splitlines()
    row = lines[1]
    swapped = "9" if row[0] != "9" else "0"
    lines[1] = swapped + row[1:]
    Path(path).write_text("\n".join(lines) + "\n")
    result = cli("reproduce", path)
    assert result.exit_code == 1
    assert "different (1 differing units of the ascii file" in result.stdout


def test_data_preview_and_info_for_items_that_are_not_pixels(tmp_path, ascii_plugin):
    sheet = tmp_path / "rolls.png"
    result = cli(
        "data", "preview", "rolls", "-r", "8x5", "--channels", "2", "-n", "4", "--gap", "0",
        "-o", sheet,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with Image.open(sheet) as im:
        assert im.size == (20, 14)  # 2 x 2 previews of 10 x 7
        assert im.convert("RGB").getpixel((3, 3)) == (255, 0, 0)
    labelled = cli(
        "data", "preview", "rolls", "-r", "8x5", "--channels", "2", "-n", "2", "--labels",
        "-o", tmp_path / "l.png",
    )  # fmt: skip
    assert labelled.exit_code == 0, labelled.stderr
    info = cli("data", "info", "rolls", "-r", "64x48", "--channels", "2", "--json")
    assert info.exit_code == 0, info.stderr
    report = json.loads(info.stdout)
    assert report["channels"] == 2 and report["resolution"] == "64x48"
    # an image dataset still takes 1, 3 or 4 channels only
    bad = cli("data", "info", "shapes:count=4", "--channels", "2")
    assert bad.exit_code == 2
    assert "--channels 2 must be 1 (grey), 3 (RGB) or 4 (RGBA)" in one_error_line(bad.stderr)


def test_eval_reads_a_medium_and_prints_its_measures(tmp_path, ascii_plugin):
    sample(tmp_path / "fake", "-n", "8")
    sample(tmp_path / "real", "-n", "8", "--seed", "100")
    args = ["eval", tmp_path / "fake", "--ref", tmp_path / "real", "--metrics", "fd"]
    result = cli(*args, "--json", "--no-cache")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["samples"] == 8 and report["reference"] == 8
    assert report["features"].startswith("random-conv")  # the medium's eval_features
    [row] = report["measures"]
    fake = [AsciiMedium.load_array(p, 1, 6) for p in sorted((tmp_path / "fake").glob("*.txt"))]
    assert row["name"] == "mean ink"
    assert row["samples"] == pytest.approx(np.mean([a.mean() / 255 for a in fake]))
    assert report["fd"] > 0
    table = cli(*args, "--no-cache")
    assert table.exit_code == 0, table.stderr
    assert "mean ink" in table.stdout and "FD (random-conv" in table.stdout
    # the samples on stdin, the reference a dataset built at the samples' geometry
    piped = sample(tmp_path / "piped", "-n", "6")
    result = cli(
        "eval", "--ref", "rolls:count=6", "--metrics", "fd", "--json", "--no-cache",
        input="\n".join(piped) + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reference"] == 6
    # a folder of images is no reference for ascii files
    (tmp_path / "imgs").mkdir()
    bad = cli("eval", tmp_path / "fake", "--ref", tmp_path / "imgs", "--metrics", "fd")
    assert bad.exit_code == 2 and "holds no ascii files" in one_error_line(bad.stderr)


def test_training_evaluation_takes_the_models_own_features():
    from artkit.eval.features import features_for

    class Music(AsciiModel):
        eval_features = "pianoroll"

    assert LatentModel.eval_features == ""
    assert features_for("auto", Music()) == "pianoroll"
    assert features_for("random-conv", Music()) == "random-conv"  # the user's choice wins
    assert features_for("auto", AsciiModel()) == "auto"
    assert features_for("", None) == "auto"


def test_conformance_sends_a_models_samples_through_its_medium(tmp_path):
    from artkit.checks.models import _check_medium

    model = AsciiModel().eval()
    samples = model.generate(torch.randn(2, 4))
    with plugin_registered(AsciiPlugin(), name="asciiart"):
        _check_medium(model, "ascii-blobs", samples, tmp_path)
    assert AsciiMedium.read_provenance(tmp_path / "medium" / "000001.txt")["seed"] == 1
    assert len(_art(tmp_path / "medium" / "joined.txt")) == 12

    class Forgetful(AsciiMedium):
        @staticmethod
        def read_provenance(path):
            return None

    class Plugin(AsciiPlugin):
        @artkit.hookimpl
        def register_media(self, register):
            register("ascii", Forgetful, description="Loses its provenance.")

    with (
        plugin_registered(Plugin(), name="forgetful"),
        pytest.raises(ConformanceError, match="did not read back the provenance"),
    ):
        _check_medium(model, "ascii-blobs", samples, tmp_path / "2")


def test_a_model_whose_medium_is_missing_is_one_line(tmp_path):
    class NoMedium:
        @artkit.hookimpl
        def register_models(self, register):
            register("ascii-blobs", AsciiModel, description="Blobs as ASCII art.")

    with plugin_registered(NoMedium(), name="nomedium"):
        result = run_cli(
            ["--device", "cpu", "sample", "ascii-blobs", "-n", "1", "-o", str(tmp_path)]
        )
        assert result.exit_code == 1
        assert "writes 'ascii' files, and no loaded plugin registers that medium" in one_error_line(
            result.stderr
        )


@pytest.mark.parametrize("kind", ["image"])
def test_images_stay_the_default(kind):
    assert LatentModel.output_kind == kind


def test_render_refuses_a_model_of_another_medium_in_one_line(tmp_path, ascii_plugin):
    spec = tmp_path / "series.toml"
    spec.write_text(
        'series = "blobs"\ntemplate = "{series}/{seed:05d}.png"\n'
        '[model]\ncheckpoint = "ascii-blobs:unused=1"\n[sweep]\nseed = "0-1"\n'
    )
    result = cli("render", spec, "--out", tmp_path / "out")
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert line.endswith(
        "writes ascii files, and this series' template writes pictures; "
        "end the template with one of .txt"
    )
    assert not list((tmp_path / "out").rglob("*.png"))


def test_arrays_that_are_not_pictures_become_pictures_for_sample_grids():
    from artkit.grid import grid_from_array
    from artkit.media import TRACK_COLOURS, picture_array

    rgb = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    assert picture_array(rgb) is rgb  # pictures are left alone
    rolls = np.zeros((2, 4, 5, 2), np.uint8)
    rolls[0, 1, 2, 0] = 255  # track 0 sounds
    rolls[1, 3, 4, 1] = 255  # track 1 sounds
    shown = picture_array(rolls)
    assert shown.shape == (2, 4, 5, 3) and shown.dtype == np.uint8
    assert tuple(shown[0, 1, 2]) == TRACK_COLOURS[0] and tuple(shown[1, 3, 4]) == TRACK_COLOURS[1]
    assert tuple(shown[0, 0, 0]) == (255, 255, 255)  # silence is white
    assert grid_from_array(shown).mode == "RGB"  # what the trainer's sample grid needs


def test_render_writes_a_series_in_a_plugin_medium(tmp_path, ascii_plugin):
    # artkit render knows no medium but images: the template's suffix picks the plugin's
    (tmp_path / "s.toml").write_text(
        'series = "art"\nout = "out"\ntemplate = "{series}/s{seed}.txt"\naudio = true\n'
        '[model]\ncheckpoint = "ascii-blobs:z_dim=4"\n[sweep]\nseed = "0-2"\n'
        '[[sheet]]\nrows = "checkpoint"\ncolumns = "seed"\nout = "{series}/sheet.png"\n'
        '[[walk]]\nseeds = [0, 2]\nframes = 3\nout = "{series}/walk.txt"\n'
    )
    result = cli("render", tmp_path / "s.toml")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "out" / "art"
    arts = sorted(out.glob("s*.txt"))
    assert [p.name for p in arts] == ["s0.txt", "s1.txt", "s2.txt"]
    assert all(len(_art(p)) == 6 and p.with_suffix(".beep").is_file() for p in arts)
    assert AsciiMedium.read_provenance(arts[1])["command"] == "render"
    assert read_image(out / "sheet.png").size[0] > 3 * 24  # three previews side by side
    assert len(_art(out / "walk.txt")) == 3 * 6  # the walk's frames joined
    before = {p: p.stat().st_mtime_ns for p in out.glob("s[0-9].*")}
    assert len(before) == 6  # the art and its "sound"
    again = cli("render", tmp_path / "s.toml")
    assert again.exit_code == 0, again.stderr
    assert "0 rendered" in again.stderr and "3 already there" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.glob("s[0-9].*")} == before
    same = cli("reproduce", arts[2])
    assert same.exit_code == 0, same.stderr
    assert same.stdout.strip().endswith("identical")
