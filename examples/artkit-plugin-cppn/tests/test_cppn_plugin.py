"""The example plugin's own tests: run them with ``pytest`` from this folder, once the
plugin is installed in artkit's environment (``artkit plugins install -e .``)."""

from __future__ import annotations

import colorsys
import json

import numpy as np
import torch
from PIL import Image

from artkit.checkpoint import build_model, load_model, save_model
from artkit.testing import check_loss, check_model, check_postprocessor, run_cli, tiny_images


def test_components_pass_artkit_conformance_checks(tmp_path):
    check_model("cppn", tmp_dir=tmp_path)
    check_loss("ragan")
    check_postprocessor("pixelsort", lo=0.1, hi=0.9)


def test_cppn_is_resolution_free():
    torch.manual_seed(0)
    small = build_model("cppn", {"width": 32, "height": 32})
    large = build_model("cppn", {"width": 128, "height": 128})
    large.load_state_dict(small.state_dict())
    z = small.latents_for_seeds([7])
    a, b = small.generate(z), large.generate(z)
    # the same pattern: the big render, averaged down, is close to the small one
    down = torch.nn.functional.avg_pool2d(b, 4)
    assert (down - a).abs().mean() < 0.1
    assert b.shape == (1, 3, 128, 128) and b.std() > 0.05  # not a flat colour


def test_a_saved_cppn_samples_the_same_pixels(tmp_path):
    out_spec, out_ckpt = tmp_path / "spec", tmp_path / "ckpt"
    spec = "cppn:width=40,height=24,net_seed=3"
    assert run_cli(["sample", spec, "--seeds", "3,4", "-o", str(out_spec)]).exit_code == 0
    torch.manual_seed(123)  # the weights come from net_seed alone, not torch's global RNG
    model = build_model("cppn", {"width": 40, "height": 24, "net_seed": 3})
    save_model(model, tmp_path / "c.safetensors")
    result = run_cli(
        ["sample", str(tmp_path / "c.safetensors"), "--seeds", "3,4", "-o", str(out_ckpt)]
    )
    assert result.exit_code == 0, result.output
    for name in ("000003.png", "000004.png"):
        a = np.asarray(Image.open(out_spec / name))
        assert a.shape == (24, 40, 3)
        assert (a == np.asarray(Image.open(out_ckpt / name))).all()
    assert load_model(tmp_path / "c.safetensors").config.width == 40


def test_net_seed_picks_the_network_and_colour_the_palette():
    from artkit_plugin_cppn.torch_cppn import hsv_to_rgb

    def render(**options):
        model = build_model("cppn", {"width": 32, "height": 32, **options})
        return model.generate(model.latents_for_seeds([1, 2]))

    rgb = render()
    assert not torch.equal(rgb, render(net_seed=1))  # another network, another family
    assert torch.equal(rgb, render(net_seed=0))
    hsv = render(colour="hsv")
    assert hsv.shape == rgb.shape and not torch.equal(hsv, rgb)
    assert hsv.min() >= -1 and hsv.max() <= 1
    assert render(colour="grey").shape == (2, 1, 32, 32)
    triples = torch.rand(200, 3, generator=torch.Generator().manual_seed(0))
    expected = torch.tensor([colorsys.hsv_to_rgb(*t.tolist()) for t in triples])
    assert torch.allclose(hsv_to_rgb(triples), expected, atol=1e-5)


