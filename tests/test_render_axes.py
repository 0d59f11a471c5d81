"""Render axes come from the model contract (issue #18, point 5).

Every sampling keyword a model declares -- an extra parameter of ``sample`` or a
keyword of ``generate`` -- is a sweep axis and a ``Model.sample`` keyword, and
``render --dry-run`` (like a real render) checks every axis against every model of
the series, built bare from a checkpoint header or a spec, before anything is drawn.
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
from artkit.checkpoint import build_model, save_model
from artkit.errors import UsageError
from artkit.model import LatentModel
from artkit.render.models import bare_model, check_sampler_options, sampling_keywords
from artkit.testing import run_cli
from tests.helpers import one_error_line


@dataclass
class FeedConfig:
    z_dim: int = 4
    resolution: int = 8
    channels: int = 1


class Feedy(LatentModel):
    """A latent model whose ``generate`` takes an option of its own, ``feed``."""

    network_names = ("G",)

    def __init__(self, **options):
        super().__init__(FeedConfig(**options), registry_name="feedy")
        self.G = nn.Linear(self.config.z_dim, 64)

    @torch.no_grad()
    def generate(self, z, *, feed: float = 1.0):
        return torch.tanh(self.G(z.float()) * float(feed)).view(-1, 1, 8, 8)


class Wobbly(Feedy):
    """Options in both places: ``wobble`` through ``sample``, ``feed`` through ``generate``."""

    def sample(self, n, generator=None, *, truncation=1.0, wobble=0.0):
        return (self.generate(self.latents(n, generator, truncation)) + wobble).clamp(-1, 1)


class Open(Feedy):
    def generate(self, z, **options):
        return super().generate(z, feed=options.get("anything", 1.0))


class Plugin:
    @artkit.hookimpl
    def register_models(self, register):
        register("feedy", Feedy, description="feed", params=FeedConfig)
        register("wobbly", Wobbly, description="wobble", params=FeedConfig)


@pytest.fixture(autouse=True)
def plugin(artkit_plugin):
    artkit_plugin(Plugin(), name="axes-test")


def series(folder: Path, models: list[str], sweep: str, template: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(
        f'series = "axes"\nout = "renders"\ntemplate = "{template}"\n'
        f"[sweep]\ncheckpoint = {json.dumps(models)}\n{sweep}\n"
    )
    return path


def test_sampling_keywords_come_from_sample_and_generate():
    assert sampling_keywords(Feedy()) == ({"feed": "generate"}, "")
    assert sampling_keywords(Wobbly()) == ({"feed": "generate", "wobble": "sample"}, "")
    assert sampling_keywords(Open()) == ({}, "generate")
    check_sampler_options(Open(), ["anything", "at_all"])
    with pytest.raises(UsageError, match="partly in sample\\(\\) and partly in generate\\(\\)"):
        check_sampler_options(Wobbly(), ["feed", "wobble"])
    with pytest.raises(UsageError) as caught:
        check_sampler_options(Feedy(), ["feeed"])
    assert str(caught.value) == (
        "sweep.feeed: model 'feedy' has no sampler option 'feeed' (it takes: truncation, feed)"
    )


def test_a_checkpoint_is_built_bare_from_its_header(tmp_path):
    path = save_model(build_model("feedy", {"z_dim": 6}), tmp_path / "f.safetensors")
    model = bare_model(str(path))
    assert model.config.z_dim == 6 and model.G.weight.device.type == "meta"  # no weights read
    assert bare_model("feedy:z_dim=5").config.z_dim == 5


def test_a_generate_keyword_is_an_axis_rendered_and_reproduced(tmp_path):
    spec = series(
        tmp_path, ["feedy:z_dim=4"], 'seed = "0-1"\nfeed = [0.5, 3.0]', "{feed}/{seed}.png"
    )
    dry = run_cli(["render", str(spec), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "total     4 images" in dry.stdout and "feed            2" in dry.stdout
    result = run_cli(["--device", "cpu", "render", str(spec)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "renders"
    bold = np.asarray(Image.open(out / "3.0" / "1.png"), np.int16)
    soft = np.asarray(Image.open(out / "0.5" / "1.png"), np.int16)
    assert np.abs(bold - soft).mean() > 1  # the option reached generate
    # the same pixels as the Python API and as `artkit sample` draws them for seed 1
    api = artkit.load("feedy:z_dim=4", device="cpu").sample(seeds=[1], feed=3.0)[0]
    assert np.array_equal(np.asarray(api, np.int16), bold)
    same = run_cli(["--device", "cpu", "reproduce", str(out / "3.0" / "1.png")])
    assert same.exit_code == 0 and same.stdout.strip().endswith(": identical"), same.output


def test_a_sample_keyword_is_still_an_axis(tmp_path):
    spec = series(tmp_path, ["wobbly:z_dim=4"], 'seed = "0"\nwobble = [0.0, 0.5]', "{wobble}.png")
    result = run_cli(["--device", "cpu", "render", str(spec)])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "renders").glob("*.png"))) == 2


@pytest.mark.parametrize("dry", [True, False])
def test_an_axis_one_model_lacks_fails_in_one_line_before_anything_renders(tmp_path, dry):
    """feedy takes ``feed``, the checkpoint after it (a dcgan) does not: refused up front."""
    dcgan = save_model(
        build_model("dcgan", {"resolution": 32, "width": 0.125}), tmp_path / "d.safetensors"
    )
    spec = series(
        tmp_path, ["feedy:z_dim=4", str(dcgan)], 'seed = "0-1"\nfeed = [1.0, 2.0]',
        "{index}.png",
    )  # fmt: skip
    result = run_cli(["--device", "cpu", "render", str(spec), *(["--dry-run"] if dry else [])])
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == (
        "artkit: error: sweep.feed: model 'dcgan' has no sampler option 'feed' "
        "(it takes: truncation, no other options)"
    )
    assert result.stdout == "" and not (tmp_path / "renders").exists()


def test_a_dry_run_names_a_checkpoint_it_cannot_build(tmp_path):
    missing = tmp_path / "gone.safetensors"
    spec = series(tmp_path, [str(missing)], 'seed = "0"\nfeed = [1.0]', "{seed}.png")
    result = run_cli(["render", str(spec), "--dry-run"])
    assert result.exit_code == 2
    assert "gone.safetensors: no such checkpoint file or run folder" in one_error_line(
        result.stderr
    )
