"""Evaluation extractors and ``artkit eval``: the FID Inception and its weights, the
weight-free features, features from a trained checkpoint, the CLI on folders, record
streams and dataset specs, and the reference-statistics cache.

The real FID weights cannot be downloaded here, so the Inception is checked
structurally with random weights (every tensor name and shape loads strictly, the
forward pass gives 2048 features) and the FID label is shown to depend on the file's
SHA-256 alone.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

import artkit
from artkit.errors import MetricRefused
from artkit.eval import weight_paths
from artkit.eval.features import RandomConv, get_features
from artkit.eval.inception import FIDInception, build_inception, download_fid_weights
from artkit.plugins import get_registry
from artkit.testing import run_cli
from tests.helpers import one_error_line


@pytest.fixture(autouse=True)
def offline_and_one_thread(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("ARTKIT_OFFLINE", "1")  # no download attempts from tests
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def save_shapes(folder, n, seed=0, size=32, blur=0.0, **options):
    source = (
        get_registry("datasets")
        .get("shapes")
        .create({"count": n, "seed": seed, **options}, resolution=size, channels=3)
    )
    folder.mkdir(parents=True)
    for i in range(n):
        im = Image.fromarray(source[i])
        if blur:
            im = im.filter(ImageFilter.GaussianBlur(blur))
        im.save(folder / f"{i:03d}.png")
    return folder


@pytest.fixture
def folders(tmp_path):
    save_shapes(tmp_path / "a", 32, seed=0)
    save_shapes(tmp_path / "b", 32, seed=1)
    save_shapes(tmp_path / "blur", 32, seed=0, blur=2)
    save_shapes(tmp_path / "dark", 32, seed=2, background="dark")
    return tmp_path


def evaluate(*args: str, input: str | None = None):
    result = run_cli(["--device", "cpu", "eval", *args], input=input)
    return result


# -- the FID Inception --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_fid_state():
    torch.manual_seed(0)
    net = FIDInception()
    for m in net.modules():  # random, but with activations that neither vanish nor explode
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight)
    state = {k: v.clone() for k, v in net.net.state_dict().items()}
    return {
        k: v for k, v in state.items() if not k.endswith("num_batches_tracked")
    }  # as in the file


def test_fid_inception_architecture_loads_its_state_and_gives_2048_features(random_fid_state):
    state = random_fid_state
    assert state["fc.weight"].shape == (1008, 2048)  # the TF graph's 1008 classes
    assert state["Mixed_7c.branch_pool.conv.weight"].shape == (192, 2048, 1, 1)
    assert state["Conv2d_1a_3x3.bn.running_var"].shape == (32,)
    assert not any(k.startswith("AuxLogits") for k in state)  # built with aux_logits=False
    net = FIDInception()
    net.load_fid_state(state, "random", standard=False)
    out = net.embed(torch.rand(2, 3, 48, 48) * 2 - 1)  # resized to 299 inside, as pytorch-fid does
    assert out.shape == (2, 2048) and torch.isfinite(out).all() and (out >= 0).all()
    assert net.label == "FD (inception-unverified)"
    with pytest.raises(Exception, match="not the FID Inception weights"):
        FIDInception().load_fid_state({"fc.weight": torch.zeros(3)}, "bad.pth", standard=True)
    smaller = {k: v for k, v in state.items() if not k.startswith("Mixed_7c")}
    with pytest.raises(Exception, match="missing"):
        FIDInception().load_fid_state(smaller, "cut.pth", standard=True)


def test_fid_blocks_pool_as_tensorflow_did(random_fid_state):
    """The FID variants differ from torchvision's blocks exactly in their pooling."""
    from torchvision.models import inception as tv

    net = FIDInception()
    net.load_fid_state(random_fid_state, "random", standard=False)
    x = torch.rand(1, 1280, 8, 8)
    block_b, block_c = net.net.Mixed_7b, net.net.Mixed_7c
    plain = tv.InceptionE(1280)
    plain.load_state_dict(block_b.state_dict())
    plain.eval()
    with torch.no_grad():
        # avg pool without padded zeros: the border of the pooled branch differs, the centre not
        ours, theirs = block_b(x), plain(x)
        pooled = slice(2048 - 192, 2048)
        assert torch.allclose(ours[:, : pooled.start], theirs[:, : pooled.start])
        assert not torch.allclose(ours[:, pooled], theirs[:, pooled])
        assert torch.allclose(ours[:, pooled, 2:-2, 2:-2], theirs[:, pooled, 2:-2, 2:-2], atol=1e-5)
        y = torch.rand(1, 2048, 8, 8)
        manual = block_c.branch_pool(torch.nn.functional.max_pool2d(y, 3, stride=1, padding=1))
        assert torch.allclose(block_c(y)[:, pooled], manual)  # the last block pools with max


