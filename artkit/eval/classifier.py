"""``classifier:data=SPEC``: features of a small CNN trained on a dataset's own labels.

Random features (:mod:`artkit.eval.random_conv`) see colour, edges and texture but
not what an image shows; the FID Inception knows ImageNet, not your data. A
classifier trained to tell a dataset's own classes apart (``shapes``: which shape
is the biggest; ``idx`` with a label file: which digit) keeps in its last hidden
layer what distinguishes them, so a distance in those features reacts to wrong or
missing classes, not only to blur. Numbers are comparable only with numbers from
the same ``classifier:data=SPEC`` (its :attr:`name` holds the spec, steps and seed).

Training is deterministic from ``seed`` (on the CPU, where the results are the same
on every machine) and happens once: the weights go to
``$ARTKIT_CACHE_DIR/eval/classifier-*.safetensors``, keyed by the spec, the dataset's
fingerprint and labels, ``steps``, ``seed`` and :data:`VERSION`. A tenth of the
images is held out; their accuracy is reported once after training, and a
classifier no better than always guessing the commonest class is refused (its
features would be as blind as random ones, without saying so).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.errors import UsageError
from artkit.eval.embedder import Embedder

#: bump when the network or its training changes what a given spec/steps/seed gives
VERSION = "1"
#: side of the images the network is trained and used on
SIZE = 32
#: training steps by default: about 20 s on two free CPU cores, 40 s on one busy one
STEPS = 800
BATCH = 64
#: share of the images held out to measure the accuracy
HELD_OUT = 0.1
#: training batches are shifted by up to this many pixels (edges repeated): without it
#: the net learns 4,096 shapes pictures by heart (train loss 0.04, held-out 26%)
SHIFT = 4
MIN_IMAGES = 20


class ClassifierNet(nn.Module):
    """Four stride-2 convs (32 -> 2 px), global average pool (the 128 features), linear head."""

    def __init__(self, classes: int, width: int = 32) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(chans):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.BatchNorm2d(b), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).mean((2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class ClassifierFeatures(Embedder):
    """The penultimate layer (128 values) of a :class:`ClassifierNet` trained on ``data``."""

    input_size = SIZE

    def __init__(self, net: ClassifierNet, name: str, about: dict[str, str]) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.name = name
        #: what training measured: accuracy, chance, held_out, classes, seconds
        self.about = about

    def forward(self, x: Tensor) -> Tensor:
        return self.net.features(x)


def spec_name(data: str, steps: int, seed: int) -> str:
    """``classifier:data=SPEC[,steps=N][,seed=S]``, quoted so it parses back."""
    quoted = f'"{data}"' if "," in data else data
    return (
        f"classifier:data={quoted}"
        + (f",steps={steps}" if steps != STEPS else "")
        + (f",seed={seed}" if seed else "")
    )


def open_labelled(data: str, name: str) -> tuple[Any, Any]:
    """(the dataset at SIZE px RGB, its int64 labels (N,)); nothing decoded yet."""
    import numpy as np

    from artkit.data import class_labels
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    dname, options = parse_spec(data)
    source = get_registry("datasets").get(dname).create(options, resolution=SIZE, channels=3)
    labels = class_labels(source)
    if labels is None:
        raise UsageError(
            f"{name}: this dataset has no labels (shapes, glyphs and idx with a labels file have); "
            "use --features random-conv"
        )
    if len(source) < MIN_IMAGES or len(np.unique(labels)) < 2:
        raise UsageError(
            f"{name}: {len(source)} images of {len(np.unique(labels))} classes are too few to "
            f"train and test a classifier (need {MIN_IMAGES} images, 2 classes)"
        )
    return source, labels


def images_of(source: Any) -> Any:
    """Every image of a source as uint8 ``(N, SIZE, SIZE, 3)``."""
    import numpy as np

    if hasattr(source, "as_array"):
        images = np.asarray(source.as_array(), dtype=np.uint8)
    else:
        images = np.stack([np.asarray(source[i], dtype=np.uint8) for i in range(len(source))])
    return images.reshape(len(source), SIZE, SIZE, -1)[..., :3]


def train(images: Any, labels: Any, steps: int, seed: int) -> tuple[ClassifierNet, dict[str, str]]:
    """Train on all but a held-out tenth; (network, facts about it) -- on the CPU, seeded."""
    start = time.perf_counter()
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2)  # uint8: MNIST as floats is 740 MB

    def x(index: Tensor) -> Tensor:
        return pixels[index].float().div(127.5).sub(1)

    y = torch.from_numpy(labels)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(pixels), generator=g)
    held = max(10, round(HELD_OUT * len(pixels)))
    test, fit = order[:held], order[held:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ClassifierNet(int(y.max()) + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(steps, 1))
    net.train()
    for _ in range(steps):
        batch = fit[torch.randint(len(fit), (min(BATCH, len(fit)),), generator=g)]
        dx, dy = torch.randint(2 * SHIFT + 1, (2,), generator=g).tolist()
        shifted = F.pad(x(batch), (SHIFT,) * 4, mode="replicate")[
            ..., dy : dy + SIZE, dx : dx + SIZE
        ]
        loss = F.cross_entropy(net(shifted), y[batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        guess = torch.cat([net(x(test[i : i + 256])).argmax(1) for i in range(0, held, 256)])
    accuracy = (guess == y[test]).double().mean().item()
    chance = torch.bincount(y[test]).max().item() / held
    about = {
        "accuracy": f"{accuracy:.6f}",
        "chance": f"{chance:.6f}",
        "held_out": str(held),
        "classes": str(int(y.max()) + 1),
        "seconds": f"{time.perf_counter() - start:.1f}",
    }
    return net, about


def cache_path(data: str, fingerprint: str, labels: Any, steps: int, seed: int) -> Path:
    from artkit.assets import cache_root

    digest = hashlib.sha256(labels.tobytes()).hexdigest()
    key = f"v{VERSION}|{data}|{fingerprint}|{digest}|steps={steps}|seed={seed}|{SIZE}"
    return (
        cache_root()
        / "eval"
        / f"classifier-{hashlib.sha256(key.encode()).hexdigest()[:24]}.safetensors"
    )


def _load(path: Path) -> tuple[ClassifierNet, dict[str, str]] | None:
    """The cached network, or None when absent or unreadable (then trained again)."""
    if not path.is_file():
        return None
    from artkit.checkpoint import load_tensors

    try:
        tensors, meta = load_tensors(path)
        net = ClassifierNet(int(meta["classes"]))
        net.load_state_dict(tensors)
        return net, meta
    except Exception:  # a damaged cache entry is retrained, never trusted
        return None


def at_chance(about: dict[str, str]) -> bool:
    """Accuracy within three standard errors of always guessing the commonest class."""
    p, n = float(about["chance"]), int(about["held_out"])
    return float(about["accuracy"]) <= p + 3 * math.sqrt(p * (1 - p) / n)


def build_classifier(
    data: str = "",
    steps: int = STEPS,
    seed: int = 0,
    device: Any = "cpu",
    notice: Any = None,
    **_: Any,
) -> Embedder:
    """The ``classifier`` extractor: trained once per (spec, data, steps, seed), then cached."""
    from artkit.checkpoint import save_tensors

    steps, seed = int(steps), int(seed)
    name = spec_name(data, steps, seed)
    if not data.strip():
        raise UsageError("classifier features need a dataset: --features classifier:data=shapes")
    if steps < 1:
        raise UsageError(f"{name}: steps={steps} must be at least 1")
    source, labels = open_labelled(data, name)
    path = cache_path(data, source.fingerprint(), labels, steps, seed)
    found = _load(path)
    if found is None:
        net, about = train(images_of(source), labels, steps, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_tensors(path, net.state_dict(), {**about, "data": data, "version": VERSION})
        say = notice or (lambda message: None)
        say(
            f"{name}: held-out accuracy {float(about['accuracy']):.1%} on {about['held_out']} "
            f"images (commonest class {float(about['chance']):.1%}); trained in {about['seconds']} s"
        )
    else:
        net, about = found
    if at_chance(about):
        raise UsageError(
            f"{name}: held-out accuracy {float(about['accuracy']):.1%} on {about['held_out']} "
            f"images is not clearly above chance ({float(about['chance']):.1%} for the commonest "
            "class): give more steps= or more images, or use --features random-conv"
        )
    return ClassifierFeatures(net, name, about).to(device)
