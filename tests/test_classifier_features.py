"""The ``classifier`` evaluation features: a small CNN trained once on a dataset's own labels.

One network is trained for the whole module (about 10 s on one thread) on single-shape
pictures, where the label (the shape's kind) is always visible; the other tests reuse
it through its cache or stay below training (errors, label files).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from artkit.errors import UsageError
from artkit.eval import classifier
from artkit.eval.features import get_features
from artkit.eval.metrics import frechet_distance, mean_cov
from artkit.plugins import get_registry
from artkit.testing import run_cli
from artkit_data.idx import IdxDataset, write_idx
from tests.helpers import one_error_line

pytestmark = pytest.mark.usefixtures("one_thread")

SPEC = "shapes:count=1024,min_shapes=1,max_shapes=1"
FEATURES = f'classifier:data="{SPEC}",steps=150'


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(extractor, its cache folder, the notices it gave) -- trained once for the module."""
    cache = tmp_path_factory.mktemp("classifier-cache")
    notices: list[str] = []
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARTKIT_CACHE_DIR", str(cache))
        extractor = get_features(FEATURES, notice=notices.append)
    torch.set_num_threads(before)
    return extractor, cache, notices


def shapes(seed: int, n: int = 400, blur: float = 0.0) -> torch.Tensor:
    source = (
        get_registry("datasets")
        .get("shapes")
        .create(
            {"count": n, "seed": seed, "min_shapes": 1, "max_shapes": 1}, resolution=48, channels=3
        )
    )
    pictures = [Image.fromarray(source[i]) for i in range(n)]
    if blur:
        pictures = [im.filter(ImageFilter.GaussianBlur(blur)) for im in pictures]
    array = np.stack([np.asarray(im) for im in pictures])
    return torch.from_numpy(array).permute(0, 3, 1, 2).float() / 127.5 - 1


def fd(a: torch.Tensor, b: torch.Tensor) -> float:
    return frechet_distance(*mean_cov(a.double()), *mean_cov(b.double()))


def test_it_learns_the_shapes_well_above_chance_and_says_so_once(trained):
    extractor, _, notices = trained
    about = extractor.about
    assert float(about["accuracy"]) > float(about["chance"]) + 0.2, about
    assert len(notices) == 1 and "held-out accuracy" in notices[0]
    assert SPEC in extractor.name and extractor.label == f"FD ({extractor.name})"
    # any size, grey or colour: resized and made RGB like every extractor's input
    grey = extractor.embed(torch.rand(3, 1, 50, 50) * 2 - 1)
    assert grey.shape == (3, 128) and torch.isfinite(grey).all()


def test_blur_is_farther_than_another_sample_of_the_same_data(trained):
    # disjoint samples on both sides, so both distances carry the same sampling noise
    # (measured: 0.89 between two samples of 400, 2.3 to a 3-pixel blur of one)
    extractor = trained[0]
    a, b, blurred = (extractor.embed(x) for x in (shapes(1), shapes(2), shapes(2, blur=3)))
    same, blur = fd(a, b), fd(a, blurred)
    assert blur > 2 * same, (blur, same)


def test_a_second_build_loads_the_cached_weights(trained, monkeypatch):
    extractor, cache, _ = trained
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(cache))
    files = list((cache / "eval").glob("classifier-*.safetensors"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(classifier, "train", no_training)
    notices: list[str] = []
    again = get_features(FEATURES, notice=notices.append)
    assert notices == [] and files[0].stat().st_mtime_ns == mtime
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(again.embed(x), extractor.embed(x))
    with pytest.raises(AssertionError, match="trained again"):  # another seed: another network
        get_features(FEATURES + ",seed=1")


def test_unlabelled_and_unlearned_data_are_one_line_errors(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (24, 24), (60 * i, 20, 90)).save(folder / f"{i}.png")
    args = ["--device", "cpu", "eval", str(folder), "--ref", str(folder), "--features"]
    unlabelled = run_cli([*args, f"classifier:data=folder:path={folder}"])
    assert unlabelled.exit_code == 2
    assert "this dataset has no labels" in one_error_line(unlabelled.stderr)
    assert "use --features random-conv" in one_error_line(unlabelled.stderr)
    # one training step on 64 pictures: no better than guessing the commonest shape
    blind = run_cli([*args, 'classifier:data="shapes:count=64",steps=1'])
    assert blind.exit_code == 2
    assert "not clearly above chance" in one_error_line(blind.stderr)
    with pytest.raises(UsageError, match="missing required parameter 'data'"):
        get_features("classifier")


def test_shapes_labels_are_one_kind_per_image_and_leave_the_pixels_alone():
    make = get_registry("datasets").get("shapes")
    params = {"count": 64, "min_shapes": 1, "max_shapes": 1}
    one = make.create(params, resolution=32, channels=3)
    labels = one.class_labels()
    assert labels.dtype == np.int64 and labels.shape == (64,)
    assert set(labels.tolist()) == set(range(len(one.class_names)))  # all 8 kinds in 64
    fresh = make.create(params, resolution=32, channels=3)
    assert np.array_equal(one.as_array(), fresh.as_array())
    grey = make.create(params, resolution=48, channels=1)
    assert np.array_equal(grey.class_labels(), labels)


def idx_labels(path, labels) -> None:
    path.write_bytes(struct.pack(">HBBI", 0, 8, 1, len(labels)) + bytes(labels))


def test_idx_labels_beside_the_images_given_or_absent(tmp_path):
    pictures = np.random.default_rng(0).integers(0, 255, (6, 8, 8), dtype=np.uint8)
    images = write_idx(tmp_path / "train-images-idx3-ubyte", pictures)
    assert IdxDataset(resolution=8, channels=1, path=str(images)).class_labels() is None
    idx_labels(tmp_path / "train-labels-idx1-ubyte", [3, 1, 4, 1, 5, 9])
    found = IdxDataset(resolution=8, channels=1, path=str(images), count=4).class_labels()
    assert found.dtype == np.int64 and found.tolist() == [3, 1, 4, 1]
    idx_labels(tmp_path / "other", [2, 7, 1, 8, 2, 8])
    given = IdxDataset(resolution=8, channels=1, path=str(images), labels=str(tmp_path / "other"))
    assert given.class_labels().tolist() == [2, 7, 1, 8, 2, 8]
    idx_labels(tmp_path / "short", [1, 2])
    with pytest.raises(UsageError, match="hold 2 labels for 6 images"):
        IdxDataset(resolution=8, channels=1, path=str(images), labels=str(tmp_path / "short"))
    (tmp_path / "cut").write_bytes(struct.pack(">HBBI", 0, 8, 1, 1000) + bytes(6))
    with pytest.raises(UsageError, match="promises 1000 labels but holds 6"):
        IdxDataset(resolution=8, channels=1, path=str(images), labels=str(tmp_path / "cut"))
    with pytest.raises(UsageError, match="not an IDX label file"):
        IdxDataset(resolution=8, channels=1, path=str(images), labels=str(images))
