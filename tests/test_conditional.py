"""Class-conditioned GANs (``fastgan:classes=K``, ``shapegan:classes=K``).

The latent is the noise followed by a one-hot class, drawn from the seed; the
trainer feeds each batch's labels to the step; D is a projection discriminator.
These tests pin the latent convention, the errors for data without labels, and
that a short real run learns what each class looks like.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import artkit
from artkit.checkpoint import CLASS_NAMES_KEY, build_model, load_model, load_tensors, save_tensors
from artkit.errors import CheckpointError, UsageError
from artkit.images import read_provenance
from artkit.testing import run_cli
from artkit_data.idx import write_idx
from artkit_data.shapes import ShapesDataset
from artkit_gan.configs import FastGANConfig, ShapeGANConfig
from tests.helpers import metrics, one_error_line, read_image, train_tiny_dcgan
from tests.test_classifier_features import idx_labels

pytestmark = pytest.mark.usefixtures("one_thread")


def test_latents_end_in_the_one_hot_class_their_seed_draws():
    net = build_model("fastgan", {"width": 0.125, "z_dim": 16, "classes": 5})
    assert net.z_dim == 21 and net.num_classes == 5
    z = net.latents_for_seeds(list(range(40)))
    noise, tail = z[:, :16], z[:, 16:]
    assert torch.equal(tail.sum(1), torch.ones(40)) and set(tail.unique().tolist()) == {0.0, 1.0}
    assert len(set(tail.argmax(1).tolist())) == 5  # 40 seeds reach every class
    assert torch.equal(net.latents_for_seeds([7]), z[7:8])  # a seed is the same alone
    half = net.latents_for_seeds(list(range(40)), truncation=0.5)
    assert torch.allclose(half[:, :16], noise * 0.5) and torch.equal(half[:, 16:], tail)
    moved = net.with_class(z[:3], 4)
    assert torch.equal(moved[:, :16], noise[:3]) and moved[:, 16:].argmax(1).tolist() == [4] * 3
    each = net.with_class(z[:3], torch.tensor([0, 2, 1]))
    assert each[:, 16:].argmax(1).tolist() == [0, 2, 1]
    plain = build_model("fastgan", {"width": 0.125, "z_dim": 16})
    assert plain.z_dim == 16 and plain.num_classes == 0


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (5, "class 5 is outside 0-4"),
        (-1, "class -1 is outside"),
        ("A", "not a class: give a number from 0 to 4"),
        (2.0, "must be a class number"),
    ],
)
def test_a_label_outside_the_classes_is_a_one_line_error(label, message):
    net = build_model("fastgan", {"width": 0.125, "z_dim": 16, "classes": 5})
    with pytest.raises(UsageError, match=message) as info:
        net.generate(net.latents_for_seeds([0]), label=label)
    assert "\n" not in str(info.value)
    plain = build_model("fastgan", {"width": 0.125, "z_dim": 16})
    with pytest.raises(UsageError, match="not conditioned on classes"):
        plain.generate(plain.latents_for_seeds([0]), label=0)


@pytest.mark.parametrize("model", ["fastgan", "shapegan"])
def test_the_projection_discriminator_judges_each_image_as_its_class(model):
    torch.manual_seed(0)
    net = build_model(model, {"width": 0.125, "z_dim": 16, "classes": 3})
    images = net.G(net.latents(4))
    assert images.shape == (4, 3, 32, 32)
    a = net.D(images, labels=torch.tensor([0, 0, 0, 0]))
    b = net.D(images, labels=torch.tensor([1, 1, 1, 1]))
    assert a.shape == (4,) and not torch.allclose(a, b)
    logits, recon = net.D(images, reconstruct=2, labels=torch.tensor([0, 1, 2, 0]))
    assert logits.shape == (4,) and recon.shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="needs labels"):
        net.D(images)
    # the class embedding is spectral-normalised like every other layer of D
    assert any("embed.parametrizations" in k for k in net.D.state_dict())


@pytest.mark.parametrize("config", [FastGANConfig, ShapeGANConfig])
@pytest.mark.parametrize("bad", [-1, 4097, True, 2.5])
def test_config_refuses_bad_class_counts_in_one_line(config, bad):
    with pytest.raises(UsageError, match="classes") as info:
        config(classes=bad)
    assert "\n" not in str(info.value)


def _halves(tmp_path, *, labels: bool = True):
    """64 grey 32 px pictures: class 0 lights the left half, class 1 the right half."""
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 40, (64, 32, 32), dtype=np.uint8)
    classes = np.arange(64) % 2
    for picture, c in zip(pictures, classes, strict=True):
        picture[:, 16 * c : 16 * (c + 1)] += 200
    images = write_idx(tmp_path / "train-images-idx3-ubyte", pictures)
    if labels:
        idx_labels(tmp_path / "train-labels-idx1-ubyte", classes.tolist())
    return f"idx:path={images}"


def test_a_conditional_run_learns_what_each_class_looks_like(tmp_path):
    """After 150 steps ``label=0`` draws pictures lit on the left, ``label=1`` on the right,
    from the same seeds; without a label each seed's own class decides."""
    trained = artkit.train(
        "fastgan:resolution=32,channels=1,width=0.125,z_dim=16,classes=2",
        _halves(tmp_path),
        steps=150,
        batch_size=16,
        lr=1e-3,
        sample_every=0,
        out=tmp_path / "run",
        device="cpu",
        precision="fp32",
        seed=0,
    )
    assert trained.reason == "done"
    net = load_model(trained.weights).eval()
    z = net.latents_for_seeds(list(range(32)))

    def left_minus_right(images: torch.Tensor) -> torch.Tensor:
        return images[..., :16].mean((1, 2, 3)) - images[..., 16:].mean((1, 2, 3))

    left, right = (
        left_minus_right(net.generate(z, label=0)),
        left_minus_right(net.generate(z, label=1)),
    )
    assert (left > 0.5).all() and (right < -0.5).all(), (left, right)
    own = left_minus_right(net.generate(z)) > 0
    assert torch.equal(own, z[:, -2:].argmax(1) == 0)  # no label: the seed's class

    model = artkit.load(trained.path, device="cpu", precision="fp32")
    [a], [b] = model.sample([3], label=1), model.sample([3], label=1)
    assert a.tobytes() == b.tobytes()