def test_fid_label_only_for_the_published_file(tmp_path, monkeypatch, random_fid_state, own_assets):
    from artkit.checkpoint import sha256_file
    from artkit.eval import inception

    hub = weight_paths.torch_hub_checkpoints()
    hub.mkdir(parents=True)
    pth = hub / weight_paths.FID_WEIGHTS
    torch.save(random_fid_state, pth)
    notices: list[str] = []
    unverified = build_inception(notice=notices.append)
    assert not unverified.standard_fid and unverified.label == "FD (inception-unverified)"
    assert any("not the published FID file" in m for m in notices)
    # the hub file was converted once into artkit's cache, as safetensors
    cached = weight_paths.cached_fid_path()
    assert cached.is_file()
    # with the published hash equal to this file's, the very same weights are the FID ones
    monkeypatch.setattr(weight_paths, "FID_SHA256", sha256_file(pth))
    cached.unlink()
    standard = build_inception(notice=notices.append)
    assert standard.standard_fid and standard.label == "FID" and standard.name == "inception"
    assert build_inception().standard_fid  # now from artkit's cache
    # a cache file changed after conversion is no longer trusted as standard
    from artkit.checkpoint import load_tensors, save_tensors

    tensors, meta = load_tensors(cached)
    tensors["fc.bias"] = tensors["fc.bias"] + 1
    save_tensors(cached, tensors, meta)
    assert not build_inception().standard_fid
    assert inception.FIDInception is FIDInception


def test_weights_file_pickles_with_code_are_refused(tmp_path, random_fid_state):
    evil = tmp_path / "evil.pth"
    torch.save({"state": random_fid_state, "args": argparse.Namespace(lr=1)}, evil)
    result = run_cli(["weights", "import", "inception", str(evil)])
    assert result.exit_code == 1 and "refused" in one_error_line(result.stderr)
    assert not weight_paths.cached_fid_path().exists()