def test_grey_cppn_samples_are_grey_pngs(tmp_path):
    result = run_cli(
        ["sample", "cppn:width=20,height=12,colour=grey", "-n", "2", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for path in result.stdout.split():
        with Image.open(path) as im:
            assert im.mode == "L" and im.size == (20, 12)


def test_cppn_options_are_validated():
    for spec, message in [
        ("cppn:colour=cmyk", "colour='cmyk' is not one of: rgb, hsv, grey"),
        ("cppn:width=0", "cppn: width=0 must be an integer from 1 to 16384"),
        ("cppn:net_seed=-1", "cppn: net_seed=-1 must be an integer >= 0"),
    ]:
        result = run_cli(["sample", spec, "-n", "1", "-o", "never-written"])
        assert result.exit_code == 2, (spec, result.output)
        assert message in result.stderr, result.stderr


def test_pixelsort_sorts_runs_inside_the_band_only():
    from artkit_plugin_cppn.pixelsort import pixelsort

    row = np.array([[10, 200, 120, 90, 250, 160, 140, 5]], np.uint8)
    image = Image.fromarray(row, "L")
    out = np.asarray(pixelsort(image, lo=0.3, hi=0.9))[0]
    # 10 and 250 and 5 are outside [0.3, 0.9] * 255 and stay; the two runs are sorted
    assert out.tolist() == [10, 90, 120, 200, 250, 140, 160, 5]
    rgba = tiny_images(1, 20, mode="RGBA")[0]
    sorted_rgba = pixelsort(rgba, lo=0.0, hi=1.0, direction="vertical", reverse=True)
    assert sorted_rgba.mode == "RGBA" and sorted_rgba.size == rgba.size
    pixels = sorted(np.asarray(rgba).reshape(-1, 4).tolist())
    assert pixels == sorted(np.asarray(sorted_rgba).reshape(-1, 4).tolist())  # moved, not changed


def test_pixelsort_chains_with_an_inline_step(artkit_plugin, tmp_path):
    """``artkit_plugin`` (a pytest fixture every artkit install provides) registers a plugin for one test."""
    from artkit import hookimpl

    class Stamp:
        @hookimpl
        def register_postprocessors(self, register):
            def stamp(image):
                out = image.copy()
                out.paste((255, 0, 0), (0, 0, 4, 4))
                return out

            register("stamp", stamp, keeps_size=True)

    artkit_plugin(Stamp())
    source = tmp_path / "in.png"
    tiny_images(1, 16)[0].save(source)
    result = run_cli(["post", "pixelsort", "stamp", "-i", str(source), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    with Image.open(result.stdout.strip()) as out:
        assert out.convert("RGB").getpixel((1, 1)) == (255, 0, 0)
        assert "pixelsort" in out.text["artkit"] and "stamp" in out.text["artkit"]  # provenance


def test_pixelsort_options_are_validated():
    result = run_cli(["post", "pixelsort:lo=0.9,hi=0.2", "-i", "x.png"])
    assert result.exit_code == 2 and "pixelsort: lo=0.9 must be at most hi=0.2" in result.stderr


def test_dcgan_trains_with_the_relativistic_loss(tmp_path):
    run = tmp_path / "run"
    result = run_cli(
        ["--device", "cpu", "--precision", "fp32", "-q", "train", "dcgan:resolution=32,width=0.125",
         "--data", "shapes:count=16", "--loss", "ragan", "--steps", "4", "-b", "8",
         "--sample-every", "0", "--log-every", "2", "-o", str(run)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows)
    assert json.loads((run / "config.json").read_text())["options"]["loss"] == "ragan"


def test_cppn_zoom_command_flies_into_the_pattern(tmp_path):
    out = tmp_path / "zoom.png"  # APNG: lossless frames
    result = run_cli(
        ["cppn-zoom", "5", "--size", "64", "--frames", "5", "--zoom", "4", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    frames = []
    with Image.open(out) as apng:
        for k in range(apng.n_frames):
            apng.seek(k)
            frames.append(np.asarray(apng.convert("RGB"), np.float32) / 255)
    assert len(frames) == 5  # every frame different (identical ones would be merged)
    # the last frame magnifies the middle quarter of the first, 4 times: averaged back
    # down to 16x16 it matches the first frame's central 16x16 pixels
    first, last = frames[0], frames[-1]
    shrunk = last.reshape(16, 4, 16, 4, 3).mean((1, 3))
    assert np.abs(shrunk - first[24:40, 24:40]).mean() < 0.05
    assert np.abs(last - first).mean() > 0.05  # and it is not just the same picture