def _spread_of_one_class(trained) -> float:
    """Mean L1 distance between the label-0 pictures of 16 seeds, over all pairs."""
    net = load_model(trained.weights).eval()
    flat = net.generate(net.latents_for_seeds(list(range(16))), label=0).flatten(1)
    return (torch.cdist(flat, flat, p=1) / flat.shape[1]).sum().item() / (16 * 15)


def test_mode_seeking_pairs_fakes_of_one_class_and_widens_each_class(tmp_path, monkeypatch):
    """``--mode-seeking``: fakes i and i + n/2 share a class, their spread is logged, and
    G paints one class more variously than the same run without the term."""
    from artkit_gan.torch_model import GAN

    seen: list[torch.Tensor] = []
    original = GAN.training_latents

    def recording(self, n, ctx, labels=None):
        z = original(self, n, ctx, labels)
        seen.append(z[:, -2:].argmax(1))
        return z

    monkeypatch.setattr(GAN, "training_latents", recording)
    data = _halves(tmp_path)
    runs = {}
    for weight in (0.0, 1.0):
        runs[weight] = artkit.train(
            "fastgan:resolution=32,channels=1,width=0.125,z_dim=16,classes=2",
            data,
            steps=80,
            batch_size=16,
            lr=1e-3,
            mode_seeking=weight,
            sample_every=0,
            out=tmp_path / f"run{weight:g}",
            device="cpu",
            precision="fp32",
            seed=0,
        )
        if weight:
            paired = seen[-1]
            assert torch.equal(paired[:8], paired[8:])
    rows = metrics(runs[1.0].path)
    assert all(r["pair_spread"] > 0 for r in rows if "g_loss" in r)
    plain = metrics(runs[0.0].path)
    assert not any("pair_spread" in r for r in plain)
    # measured: 0.56 against 0.036 (the pairing alone, the term zeroed: 0.055)
    assert _spread_of_one_class(runs[1.0]) > 3 * _spread_of_one_class(runs[0.0])


def test_classes_need_labelled_data_and_enough_of_them(tmp_path):
    common = {"steps": 1, "batch_size": 4, "sample_every": 0, "device": "cpu", "seed": 0}
    data = _halves(tmp_path, labels=False)
    with pytest.raises(UsageError, match="has no class labels") as info:
        artkit.train("fastgan:width=0.125,channels=1,classes=2", data, out=tmp_path / "a", **common)
    assert "\n" not in str(info.value)
    data = _halves(tmp_path)
    with pytest.raises(UsageError, match=r"labels go up to 1: give classes=2 or more"):
        artkit.train("fastgan:width=0.125,channels=1,classes=1", data, out=tmp_path / "b", **common)
    assert not (tmp_path / "b" / "weights.safetensors").exists()


@pytest.fixture(scope="module")
def named_run(tmp_path_factory, one_thread):
    """A shapegan conditioned on the kind of each ``shapes`` picture's biggest shape."""
    kinds = len(ShapesDataset.class_names)
    trained = artkit.train(
        f"shapegan:width=0.125,z_dim=16,hidden=32,classes={kinds}",
        "shapes:count=32",
        steps=2,
        batch_size=8,
        sample_every=0,
        out=tmp_path_factory.mktemp("named") / "run",
        device="cpu",
        seed=0,
    )
    return trained.path


def test_the_checkpoint_keeps_the_data_s_class_names(named_run):
    net = load_model(named_run / "weights.safetensors")
    assert net.class_names == ShapesDataset.class_names
    ring = ShapesDataset.class_names.index("ring")
    assert net.class_index("ring") == ring and net.class_index(str(ring)) == ring
    with pytest.raises(UsageError, match=r"'cloud' is not a class: give one of its names \(disc,"):
        net.class_index("cloud")