def test_weights_import_and_list_show_the_inception(tmp_path, random_fid_state):
    pth = tmp_path / "pt_inception.pth"
    torch.save(random_fid_state, pth)
    result = run_cli(["weights", "import", "inception", str(pth)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(weight_paths.cached_fid_path())
    assert "NOT the published FID file" in result.stderr
    rows = [json.loads(line) for line in run_cli(["weights", "list", "--json"]).stdout.splitlines()]
    assert {"name": "inception", "source": "cache", "present": True}.items() <= next(
        r for r in rows if r["name"] == "inception" and r["source"] == "cache"
    ).items()


def test_download_goes_to_the_hub_cache_and_checks_the_hash(
    tmp_path, monkeypatch, random_fid_state, own_assets
):
    from artkit.checkpoint import sha256_file

    served = tmp_path / "served" / weight_paths.FID_WEIGHTS
    served.parent.mkdir()
    torch.save(random_fid_state, served)
    url = served.as_uri()
    notices: list[str] = []
    assert download_fid_weights(notices.append, url) is None  # ARTKIT_OFFLINE: never tried
    monkeypatch.delenv("ARTKIT_OFFLINE")
    assert download_fid_weights(notices.append, url) is None  # hash prefix differs: refused
    assert "download failed" in notices[-1]
    # the whole hash is checked: one that agrees on its first 8 digits only is refused
    digest = sha256_file(served)
    monkeypatch.setattr(weight_paths, "FID_SHA256", digest[:8] + "0" * 56)
    assert download_fid_weights(notices.append, url) is None
    assert "download failed" in notices[-1]
    monkeypatch.setattr(weight_paths, "FID_SHA256", digest)
    got = download_fid_weights(notices.append, url)
    assert got == weight_paths.torch_hub_checkpoints() / weight_paths.FID_WEIGHTS
    assert sha256_file(got) == sha256_file(served)


def test_eval_says_fid_with_the_standard_weights(folders, monkeypatch, random_fid_state):
    from artkit.checkpoint import sha256_file

    pth = folders / "fid.pth"
    torch.save(random_fid_state, pth)
    args = [str(folders / "a"), "--ref", str(folders / "b"), "-n", "3", "--metrics", "fd"]
    plain = evaluate(*args, "--weights", str(pth))
    assert plain.exit_code == 0, plain.stderr
    assert "FD (inception-unverified)" in plain.stdout and "FID" not in plain.stdout
    assert json.loads(evaluate(*args, "--weights", str(pth), "--json").stdout)["fd"] > 0
    monkeypatch.setattr(weight_paths, "FID_SHA256", sha256_file(pth))
    fid = json.loads(evaluate(*args, "--weights", str(pth), "--json").stdout)
    assert fid["fd_label"] == "FID" and fid["standard_fid"] is True and fid["fd"] > 0


# -- weight-free and checkpoint features --------------------------------------------------------


def test_random_conv_is_deterministic_and_leaves_the_global_rng_alone():
    x = torch.rand(3, 3, 40, 40) * 2 - 1
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    a = RandomConv().embed(x)
    assert torch.equal(torch.rand(1), expected)  # building it drew nothing from torch's RNG
    assert torch.equal(a, RandomConv().embed(x))
    assert not torch.equal(RandomConv(seed=1).embed(x), a)
    assert RandomConv(seed=1).name == "random-conv:seed=1"


def test_vgg16_without_weights_falls_back_and_says_so():
    notices: list[str] = []
    extractor = get_features("vgg16", notice=notices.append)
    assert extractor.name == "random-multiscale" and not extractor.standard_fid
    assert len(notices) == 1 and "VGG16" in notices[0]
    assert extractor.embed(torch.rand(2, 3, 32, 32) * 2 - 1).shape[0] == 2


def test_checkpoint_features_of_a_trained_vae_and_gan(tmp_path, folders):
    for model, run in (
        ("vae:resolution=32,z_dim=8,width=0.25", "vae"),
        ("dcgan:resolution=32,width=0.125", "gan"),
    ):
        trained = run_cli(
            ["--device", "cpu", "-q", "train", model, "--data", "shapes:count=16", "--steps", "2",
             "-b", "8", "--sample-every", "0", "-o", str(tmp_path / run)]
        )  # fmt: skip
        assert trained.exit_code == 0, trained.stderr
    vae = get_features(f"checkpoint:path={tmp_path / 'vae'}")
    x = torch.rand(5, 3, 48, 48) * 2 - 1
    assert vae.how == "encode" and vae.embed(x).shape == (5, 8)  # the encoder's mean
    gan = get_features(f"checkpoint:path={tmp_path / 'gan' / 'weights.safetensors'}")
    assert gan.how == "discriminator" and gan.embed(x).shape[0] == 5
    result = evaluate(str(folders / "a"), "--ref", str(folders / "b"), "--features",
                      f"checkpoint:path={tmp_path / 'vae'}", "--json")  # fmt: skip
    report = json.loads(result.stdout)
    assert report["features"].startswith("checkpoint:vae@") and report["standard_fid"] is False
    missing = evaluate(
        str(folders / "a"), "--ref", str(folders / "b"), "--features", "checkpoint:path=nope"
    )
    assert missing.exit_code == 2 and "no such file" in one_error_line(missing.stderr)


# -- artkit eval --------------------------------------------------------------------------------


def test_eval_folders_json_names_its_features_and_never_says_fid(folders):
    same = evaluate(str(folders / "a"), "--ref", str(folders / "a"), "--json")
    assert same.exit_code == 0, same.stderr
    report = json.loads(same.stdout)
    assert report["fd"] < 1e-6 and report["precision"] == report["recall"] == 1.0
    assert report["features"] == "random-conv" and report["standard_fid"] is False
    assert report["fd_label"] == "FD (random-conv)" and report["samples"] == 32
    notice = [line for line in same.stderr.splitlines() if "FID Inception weights" in line]
    assert len(notice) == 1 and notice[0].startswith("artkit: notice:")
    other = json.loads(evaluate(str(folders / "b"), "--ref", str(folders / "a"), "--json").stdout)
    blurred = json.loads(
        evaluate(str(folders / "blur"), "--ref", str(folders / "a"), "--json").stdout
    )
    dark = json.loads(evaluate(str(folders / "dark"), "--ref", str(folders / "a"), "--json").stdout)
    # the same images blurred: > 0; another sample of the same distribution: > 0 (sampling
    # noise, large at n=32), and a dropped mode (dark backgrounds only) well above that
    assert blurred["fd"] > 0.1 and other["fd"] > 0.1 and dark["fd"] > 2 * other["fd"]
    assert dark["kid"] > other["kid"] and dark["recall"] < other["recall"]
    text = evaluate(str(folders / "a"), "--ref", str(folders / "b")).stdout
    assert "FD (random-conv)" in text and "KID" in text and "recall (k=3)" in text
    assert "FID" not in text


def test_eval_density_and_coverage_fall_for_a_dropped_mode(folders):
    args = ["--ref", str(folders / "a"), "--json", "--metrics", "dc"]
    other = json.loads(evaluate(str(folders / "b"), *args).stdout)
    dark = json.loads(evaluate(str(folders / "dark"), *args).stdout)
    assert set(other) >= {"density", "coverage", "k"} and "fd" not in other
    assert dark["coverage"] < other["coverage"]  # half the real variety is never made
    text = evaluate(str(folders / "b"), "--ref", str(folders / "a"), "--metrics", "pr,dc").stdout
    assert "coverage (k=3)" in text and "recall (k=3)" in text


def test_eval_fdinf_takes_the_small_sample_bias_out_of_fd(tmp_path, folders):
    """400 shapes against 400 others of the same kind: much of their FD is bias, which
    the extrapolation removes; blurred shapes stay far. 32 images are too few to fit."""
    save_shapes(tmp_path / "a400", 400, seed=0)
    save_shapes(tmp_path / "b400", 400, seed=1)
    save_shapes(tmp_path / "blur400", 400, seed=1, blur=1)
    args = ["--ref", str(tmp_path / "a400"), "--metrics", "fd,fdinf"]
    same = json.loads(evaluate(str(tmp_path / "b400"), *args, "--json").stdout)
    blurred = json.loads(evaluate(str(tmp_path / "blur400"), *args, "--json").stdout)
    assert same["fd_bias"] > 0.5 * same["fd"] and same["fd_inf"] < 0.5 * same["fd"]
    assert blurred["fd_inf"] > 2 * max(same["fd_inf"], 0.1)
    text = evaluate(str(tmp_path / "b400"), *args).stdout
    assert "FD (random-conv) extrapolated" in text and "bias at these counts" in text
    few = evaluate(str(folders / "a"), "--ref", str(folders / "b"), "--metrics", "fdinf")
    assert few.exit_code == 2
    assert "fdinf needs at least 397 images in each set" in one_error_line(few.stderr)
    # refused from the counts, before any features: the reference was never extracted
    spec = [str(folders / "a"), "--ref", "shapes:count=40", "--json", "--metrics"]
    assert evaluate(*spec, "fd,fdinf").exit_code == 2
    assert json.loads(evaluate(*spec, "fd").stdout)["reference_cached"] is False
    # a typed refusal, so a caller can ask again without fdinf (benchmarks/quality.py does)
    with pytest.raises(MetricRefused, match="fdinf needs"):
        artkit.evaluate(folders / "a", folders / "b", metrics="fd,fdinf", features="random-conv")


def test_eval_against_a_dataset_spec_caches_the_reference(folders):
    args = [str(folders / "a"), "--ref", "shapes:count=48", "--json", "--metrics", "fd,pr"]
    first = json.loads(evaluate(*args).stdout)
    second = json.loads(evaluate(*args).stdout)
    assert first["reference"] == 48 and first["reference_cached"] is False
    assert second["reference_cached"] is True and second["fd"] == pytest.approx(first["fd"])
    assert set(first) >= {"fd", "precision", "recall"} and "kid" not in first
    # another count, other features or --no-cache: computed again
    assert json.loads(evaluate(*args, "-n", "40").stdout)["reference_cached"] is False
    assert (
        json.loads(evaluate(*args, "--features", "random-conv:seed=1").stdout)["reference_cached"]
        is False
    )
    assert json.loads(evaluate(*args, "--no-cache").stdout)["reference_cached"] is False
    # the same spec built from the same images is the dataset of the samples: tiny distance
    own = json.loads(evaluate(str(folders / "a"), "--ref", "shapes:count=32", "--json").stdout)
    assert own["fd"] < 1e-3 and own["recall"] == 1.0


def test_eval_reads_records_from_stdin_and_a_records_file(folders):
    paths = sorted(str(p) for p in (folders / "b").iterdir())
    stdin = "\n".join(json.dumps({"path": p, "seed": i}) for i, p in enumerate(paths)) + "\n"
    piped = json.loads(evaluate("--ref", str(folders / "a"), "--json", input=stdin).stdout)
    direct = json.loads(evaluate(str(folders / "b"), "--ref", str(folders / "a"), "--json").stdout)
    assert piped["fd"] == pytest.approx(direct["fd"]) and piped["samples"] == 32
    listing = folders / "ref.txt"
    listing.write_text("\n".join(sorted(str(p) for p in (folders / "a").iterdir())) + "\n")
    from_file = json.loads(evaluate(str(folders / "b"), "--ref", str(listing), "--json").stdout)
    assert from_file["fd"] == pytest.approx(direct["fd"])
    ref_stdin = "\n".join(sorted(str(p) for p in (folders / "a").iterdir())) + "\n"
    from_stdin = evaluate(str(folders / "b"), "--ref", "-", "--json", input=ref_stdin)
    assert json.loads(from_stdin.stdout)["fd"] == pytest.approx(direct["fd"])


def test_python_evaluate_is_what_the_cli_prints_and_takes_images_in_memory(folders):
    import artkit
    from artkit.errors import UsageError

    cli = json.loads(evaluate(str(folders / "b"), "--ref", str(folders / "a"), "--json").stdout)
    report = artkit.evaluate(folders / "b", folders / "a", device="cpu")
    # every key and value: the CLI only prints it (and the reference's statistics
    # computed for the CLI's run are the ones the second run reads from the cache)
    assert report == {**cli, "reference_cached": True} and cli["reference_cached"] is False
    # PIL images (what Model.sample gives) score as the files they were read from
    images = [Image.open(p) for p in sorted((folders / "b").iterdir())]
    in_memory = artkit.evaluate(images, str(folders / "a"), metrics=["fd", "pr"], device="cpu")
    assert in_memory["fd"] == pytest.approx(cli["fd"]) and in_memory["samples"] == 32
    assert in_memory["recall"] == cli["recall"] and "kid" not in in_memory
    capped = artkit.evaluate(images, "shapes:count=48", n=20, metrics="fd", device="cpu")
    assert capped["samples"] == capped["reference"] == 20
    told = []
    artkit.evaluate(images[:4], folders / "a", metrics="fd", device="cpu", notice=told.append)
    assert len(told) == 1 and "FID Inception weights" in told[0]  # auto fell back, and said so
    for bad, message in [
        ((images[:1], folders / "a"), "need at least 2 sample images, got 1"),
        (([*images[:2], str(folders / "a" / "000.png")], folders / "a"), "not both"),
        ((images, "no-such-thing"), "neither a folder nor a dataset"),
    ]:
        with pytest.raises(UsageError, match=message):
            artkit.evaluate(*bad, device="cpu")
    with pytest.raises(UsageError, match="needs --held-out"):
        artkit.evaluate(images, folders / "a", metrics="fd,copy")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics", "fid"], "--metrics 'fid': use some of fd, fdinf, kid, pr, dc, copy"),
        (["--features", "nope"], "unknown extractor 'nope'"),
        (["-n", "1"], "-n must be at least 2"),
        (["--features", "inception"], "no FID Inception weights"),
        (["--weights", "missing.pth"], "--weights missing.pth: no such file"),
    ],
)
def test_eval_mistakes_are_one_line_errors(folders, args, message):
    result = evaluate(str(folders / "a"), "--ref", str(folders / "b"), *args)
    assert result.exit_code in (1, 2)
    assert message in one_error_line(result.stderr)


