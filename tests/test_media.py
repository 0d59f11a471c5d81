"""Outputs beyond images: a plugin registers a medium, a model names it, the writer follows.

The inline plugin below is what a music plugin will do with MIDI: a model whose
``output_kind`` is ``"ascii"`` and a medium that turns each generated picture into
ASCII art in a ``.txt`` file, with its provenance on the first line. ``artkit
sample`` writes those files (one path per line, as for images) and ``artkit info``
reads their provenance back through the same medium.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import artkit
from artkit.media import ImageMedium, medium, medium_for_path
from artkit.model import LatentModel
from artkit.testing import plugin_registered, run_cli
from tests.helpers import one_error_line

RAMP = " .:-=+*#%@"


class AsciiMedium:
    name = "ascii"
    suffixes = (".txt",)

    @staticmethod
    def to_items(batch):
        grey = ((batch.float().mean(1) + 1) / 2).clamp(0, 1)  # (N, H, W)
        idx = (grey * (len(RAMP) - 1)).round().long()
        return ["\n".join("".join(RAMP[i] for i in row) for row in pic.tolist()) for pic in idx]

    @staticmethod
    def save(item, path, provenance, **_):
        path = Path(path)
        path.write_text("# artkit " + json.dumps(provenance, sort_keys=True) + "\n" + item + "\n")
        return path

    @staticmethod
    def read_provenance(path):
        first = Path(path).read_text().splitlines()[0]
        return (
            json.loads(first.removeprefix("# artkit ")) if first.startswith("# artkit ") else None
        )


class Cfg:
    z_dim = 4
    resolution = 6
    channels = 1


class AsciiModel(LatentModel):
    network_names = ("G",)
    output_kind = "ascii"

    def __init__(self, **_):
        super().__init__(Cfg(), registry_name="ascii-blobs")
        self.G = nn.Linear(4, 36)

    @torch.no_grad()
    def generate(self, z):
        return torch.tanh(self.G(z.float())).view(-1, 1, 6, 6)


class AsciiPlugin:
    @artkit.hookimpl
    def register_models(self, register):
        register("ascii-blobs", AsciiModel, description="Blobs as ASCII art.")

    @artkit.hookimpl
    def register_media(self, register):
        register("ascii", AsciiMedium, description="ASCII art in .txt files.")


def test_a_plugin_medium_is_written_by_sample_and_read_by_info(tmp_path):
    with plugin_registered(AsciiPlugin(), name="asciiart"):
        assert medium("ascii") is AsciiMedium and medium() is ImageMedium
        assert medium_for_path("x.TXT") is AsciiMedium and medium_for_path("x.png") is ImageMedium
        result = run_cli(
            ["--device", "cpu", "sample", "ascii-blobs", "--seeds", "3,4", "-o", str(tmp_path)]
        )
        assert result.exit_code == 0, result.stderr
        paths = result.stdout.split()
        assert [Path(p).name for p in paths] == ["000003.txt", "000004.txt"]
        art = Path(paths[0]).read_text().splitlines()[1:]
        assert len(art) == 6 and all(len(row) == 6 and set(row) <= set(RAMP) for row in art)
        assert art != Path(paths[1]).read_text().splitlines()[1:]  # two seeds, two pictures
        info = run_cli(["info", paths[0], "--json"])
        assert info.exit_code == 0, info.stderr
        data = json.loads(info.stdout)
        assert data["type"] == "ascii" and data["provenance"]["seed"] == 3
        assert data["provenance"]["model"] == "ascii-blobs"
        # the Python API hands out the medium's items too
        items = artkit.load("ascii-blobs", device="cpu").sample(seeds=[3])
        assert items[0] == "\n".join(art)


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
