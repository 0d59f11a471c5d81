"""Assertions and readers shared by the training and CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

from artkit.checkpoint import load_tensors


def metrics(run: Path) -> list[dict]:
    """The rows of a run folder's metrics.jsonl."""
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_same_tensors(a: Path, b: Path) -> None:
    """Two safetensors files hold the same names and bit-identical tensors."""
    ta, _ = load_tensors(a)
    tb, _ = load_tensors(b)
    assert sorted(ta) == sorted(tb)
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"{len(different)} tensors differ, first: {different[:3]}"


def one_error_line(stderr: str) -> str:
    """stderr holds exactly one `artkit: error:` line and no traceback; return that line."""
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("artkit: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def train_tiny_dcgan(out: Path, *, seed: int = 0) -> Path:
    """A 32 px, width-0.125 dcgan trained 20 real steps on 16 ``shapes`` (fp32, CPU) into ``out``.

    Twenty steps, not two: G runs once a step, and until its BatchNorm statistics
    have moved off their start a near-init G's samples round to the same 8-bit
    pixels for every latent (a walk's frames would merge).
    """
    from artkit.checkpoint import build_model
    from artkit.plugins import get_registry
    from artkit.train.loop import Trainer
    from artkit.train.options import TrainOptions

    torch.manual_seed(seed)
    net = build_model("dcgan", {"resolution": 32, "width": 0.125})
    data = get_registry("datasets").get("shapes").create({"count": 16}, resolution=32, channels=3)
    options = TrainOptions(
        steps=20, batch_size=8, sample_every=0, log_every=5, device="cpu", precision="fp32"
    )
    loss = get_registry("losses").get("bce").create()
    Trainer(net, data, options, out, quiet=True, loss=loss).run()
    return out


def read_image(path: Path | str) -> Image.Image:
    """An image file read whole and closed: a bare ``Image.open(path).size`` leaves the
    file open until garbage collection, which then warns (ResourceWarning) in whatever
    test happens to be running."""
    with Image.open(path) as im:
        im.load()
    return im