def test_eval_reference_mistakes_are_one_line_errors(folders):
    one = evaluate(str(folders / "a"), "--ref", str(folders / "b" / "000.png"))
    assert one.exit_code == 2 and "one image is not a reference" in one_error_line(one.stderr)
    unknown = evaluate(str(folders / "a"), "--ref", "no-such-thing")
    assert unknown.exit_code == 2 and "neither a folder nor a dataset" in one_error_line(
        unknown.stderr
    )
    missing_ref = evaluate(str(folders / "a"))
    assert missing_ref.exit_code == 2 and "--ref" in one_error_line(missing_ref.stderr)
    both_stdin = evaluate("--ref", "-", input="x.png\n")
    assert both_stdin.exit_code == 2 and "stdin cannot carry both" in one_error_line(
        both_stdin.stderr
    )


def test_fd_grows_with_the_blur_radius_through_the_cli(tmp_path):
    for radius in (1, 3):
        save_shapes(tmp_path / f"blur{radius}", 24, blur=radius)
    save_shapes(tmp_path / "sharp", 24)
    fds = [
        json.loads(
            evaluate(
                str(tmp_path / f"blur{r}"),
                "--ref",
                str(tmp_path / "sharp"),
                "--json",
                "--metrics",
                "fd",
            ).stdout
        )["fd"]
        for r in (1, 3)
    ]
    assert 0 < fds[0] < fds[1]
    assert np.isfinite(fds).all()


