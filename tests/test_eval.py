"""Evaluation metrics, extractors, ``artkit eval``, ``--eval-every`` and ``artkit plot``.

The formulas are checked against independent computations (scipy's ``sqrtm``) and
against their defining properties on controlled data; the commands run for real
on real (tiny) images and trainings.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from artkit.eval.features import FIDInception, RandomConv
from artkit.eval.metrics import (
    frechet_distance,
    frechet_distance_of,
    kernel_inception_distance,
    mean_cov,
    precision_recall,
)
from artkit.plugins import get_registry
from artkit.testing import run_cli
from tests.helpers import one_error_line


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def shapes(n: int, size: int = 32) -> torch.Tensor:
    source = (
        get_registry("datasets").get("shapes").create({"count": n}, resolution=size, channels=3)
    )
    array = torch.from_numpy(np.stack([source[i] for i in range(n)])).permute(0, 3, 1, 2)
    return array.float() / 127.5 - 1


# -- the formulas ------------------------------------------------------------------------


def test_frechet_matches_scipy_sqrtm_on_random_features():
    from scipy import linalg

    g = torch.Generator().manual_seed(0)
    a = torch.randn(300, 16, generator=g, dtype=torch.float64)
    b = (
        torch.randn(300, 16, generator=g, dtype=torch.float64)
        @ torch.randn(16, 16, generator=g, dtype=torch.float64)
        * 0.5
        + 0.3
    )
    mu1, c1 = mean_cov(a)
    mu2, c2 = mean_cov(b)
    covmean = linalg.sqrtm(c1.numpy() @ c2.numpy()).real
    expected = float(((mu1 - mu2) ** 2).sum() + np.trace(c1.numpy() + c2.numpy() - 2 * covmean))
    assert abs(frechet_distance(mu1, c1, mu2, c2) - expected) < 1e-3


def test_frechet_of_a_set_with_itself_is_zero_and_grows_with_shift():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(500, 8, generator=g)
    assert frechet_distance_of(a, a) < 1e-6
    assert frechet_distance_of(a, a + 0.5) == pytest.approx(8 * 0.25, rel=1e-3)


def test_fd_on_image_features_grows_for_blurred_and_shifted_copies():
    images = shapes(96)
    net = RandomConv()
    feats = net.embed(images)
    pil = [
        Image.fromarray(((im.permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()) for im in images
    ]

    def tensor(ims):
        arrays = np.stack([np.asarray(i) for i in ims])  # a writable copy
        return torch.from_numpy(arrays).permute(0, 3, 1, 2).float() / 127.5 - 1

    blur1 = net.embed(tensor([p.filter(ImageFilter.GaussianBlur(1)) for p in pil]))
    blur3 = net.embed(tensor([p.filter(ImageFilter.GaussianBlur(3)) for p in pil]))
    shifted = net.embed(torch.roll(images, shifts=(6, 6), dims=(2, 3)))
    same = frechet_distance_of(feats, feats)
    assert same < 1e-6
    assert frechet_distance_of(feats, blur3) > frechet_distance_of(feats, blur1) > 0.01
    assert frechet_distance_of(feats, shifted) > 0.01


def test_kid_is_unbiased_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(600, 32, generator=g), torch.randn(600, 32, generator=g)
    mean, std = kernel_inception_distance(x, y, subsets=50, subset_size=200)
    assert abs(mean) < 3 * std / np.sqrt(50) + 1e-3  # centred on 0, not biased upward
    other = torch.randn(600, 32, generator=g) * 1.3 + 0.2
    far, _ = kernel_inception_distance(x, other, subsets=50, subset_size=200)
    assert far > 20 * max(abs(mean), 1e-4)


def test_precision_recall_identical_sets_and_dropped_modes():
    g = torch.Generator().manual_seed(3)
    centres = torch.randn(4, 16, generator=g) * 10
    real = torch.cat([c + torch.randn(100, 16, generator=g) for c in centres])
    assert precision_recall(real, real) == (1.0, 1.0)
    two_modes = torch.cat([c + torch.randn(100, 16, generator=g) for c in centres[:2]])
    precision, recall = precision_recall(real, two_modes)
    assert precision > 0.75  # what it makes is realistic...
    assert 0.3 < recall < 0.6  # ...but half the modes are missing


# -- extractors ---------------------------------------------------------------------------


def test_fid_inception_architecture_loads_its_state_and_gives_2048_features():
    torch.manual_seed(0)
    net = FIDInception()
    state = {k: v.clone() for k, v in net.net.state_dict().items()}
    assert state["fc.weight"].shape == (1008, 2048)  # the TF graph's 1008 classes
    assert state["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    fresh = FIDInception()
    fresh.load_fid_state(state, "random")
    assert fresh.standard_fid
    fresh.eval()
    out = fresh.embed(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert out.shape == (2, 2048) and torch.isfinite(out).all()
    with pytest.raises(Exception, match="not the FID Inception weights"):
        FIDInception().load_fid_state({"fc.weight": torch.zeros(3)}, "bad.pth")


def test_random_conv_is_deterministic():
    x = torch.rand(3, 3, 40, 40) * 2 - 1
    assert torch.equal(RandomConv().embed(x), RandomConv().embed(x))
    assert not torch.equal(RandomConv(seed=1).embed(x), RandomConv().embed(x))


# -- artkit eval ---------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path):
    images = shapes(64)
    for name, batch in (("a", images[:32]), ("b", images[32:])):
        (tmp_path / name).mkdir()
        for i, im in enumerate(batch):
            arr = ((im.permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
            Image.fromarray(arr).save(tmp_path / name / f"{i:03d}.png")
    (tmp_path / "blur").mkdir()
    for p in sorted((tmp_path / "a").iterdir()):
        Image.open(p).filter(ImageFilter.GaussianBlur(2)).save(tmp_path / "blur" / p.name)
    return tmp_path


def test_eval_folders_json_names_its_features_and_never_says_fid(folders):
    def evaluate(samples: str, ref: str, *extra: str):
        args = ["--device", "cpu", "eval", str(folders / samples), "--ref", str(folders / ref)]
        return run_cli([*args, *extra])

    result = evaluate("a", "a", "--json")
    assert result.exit_code == 0, result.output
    same = json.loads(result.stdout)
    assert same["fd"] < 1e-6 and same["precision"] == same["recall"] == 1.0
    assert same["features"] == "random-conv" and same["standard_fid"] is False
    assert same["fd_label"] == "FD (random-conv)" and same["samples"] == 32
    assert "FID Inception weights" in result.stderr
    blurred = json.loads(evaluate("blur", "a", "--json").stdout)
    assert blurred["fd"] > 0.1 and blurred["kid"] > same["kid"]
    other = json.loads(evaluate("b", "a", "--json").stdout)
    assert other["fd"] > 0.1  # another sample of the same distribution: small but not 0
    text = evaluate("a", "b").stdout
    assert "FD (random-conv)" in text and "FID" not in text.replace("(not FID)", "")


def test_eval_against_a_dataset_spec_caches_the_reference(folders):
    args = [
        "--device",
        "cpu",
        "eval",
        str(folders / "a"),
        "--ref",
        "shapes:count=48",
        "--json",
        "--metrics",
        "fd,pr",
    ]
    first = json.loads(run_cli(args).stdout)
    second = json.loads(run_cli(args).stdout)
    assert first["reference"] == 48 and first["reference_cached"] is False
    assert second["reference_cached"] is True and second["fd"] == pytest.approx(first["fd"])
    assert set(first) >= {"fd", "precision", "recall"} and "kid" not in first


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "fid"], "--metrics 'fid': use some of fd, kid, pr"),
        (["--features", "nope"], "unknown extractor 'nope'"),
        (["-n", "1"], "-n must be at least 2"),
    ],
)
def test_eval_mistakes_are_one_line_errors(folders, args, message):
    result = run_cli(["eval", str(folders / "a"), "--ref", str(folders / "b"), *args])
    assert result.exit_code == 2
    assert message in one_error_line(result.stderr)


# -- training and plotting -----------------------------------------------------------------


def test_eval_every_logs_the_metric_and_keeps_the_best_weights(tmp_path):
    from artkit.checkpoint import load_model, read_header

    run = tmp_path / "run"
    result = run_cli(
        ["--device", "cpu", "--precision", "fp32", "-q", "train", "dcgan:resolution=32,width=0.125",
         "--data", "shapes:count=48", "--steps", "6", "-b", "8", "--eval-every", "3",
         "--eval-n", "24", "--sample-every", "0", "--log-every", "3", "-o", str(run)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval_fd" in r]
    assert [r["step"] for r in evals] == [3, 6]
    assert all(r["eval_features"] == "random-conv" and np.isfinite(r["eval_fd"]) for r in evals)
    best = min(evals, key=lambda r: r["eval_fd"])
    header = read_header(run / "best.safetensors")
    assert header.step == best["step"]
    assert header.metadata["artkit.eval_metric"] == "fd"
    assert float(header.metadata["artkit.eval_value"]) == pytest.approx(best["eval_fd"])
    load_model(run / "best.safetensors")


def test_eval_every_needs_a_model_that_samples(tmp_path):
    Image.new("RGB", (16, 16), "red").save(tmp_path / "style.png")
    result = run_cli(
        ["--device", "cpu", "train", f"fast-style:width=4,residual_blocks=1,resolution=32,style={tmp_path / 'style.png'}",
         "--data", "shapes:count=8", "-b", "4", "--steps", "2", "--eval-every", "1", "-o", str(tmp_path / "r")]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "cannot sample" in one_error_line(result.stderr)


def test_plot_draws_curves_of_several_runs(tmp_path):
    pytest.importorskip("matplotlib")
    for name, scale in (("run-a", 1.0), ("run-b", 2.0)):
        (tmp_path / name).mkdir()
        lines = [
            json.dumps({"step": s, "d_loss": scale / s, "g_loss": s * 0.1, "eval_fd": 100 / s})
            for s in range(1, 30)
        ]
        (tmp_path / name / "metrics.jsonl").write_text("\n".join(lines) + "\n{broken")
    result = run_cli(
        ["plot", str(tmp_path / "run-a"), str(tmp_path / "run-b"), "-o", str(tmp_path / "c.png")]
    )
    assert result.exit_code == 0, result.output
    assert "3 panels, 2 runs" in result.stderr
    with Image.open(tmp_path / "c.png") as im:
        assert im.width > 800 and im.height > 200
        assert len(set(im.convert("RGB").resize((64, 16)).tobytes())) > 5  # not blank


def test_plot_without_matplotlib_names_the_extra(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.jsonl").write_text('{"step": 1, "d_loss": 1.0}\n')
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from artkit.cli import main\n"
        f"main(['plot', {str(tmp_path / 'r')!r}, '-o', {str(tmp_path / 'c.png')!r}])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert (
        one_error_line(proc.stderr)
        == "artkit: error: artkit plot needs matplotlib: pip install 'artkit[plot]'"
    )
