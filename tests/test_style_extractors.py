"""Feature extractors, their weights and the style losses.

VGG is exercised with *random* weights (the architecture built here, saved to a
temporary .safetensors or torch.save'd like a torchvision checkpoint): nothing is
ever downloaded -- the network probe is patched to fail the test if it is reached.
"""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from artkit.checkpoint import save_tensors
from artkit.errors import CheckpointError, UsageError
from artkit.testing import run_cli
from artkit_style import extractors as where
from artkit_style import nn_extractors as nx
from artkit_style.nn_extractors import (
    FeatureExtractor,
    RandomMultiscaleExtractor,
    VGGExtractor,
    get_extractor,
    vgg_architecture,
)
from artkit_style.nn_style_losses import content_loss, gram, style_loss, style_targets, tv_loss

pytestmark = pytest.mark.usefixtures("one_thread")

NOTICE = "artkit: notice: no VGG19 weights found (see `artkit weights import`); using random-multiscale features"


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """Empty artkit and torch hub caches; any attempt to reach the network fails the test."""
    monkeypatch.setenv("ARTKIT_CACHE_DIR", str(tmp_path / "artkit-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("ARTKIT_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("tests must not touch the network")

    monkeypatch.setattr(nx, "_network_reachable", no_network)


def random_vgg_state(variant: str = "vgg19", seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {f"features.{k}": v for k, v in vgg_architecture(variant).state_dict().items()}


@pytest.fixture(scope="module")
def vgg19_state():
    return random_vgg_state("vgg19")


def images(n=1, size=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


class Notices(list):
    def __call__(self, message):
        self.append(message)


# -- random-multiscale ------------------------------------------------------------------
def test_random_multiscale_is_deterministic_frozen_and_multiscale():
    a, b = RandomMultiscaleExtractor(), RandomMultiscaleExtractor()
    x = images(2, 64)
    fa, fb = a(x, a.layers), b(x, b.layers)
    for name in a.layers:
        assert torch.equal(fa[name], fb[name])
    assert not any(p.requires_grad for p in a.parameters()) and not a.training
    a.train()
    assert not a.training  # stays in eval mode
    sides = {name: f.shape[-1] for name, f in fa.items()}
    assert sides == {"s0": 64, "s1": 32, "s2": 16, "s3": 8, "d1": 16, "d2": 8}
    assert fa["s0"].shape[:2] == (2, 64)
    assert set(a.content_layers) <= set(a.layers) and set(a.style_layers) <= set(a.layers)
    assert not a.pretrained and a.name == "random-multiscale"
    other = RandomMultiscaleExtractor(seed=1)(x, ["s1"])["s1"]
    assert not torch.equal(other, fa["s1"])


def test_only_requested_layers_are_computed(monkeypatch):
    e = RandomMultiscaleExtractor()
    called = []
    for name, conv in e.convs.items():
        conv.register_forward_hook(lambda m, i, o, name=name: called.append(name))
    out = e(images(1, 32), ["s1"])
    assert list(out) == ["s1"] and called == ["s1"]
    called.clear()
    e(images(1, 32), ["d2"])
    assert called == ["s1", "d1", "d2"]


def test_unknown_layer_and_bad_input_are_usage_errors():
    e = RandomMultiscaleExtractor()
    with pytest.raises(UsageError, match="no layer 'relu4_2'"):
        e(images(), ["relu4_2"])
    with pytest.raises(UsageError, match=r"\(N, 3, H, W\)"):
        e(torch.zeros(1, 1, 8, 8), ["s0"])


# -- VGG ---------------------------------------------------------------------------------
def test_vgg_layer_names_defaults_and_early_stop(vgg19_state):
    v = VGGExtractor("vgg19", vgg19_state, pretrained=True)
    assert v.layers[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert v.layers[-1] == "pool5" and "relu5_4" in v.layers and len(v.layers) == 37
    assert v.content_layers == ("relu4_2",)
    assert v.style_layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert (
        "relu5_3" in VGGExtractor("vgg16").layers and "relu5_4" not in VGGExtractor("vgg16").layers
    )
    ran = []
    for i, module in enumerate(v.net):
        module.register_forward_hook(lambda m, inp, o, i=i: ran.append(i))
    feats = v(images(1, 32), ["relu2_1", "conv1_1"])
    assert list(feats) == ["relu2_1", "conv1_1"]
    assert max(ran) == v.layers.index("relu2_1")  # nothing past the deepest layer asked for
    # both a conv and its relu may be asked for: the relu must not overwrite the conv output
    both = v(images(1, 16), ["conv1_1", "relu1_1"])
    assert (both["conv1_1"] < 0).any() and torch.equal(
        both["relu1_1"], both["conv1_1"].clamp(min=0)
    )


def test_vgg_normalises_with_imagenet_statistics(vgg19_state):
    v = VGGExtractor("vgg19", vgg19_state)
    x = images(1, 16)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = torch.nn.functional.conv2d(
        ((x + 1) / 2 - mean) / std,
        vgg19_state["features.0.weight"],
        vgg19_state["features.0.bias"],
        padding=1,
    )
    assert torch.allclose(v(x, ["conv1_1"])["conv1_1"], expected, atol=1e-5)


def test_avg_pooling_option(vgg19_state):
    v = VGGExtractor("vgg19", vgg19_state, pooling="avg")
    assert isinstance(v.net[v.layers.index("pool1")], torch.nn.AvgPool2d)
    with pytest.raises(UsageError, match="pooling"):
        VGGExtractor("vgg19", pooling="median")


# -- finding weights -----------------------------------------------------------------------
def test_auto_without_weights_falls_back_with_one_line_notice():
    notices = Notices()
    e = get_extractor("auto", notice=notices)
    assert isinstance(e, RandomMultiscaleExtractor)
    assert notices == [NOTICE]
    notices.clear()
    e = get_extractor("vgg16", notice=notices)
    assert isinstance(e, RandomMultiscaleExtractor)
    assert len(notices) == 1 and "no VGG16 weights found" in notices[0]


def test_missing_explicit_weights_file_falls_back(tmp_path):
    notices = Notices()
    e = get_extractor("vgg19", weights=tmp_path / "nope.safetensors", notice=notices)
    assert isinstance(e, RandomMultiscaleExtractor)
    assert len(notices) == 1 and "nope.safetensors not found" in notices[0]


def test_explicit_safetensors_weights_are_loaded(tmp_path, vgg19_state):
    path = save_tensors(tmp_path / "v.safetensors", vgg19_state)
    notices = Notices()
    e = get_extractor("auto", weights=path, notice=notices)
    assert isinstance(e, VGGExtractor) and e.pretrained and e.name == "vgg19"
    assert notices == []
    assert torch.equal(e.net[0].weight, vgg19_state["features.0.weight"])
    assert e.default_style_weight == 30.0
    # a spec may carry options
    assert isinstance(get_extractor("vgg19:pooling=avg", weights=path).net[4], torch.nn.AvgPool2d)


def test_artkit_cache_is_used(vgg19_state):
    save_tensors(where.cached_weights_path("vgg19"), vgg19_state)
    e = get_extractor("auto", notice=Notices())
    assert isinstance(e, VGGExtractor) and e.pretrained


def test_torch_hub_checkpoint_is_converted_into_the_cache(vgg19_state, own_assets):
    hub = where.hub_checkpoint_path("vgg19")
    hub.parent.mkdir(parents=True)
    full = {**vgg19_state, "classifier.0.weight": torch.zeros(2, 2)}  # like torchvision's file
    torch.save(full, hub)
    notices = Notices()
    e = get_extractor("auto", notice=notices)
    assert isinstance(e, VGGExtractor)
    assert len(notices) == 1 and "converted" in notices[0]
    cached = where.cached_weights_path("vgg19")
    assert cached.is_file()
    from artkit.checkpoint import load_tensors

    tensors, meta = load_tensors(cached)
    assert "classifier.0.weight" not in tensors and meta["artkit.extractor"] == "vgg19"


@pytest.mark.parametrize("kind", ["garbage", "truncated", "wrong-shapes", "pickle", "not-vgg"])
def test_bad_weights_file_is_a_one_line_checkpoint_error(tmp_path, kind, vgg19_state):
    path = tmp_path / "bad.safetensors"
    if kind == "garbage":
        path.write_bytes(b"this is not a safetensors file at all")
    elif kind == "truncated":
        save_tensors(path, vgg19_state)
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "wrong-shapes":
        save_tensors(path, random_vgg_state("vgg16"))
    elif kind == "pickle":
        path = tmp_path / "bad.pth"
        torch.save(vgg19_state, path)
    else:
        save_tensors(path, {"weight": torch.zeros(3)})
    with pytest.raises(CheckpointError) as info:
        get_extractor("vgg19", weights=path, notice=Notices())
    message = str(info.value)
    assert "\n" not in message and str(path) in message


def test_download_is_tried_only_when_online(monkeypatch, vgg19_state, own_assets):
    monkeypatch.delenv("ARTKIT_OFFLINE")
    monkeypatch.setattr(nx, "_network_reachable", lambda host, timeout=2.0: False)
    assert isinstance(get_extractor("auto", notice=Notices()), RandomMultiscaleExtractor)
    fetched = []

    def fake_download(url, **kwargs):
        fetched.append((url, kwargs.get("weights_only")))
        return {**vgg19_state, "classifier.6.bias": torch.zeros(3)}

    monkeypatch.setattr(nx, "_network_reachable", lambda host, timeout=2.0: True)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    notices = Notices()
    e = get_extractor("auto", notice=notices)
    assert isinstance(e, VGGExtractor)
    assert fetched == [(where.PRETRAINED["vgg19"].url, True)]
    assert "downloading VGG19 weights" in notices[0]
    assert where.cached_weights_path("vgg19").is_file()  # next time: no download

    def failing(url, **kwargs):
        raise OSError("connection reset")

    where.cached_weights_path("vgg19").unlink()
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", failing)
    assert isinstance(get_extractor("auto", notice=Notices()), RandomMultiscaleExtractor)


def test_registry_lists_the_extractors():
    from artkit.plugins import get_registry

    registry = get_registry("extractors")
    assert {"vgg19", "vgg16", "random-multiscale"} <= set(registry.names())
    e = get_extractor("random-multiscale:seed=3")
    assert isinstance(e, FeatureExtractor) and e.seed == 3


# -- artkit weights -------------------------------------------------------------------------
def test_weights_import_converts_a_torchvision_checkpoint(tmp_path, vgg19_state):
    pth = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({**vgg19_state, "classifier.0.bias": torch.zeros(4)}, pth)
    result = run_cli(["weights", "import", "vgg19", str(pth)])
    assert result.exit_code == 0, result.stderr
    target = where.cached_weights_path("vgg19")
    assert result.stdout.strip() == str(target) and target.is_file()
    listing = run_cli(["weights", "list", "--json"])
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    present = {(r["name"], r["source"]) for r in rows if r["present"]}
    assert present == {("vgg19", "cache")}
    assert isinstance(get_extractor("auto", notice=Notices()), VGGExtractor)


def test_weights_import_refuses_pickles_with_objects(tmp_path, vgg19_state):
    pth = tmp_path / "evil.pth"
    torch.save({"state": vgg19_state, "args": argparse.Namespace(lr=1)}, pth)
    result = run_cli(["weights", "import", "vgg19", str(pth)])
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("artkit: error:") and "refused" in lines[0]
    assert "Traceback" not in result.stderr
    assert not where.cached_weights_path("vgg19").exists()
    # unknown name, missing file
    assert run_cli(["weights", "import", "alexnet", str(pth)]).exit_code == 2
    missing = run_cli(["weights", "import", "vgg19", str(tmp_path / "none.pth")])
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_weights_list_without_weights():
    result = run_cli(["weights", "list"])
    assert result.exit_code == 0
    assert "vgg19" in result.stdout and "random-multiscale" in result.stderr


# -- losses ----------------------------------------------------------------------------------
def test_gram_is_normalised_and_float32():
    f = torch.ones(2, 4, 3, 5, dtype=torch.bfloat16)
    g = gram(f)
    assert g.shape == (2, 4, 4) and g.dtype == torch.float32
    assert torch.allclose(g, torch.full((2, 4, 4), 1 / 4))  # sum of 15 ones / (4*3*5)


def test_losses_vanish_at_their_targets_and_are_scale_free():
    e = RandomMultiscaleExtractor()
    x, y = images(1, 32, 0), images(1, 32, 1)
    fx, fy = e(x, e.layers), e(y, e.layers)
    assert float(content_loss(fx, fx, ["d1"])) == 0
    targets = {k: gram(v) for k, v in fx.items()}
    assert float(style_loss(fx, targets, e.style_layers)) < 1e-10
    assert float(style_loss(fy, targets, e.style_layers)) > 0
    # relative: scaling features and targets together changes nothing
    scaled = {k: v * 10 for k, v in fy.items()}
    assert torch.allclose(
        content_loss(scaled, {k: v * 10 for k, v in fx.items()}, ["d1"]),
        content_loss(fy, fx, ["d1"]),
        rtol=1e-4,
    )
    # per-layer weights: a zero weight drops the layer
    only_s0 = style_loss(fy, targets, ["s0", "s1"], layer_weights=[1, 0])
    assert torch.allclose(only_s0, style_loss(fy, targets, ["s0"]))
    assert float(tv_loss(torch.ones(1, 3, 8, 8))) == 0 and float(tv_loss(x)) > 0


def test_style_targets_blend_grams_by_weight():
    e = RandomMultiscaleExtractor()
    a, b = images(1, 40, 2), images(1, 40, 3)
    layers = ["s0", "d1"]
    ta = style_targets(e, [a], None, layers, 40)
    tb = style_targets(e, [b[0]], None, layers, 40)  # (3, H, W) is accepted too
    blend = style_targets(e, [a, b], [3, 1], layers, 40)
    for name in layers:
        assert blend[name].shape[0] == 1
        assert torch.allclose(blend[name], 0.75 * ta[name] + 0.25 * tb[name], atol=1e-6)
    resized = style_targets(e, [images(1, 80, 2)], None, ["s0"], 40)
    assert resized["s0"].shape == ta["s0"].shape