def test_eval_copying_sees_copies_that_fd_calls_far_and_passes_new_images(tmp_path):
    save_shapes(tmp_path / "train", 96, seed=0)
    save_shapes(tmp_path / "held", 96, seed=1)
    save_shapes(tmp_path / "new", 96, seed=2)
    (tmp_path / "noisy").mkdir()  # the training images under heavy noise
    rng = np.random.default_rng(0)
    for path in sorted((tmp_path / "train").iterdir()):
        pixels = np.asarray(Image.open(path)).astype(float) + rng.normal(0, 60, (32, 32, 3))
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(tmp_path / "noisy" / path.name)
    args = ["--ref", str(tmp_path / "train"), "--held-out", str(tmp_path / "held"), "--json"]

    def report(samples):
        result = evaluate(str(tmp_path / samples), *args, "--metrics", "fd")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    copies, new, noisy = report("train"), report("new"), report("noisy")
    assert copies["held_out"] == 96 and "fd" in copies  # --held-out adds copy to the metrics
    assert copies["copying_z"] < -3 and copies["copy_share"] == 1.0
    assert abs(new["copying_z"]) < 3 and new["copy_share"] < 0.1
    assert 0.8 < new["nearest_ratio"] < 1.25
    # FD calls the noisy copies far from the data (farther than the new images), yet they copy
    assert noisy["fd"] > new["fd"]
    assert noisy["copying_z"] < -3 and noisy["copy_share"] > 0.3 and noisy["nearest_ratio"] < 0.8
    text = evaluate(str(tmp_path / "train"), *args[:-1], "--metrics", "copy").stdout
    assert "copying z (C_T)" in text and "(copies:" in text


def test_eval_copying_mistakes_are_one_line_errors(folders):
    a, b = str(folders / "a"), str(folders / "b")
    no_held = evaluate(a, "--ref", b, "--metrics", "copy")
    assert no_held.exit_code == 2 and "needs --held-out" in one_error_line(no_held.stderr)
    same = evaluate(a, "--ref", b, "--held-out", b)
    assert same.exit_code == 2 and "also in the training set" in one_error_line(same.stderr)
    few = evaluate(a, "--ref", "shapes:count=10", "--held-out", str(folders / "dark"))
    assert few.exit_code == 2 and "at least 20 images" in one_error_line(few.stderr)
    part = evaluate(a, "--ref", b, "--held-out", str(folders / "dark"), "-n", "24")
    assert part.exit_code == 2 and "-n 24 keeps 24 of its 32 images" in one_error_line(part.stderr)
    missing = evaluate(a, "--ref", b, "--held-out", "no-such-thing")
    assert missing.exit_code == 2 and "--held-out no-such-thing" in one_error_line(missing.stderr)