def test_sample_label_by_name_is_recorded_and_batched_like_one_by_one(named_run, tmp_path):
    result = run_cli(
        ["--device", "cpu", "sample", str(named_run), "--seeds", "0-2", "--label", "ring",
         "-b", "2", "-o", str(tmp_path / "rings")]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    files = sorted((tmp_path / "rings").glob("*.png"))
    assert [f.name for f in files] == ["000000.png", "000001.png", "000002.png"]
    assert read_provenance(files[0])["options"] == {"label": "ring"}
    model = artkit.load(named_run, device="cpu")
    alone = model.sample([2], label="ring")[0]
    assert read_image(files[2]).tobytes() == alone.tobytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label", "cloud"], "'cloud' is not a class"),
        (["--label", "99"], "class 99 is outside 0-7"),
    ],
)
def test_a_bad_label_is_one_line_and_writes_nothing(named_run, tmp_path, args, message):
    out = tmp_path / "out"
    result = run_cli(
        ["--device", "cpu", "sample", str(named_run), "-n", "2", *args, "-o", str(out)]
    )
    assert result.exit_code != 0 and message in one_error_line(result.stderr)
    assert not out.exists()


def test_label_on_a_model_without_classes_is_one_line(tmp_path):
    run = train_tiny_dcgan(tmp_path / "dcgan")
    result = run_cli(
        ["--device", "cpu", "sample", str(run), "--label", "A", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code != 0 and "draws no chosen class" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("names", "kept"),
    [(("left", "right"), ("left", "right")), (("left",), ("left", "1")), (("", "right"), ())],
)
def test_the_data_s_class_names_are_kept_where_a_checkpoint_can_hold_them(
    tmp_path, monkeypatch, names, kept
):
    """An empty name would be written and then refused on load: such a run keeps numbers."""
    from artkit_data.idx import IdxDataset

    monkeypatch.setattr(IdxDataset, "class_names", names, raising=False)
    trained = artkit.train(
        "fastgan:width=0.125,channels=1,z_dim=16,classes=2", _halves(tmp_path),
        steps=1, batch_size=4, sample_every=0, out=tmp_path / "run", device="cpu", seed=0,
    )  # fmt: skip
    net = load_model(trained.weights)
    assert net.class_names == kept and net.class_index("1") == 1


@pytest.mark.parametrize(
    "names",
    [
        '["disc"]',
        "not json",
        '["a", "a", "b", "c", "d", "e", "f", "g"]',
        "[1, 2, 3, 4, 5, 6, 7, 8]",
    ],
)
def test_a_checkpoint_with_bad_class_names_is_refused_in_one_line(named_run, tmp_path, names):
    tensors, meta = load_tensors(named_run / "weights.safetensors")
    bad = tmp_path / "bad.safetensors"
    save_tensors(bad, tensors, {**meta, CLASS_NAMES_KEY: names})
    with pytest.raises(CheckpointError, match="is not a list of 8 different names") as info:
        load_model(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("spec", "labels", "classes"),
    [
        ("fastgan:width=0.125,channels=1", [0, 1], 2),  # labelled data: conditioned
        ("fastgan:width=0.125,channels=1,classes=0", [0, 1], 0),  # the user wins
        ("fastgan:width=0.125,channels=1", [0, 2], 0),  # class 1 has no pictures: not
        ("dcgan:width=0.125,channels=1,resolution=32", [0, 1], 0),  # no classes field
    ],
)
def test_labelled_data_conditions_a_model_that_can_be(tmp_path, spec, labels, classes):
    pictures = np.random.default_rng(0).integers(0, 255, (8, 32, 32), dtype=np.uint8)
    images = write_idx(tmp_path / "train-images-idx3-ubyte", pictures)
    idx_labels(tmp_path / "train-labels-idx1-ubyte", [labels[i % 2] for i in range(8)])
    trained = artkit.train(
        spec, f"idx:path={images}", steps=1, batch_size=4, sample_every=0,
        out=tmp_path / "run", device="cpu", seed=0,
    )  # fmt: skip
    net = load_model(trained.weights)
    assert getattr(net.config, "classes", 0) == classes and net.num_classes == classes


def test_a_series_sweeps_labels_and_reproduce_replays_one(named_run, tmp_path):
    spec = tmp_path / "s.toml"
    weights = json.dumps(str(named_run / "weights.safetensors"))
    spec.write_text(
        f'series = "kinds"\nout = "renders"\ntemplate = "{{label}}.png"\n'
        f'[sweep]\ncheckpoint = [{weights}]\nseed = "3"\nlabel = ["ring", "disc"]\n'
    )
    result = run_cli(["--device", "cpu", "render", str(spec)])
    assert result.exit_code == 0, result.output
    ring = tmp_path / "renders" / "ring.png"
    api = artkit.load(named_run, device="cpu").sample([3], label="ring")[0]
    assert read_image(ring).tobytes() == api.tobytes()
    assert read_image(tmp_path / "renders" / "disc.png").tobytes() != api.tobytes()
    same = run_cli(["--device", "cpu", "reproduce", str(ring)])
    assert same.exit_code == 0 and same.stdout.strip().endswith(": identical"), same.output
