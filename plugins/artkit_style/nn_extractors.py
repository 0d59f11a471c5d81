"""Feature extractors for style transfer: VGG19/VGG16 and random multi-scale features.

Every extractor is a frozen :class:`FeatureExtractor`: ``extractor(images, layers)``
takes ``(N, 3, H, W)`` images in ``[-1, 1]`` (it normalises them itself) and returns
``{layer: features}`` for the requested layers, computing nothing past the deepest
one. :func:`get_extractor` picks and loads one by name:

``vgg19`` / ``vgg16``
    torchvision's architecture (``torchvision.models.vgg19(weights=None).features``)
    with ImageNet weights from ``--weights FILE``, artkit's cache, the torch hub cache
    or a torchvision download (see :mod:`artkit_style.extractors`). Layers are named
    ``conv1_1, relu1_1, ..., pool1, conv2_1, ...``; default content layer ``relu4_2``,
    style layers ``relu1_1, relu2_1, relu3_1, relu4_1, relu5_1`` (Gatys et al. 2016).
    ``pooling="avg"`` swaps max-pooling for average pooling, as Gatys suggests.

``random-multiscale``
    No pretrained weights: fixed-seed random convolutional filters applied to an
    image pyramid, after Ustyuzhaninov et al. 2017 ("What does it take to generate
    natural textures?"), who showed that one layer of random filters at several
    scales already captures textures. Layers (``s`` = single random conv + ReLU on
    the image downsampled by 2**k through a binomial blur pyramid -- average pooling
    painted an 8-pixel block grid into results; ``d`` = a second random layer stacked
    on those, for features with a larger, non-linear receptive field):

    ======  =============================================  ============
    layer   what                                           scale
    ======  =============================================  ============
    ``s0``  64 random 3x3 filters on the image             1
    ``s1``  128 random 5x5 filters on the image / 2        1/2
    ``s2``  128 random 5x5 filters on the image / 4        1/4
    ``s3``  128 random 7x7 filters on the image / 8        1/8
    ``d1``  192 random 3x3 filters on ``s1`` / 2           1/4
    ``d2``  192 random 3x3 filters on ``d1`` / 2           1/8
    ======  =============================================  ============

    Default content layers ``d1`` (coarse structure, free fine detail); style layers
    all six. It is the offline fallback, chosen with a one-line notice when no VGG
    weights are present.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.errors import CheckpointError, UsageError
from artkit_style.configs import STYLE_WEIGHTS
from artkit_style.extractors import (
    NO_WEIGHTS_NOTICE,
    PRETRAINED,
    cached_weights_path,
    offline,
    weight_sources,
)

__all__ = [
    "FeatureExtractor",
    "RandomMultiscaleExtractor",
    "VGGExtractor",
    "convert_torchvision_state",
    "get_extractor",
    "load_vgg_weights",
    "print_to_stderr",
    "vgg_architecture",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's VGG "features" configurations (numbers are conv widths, M a 2x2 pool)
_VGG_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}  # fmt: skip


def print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FeatureExtractor(nn.Module):
    """A frozen network that maps images in ``[-1, 1]`` to named feature maps.

    Subclasses set the class attributes and implement :meth:`_features`.
    ``default_style_weight`` is the style weight (with content weight 1) that gives
    a good balance with :mod:`artkit_style.nn_style_losses`' normalised losses
    (see :data:`artkit_style.configs.STYLE_WEIGHTS`).
    """

    name: str = "?"
    layers: tuple[str, ...] = ()
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    pretrained: bool = False
    default_style_weight: ClassVar[float] = STYLE_WEIGHTS["random-multiscale"]

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def freeze(self) -> FeatureExtractor:
        for p in self.parameters():
            p.requires_grad_(False)
        return self.eval()

    def train(self, mode: bool = True) -> FeatureExtractor:  # always eval: no dropout/BN here
        return super().train(False)

    def normalise(self, images: Tensor) -> Tensor:
        x = (images + 1) * 0.5
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def check_layers(self, layers: Sequence[str]) -> list[str]:
        if isinstance(layers, str):
            layers = [layers]
        unknown = [name for name in layers if name not in self.layers]
        if unknown:
            raise UsageError(
                f"extractor {self.name!r} has no layer {unknown[0]!r}; layers: {', '.join(self.layers)}"
            )
        return list(layers)

    def forward(self, images: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        wanted = self.check_layers(layers)
        if images.dim() != 4 or images.shape[1] != 3:
            raise UsageError(
                f"extractor {self.name!r} needs (N, 3, H, W) images, got {tuple(images.shape)}"
            )
        return self._features(self.normalise(images), wanted)

    def _features(self, x: Tensor, layers: list[str]) -> dict[str, Tensor]:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"name={self.name!r}, pretrained={self.pretrained}"


# --------------------------------------------------------------------------- VGG


def vgg_architecture(name: str) -> nn.Sequential:
    """torchvision's ``vggNN(weights=None).features``, random weights initialised as torchvision does.

    Built with torchvision's own ``make_layers`` (what ``vgg19().features`` is), which
    skips the 120M-parameter classifier that ``vgg19()`` would build and then drop.
    """
    if name not in _VGG_CFG:
        raise UsageError(f"unknown VGG variant {name!r}; use vgg19 or vgg16")
    try:
        from torchvision.models.vgg import cfgs, make_layers

        features = make_layers(cfgs["E" if name == "vgg19" else "D"], batch_norm=False)
    except (ImportError, KeyError, TypeError):  # a torchvision that moved its internals
        import torchvision

        return getattr(torchvision.models, name)(weights=None).features
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def _vgg_layer_names(name: str) -> list[str]:
    names, block, index = [], 1, 1
    for item in _VGG_CFG[name]:
        if item == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return names


class VGGExtractor(FeatureExtractor):
    """VGG19 or VGG16 convolutional features, named conv1_1 ... relu5_4, pool1 ... pool5."""

    content_layers = ("relu4_2",)
    style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    default_style_weight = STYLE_WEIGHTS["vgg19"]

    def __init__(
        self,
        variant: str = "vgg19",
        state: dict[str, Tensor] | None = None,
        *,
        pooling: str = "max",
        pretrained: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise UsageError(f"{variant}: pooling={pooling!r} is not allowed; use max or avg")
        self.name = variant
        self.pooling = pooling
        self.pretrained = pretrained
        features = vgg_architecture(variant)
        if state is not None:
            _load_features(features, state, source=variant)
        names = _vgg_layer_names(variant)
        modules: list[nn.Module] = []
        for module in features:
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)  # keep conv outputs intact when both are asked for
            elif isinstance(module, nn.MaxPool2d) and pooling == "avg":
                module = nn.AvgPool2d(2, 2)
            modules.append(module)
        self.net = nn.ModuleList(modules)
        self.layer_names = names
        self.layers = tuple(names)
        self.freeze()

    def _features(self, x: Tensor, layers: list[str]) -> dict[str, Tensor]:
        wanted = set(layers)
        last = max(self.layer_names.index(n) for n in wanted)
        out: dict[str, Tensor] = {}
        for i, (name, module) in enumerate(zip(self.layer_names, self.net, strict=True)):
            x = module(x)
            if name in wanted:
                out[name] = x
            if i >= last:
                break
        return {n: out[n] for n in layers}


def convert_torchvision_state(state: dict[str, Any], *, source: str) -> dict[str, Tensor]:
    """Keep the ``features.*`` tensors of a torchvision VGG state dict, as plain float tensors.

    Accepts a full torchvision checkpoint (``features.0.weight``, ``classifier...``),
    a bare ``features`` state dict (``0.weight``) or one nested under ``state_dict``.
    Raises a one-line :class:`CheckpointError` for anything else.
    """
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: not a state dict (got {type(state).__name__})")
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if not isinstance(value, Tensor):
            raise CheckpointError(f"{source}: entry {key!r} is not a tensor")
        key = key.removeprefix("module.")
        if key.startswith("features."):
            out[key] = value
        elif key.split(".", 1)[0].isdigit():
            out[f"features.{key}"] = value
    if not out:
        raise CheckpointError(f"{source}: no VGG 'features.*' tensors in this file")
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in out.items()}


def _load_features(features: nn.Sequential, state: dict[str, Tensor], *, source: str) -> None:
    tensors = {k.removeprefix("features."): v for k, v in state.items()}
    expected = features.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [
        f"{k} {tuple(tensors[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)
    ]
    if wrong or missing or unexpected:
        detail = (
            f"wrong shapes ({', '.join(wrong[:2])})"
            if wrong
            else f"{len(missing)} missing tensors (first {missing[0]})"
            if missing
            else f"{len(unexpected)} unexpected tensors (first {unexpected[0]})"
        )
        raise CheckpointError(f"{source}: not weights for this VGG: {detail}")
    for k, v in tensors.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"{source}: tensor {k!r} contains NaN or Inf")
    features.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)


def load_vgg_weights(path: str | Path, variant: str = "vgg19") -> dict[str, Tensor]:
    """Read a ``.safetensors`` weights file for ``variant`` and check it fits.

    A pickle, a non-safetensors, truncated or wrongly shaped file is a one-line
    :class:`CheckpointError` (pickles are pointed at ``artkit weights import``).
    """
    from artkit.checkpoint import load_tensors

    path = Path(path)
    tensors, _ = load_tensors(path)
    state = convert_torchvision_state(tensors, source=str(path))
    _load_features(vgg_architecture(variant), state, source=str(path))  # validates shapes
    return state


def import_torchvision_checkpoint(pth: str | Path, variant: str = "vgg19") -> dict[str, Tensor]:
    """Load a torchvision ``.pth`` with ``weights_only=True`` and return checked VGG tensors."""
    import pickle

    pth = Path(pth)
    if not pth.is_file():
        raise CheckpointError(f"{pth}: no such file")
    try:
        state = torch.load(pth, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise CheckpointError(
            f"{pth}: refused: the pickle holds more than tensors ({first[:120]})"
        ) from None
    except Exception as exc:
        why = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise CheckpointError(f"{pth}: cannot read as a PyTorch checkpoint ({why})") from None
    state = convert_torchvision_state(state, source=str(pth))
    _load_features(vgg_architecture(variant), state, source=str(pth))
    return state


def save_cached_weights(variant: str, state: dict[str, Tensor], *, source: str) -> Path:
    from artkit import __version__
    from artkit.checkpoint import save_tensors

    target = cached_weights_path(variant)
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "artkit.version": __version__,
        "artkit.extractor": variant,
        "artkit.source": str(source),
    }
    return save_tensors(target, state, meta)


def _network_reachable(host: str, timeout: float = 2.0) -> bool:
    """True when a TCP connection to ``host:443`` opens within ``timeout`` (DNS included)."""
    import socket

    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except Exception:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def _download_state(variant: str, notice: Callable[[str], None]) -> dict[str, Tensor] | None:
    from urllib.parse import urlparse

    info = PRETRAINED[variant]
    if offline() or not _network_reachable(urlparse(info.url).hostname or ""):
        return None
    notice(f"artkit: notice: downloading {info.label} weights ({info.size_mb} MB) via torchvision")
    try:
        # check_hash: the SHA-256 prefix in torchvision's file name (all it publishes)
        state = torch.hub.load_state_dict_from_url(
            info.url, map_location="cpu", progress=True, weights_only=True, check_hash=True
        )
        return convert_torchvision_state(state, source=info.url)
    except Exception:
        return None


def find_vgg_state(
    variant: str, weights: str | Path | None, notice: Callable[[str], None]
) -> tuple[dict[str, Tensor], str] | None:
    """VGG weights from the first source that has them: (state, where) or None.

    An explicit ``weights`` file that is missing gives None (the caller falls back
    with a notice); one that exists but is bad raises :class:`CheckpointError`.
    """
    for kind, path in weight_sources(variant, weights):
        if not path.is_file():
            continue
        if kind == "hub":
            state = import_torchvision_checkpoint(path, variant)
            with contextlib.suppress(OSError, CheckpointError):
                saved = save_cached_weights(variant, state, source=str(path))
                notice(f"artkit: notice: converted {path} to {saved}")
            return state, str(path)
        return load_vgg_weights(path, variant), str(path)
    if weights:
        return None
    state = _download_state(variant, notice)
    if state is None:
        return None
    with contextlib.suppress(OSError, CheckpointError):
        save_cached_weights(variant, state, source=PRETRAINED[variant].url)
    return state, PRETRAINED[variant].url


# --------------------------------------------------------------------------- random multiscale


class RandomMultiscaleExtractor(FeatureExtractor):
    """Fixed-seed random conv features on an image pyramid (Ustyuzhaninov et al. 2017)."""

    name = "random-multiscale"
    # (name, source, downsample before conv, in channels, out channels, kernel)
    SPEC: ClassVar[tuple[tuple[str, str, int, int, int, int], ...]] = (
        ("s0", "image", 1, 3, 64, 3),
        ("s1", "image", 2, 3, 128, 5),
        ("s2", "image", 4, 3, 128, 5),
        ("s3", "image", 8, 3, 128, 7),
        ("d1", "s1", 2, 128, 192, 3),
        ("d2", "d1", 2, 192, 192, 3),
    )
    layers = tuple(s[0] for s in SPEC)
    content_layers = ("d1",)
    style_layers = ("s0", "s1", "s2", "s3", "d1", "d2")
    pretrained = False
    default_style_weight = STYLE_WEIGHTS["random-multiscale"]

    def __init__(self, seed: int = 0, width: float = 1.0) -> None:
        super().__init__()
        if not width > 0:
            raise UsageError(f"random-multiscale: width={width!r} must be positive")
        self.seed = int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        self.convs = nn.ModuleDict()
        widths: dict[str, int] = {"image": 3}
        self.plan: dict[str, tuple[str, int]] = {}
        for name, source, down, _cin, cout, k in self.SPEC:
            cin = widths[source]
            cout = max(8, round(cout * width))
            conv = nn.Conv2d(cin, cout, k)  # padded in _features: reflect, or replicate when tiny
            with torch.no_grad():
                # Unit-norm Gaussian filters, half of them mean-free (edges/texture) and
                # half not (colour and brightness), small random biases.
                w = torch.randn(conv.weight.shape, generator=gen)
                half = cout // 2
                w[:half] -= w[:half].mean(dim=(2, 3), keepdim=True)
                w /= w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                conv.weight.copy_(w * (2.0**0.5))
                conv.bias.copy_(0.1 * torch.randn(cout, generator=gen))
            self.convs[name] = conv
            widths[name] = cout
            self.plan[name] = (source, down)
        self.freeze()

    def _features(self, x: Tensor, layers: list[str]) -> dict[str, Tensor]:
        # Only the requested layers and what they are built from, in SPEC order (sources
        # come first). A plain loop, not a recursive closure: a closure cycle holding the
        # feature maps would keep every step's autograd graph alive until the next GC.
        needed: set[str] = set()
        for name in layers:
            while name != "image" and name not in needed:
                needed.add(name)
                name = self.plan[name][0]
        values: dict[str, Tensor] = {"image": x}
        pyramid: dict[tuple[str, int], Tensor] = {}
        for name, _source, *_ in self.SPEC:
            if name not in needed:
                continue
            source, down = self.plan[name]
            key = (source, down)
            if key not in pyramid:
                pyramid[key] = _blur_down(values[source], down)
            conv = self.convs[name]
            pad = conv.kernel_size[0] // 2
            base = pyramid[key]
            mode = "reflect" if min(base.shape[-2:]) > pad else "replicate"
            values[name] = F.relu(conv(F.pad(base, (pad, pad, pad, pad), mode=mode)))
        return {name: values[name] for name in layers}


def _blur_down(x: Tensor, factor: int) -> Tensor:
    """Downsample by ``factor`` (a power of 2) with a 5-tap binomial blur per halving.

    Smoother than average pooling: its gradient has no block edges, so coarse-scale
    losses do not paint an 8-pixel grid into the optimised image.
    """
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=x.device, dtype=x.dtype) / 16
    kernel2d = (kernel[:, None] * kernel[None, :]).expand(x.shape[1], 1, 5, 5)
    while factor > 1:
        if min(x.shape[-2:]) > 2:
            x = F.conv2d(
                F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel2d, stride=2, groups=x.shape[1]
            )
        else:
            x = F.avg_pool2d(x, 2, ceil_mode=True)
        factor //= 2
    return x


# --------------------------------------------------------------------------- lookup


def _spec_options(name: str) -> tuple[str, dict[str, str]]:
    from artkit.registry import parse_spec

    return parse_spec(name)


def build_vgg19(
    weights: str | None = None, pooling: str = "max", device: Any = "cpu", notice=print_to_stderr
):
    return _build_vgg("vgg19", weights, pooling, device, notice)


def build_vgg16(
    weights: str | None = None, pooling: str = "max", device: Any = "cpu", notice=print_to_stderr
):
    return _build_vgg("vgg16", weights, pooling, device, notice)


def build_random_multiscale(seed: int = 0, width: float = 1.0, device: Any = "cpu", **_: Any):
    return RandomMultiscaleExtractor(seed=int(seed), width=float(width)).to(device)


_BUILTIN: dict[str, Callable[..., FeatureExtractor]] = {
    "vgg19": build_vgg19,
    "vgg16": build_vgg16,
    "random-multiscale": build_random_multiscale,
}


def _build_vgg(variant, weights, pooling, device, notice) -> FeatureExtractor:
    found = find_vgg_state(variant, weights, notice)
    if found is None:
        if weights:
            notice(
                f"artkit: notice: {PRETRAINED[variant].label} weights file {weights} not found; "
                "using random-multiscale features"
            )
        else:
            notice(NO_WEIGHTS_NOTICE.format(label=PRETRAINED[variant].label))
        return RandomMultiscaleExtractor().to(device)
    state, _where = found
    return VGGExtractor(variant, state, pooling=pooling, pretrained=True).to(device)


def get_extractor(
    name: str = "auto",
    *,
    weights: str | Path | None = None,
    device: Any = "cpu",
    notice: Callable[[str], None] = print_to_stderr,
    **options: Any,
) -> FeatureExtractor:
    """A ready, frozen extractor by name (or spec ``name:key=value``) on ``device``.

    ``"auto"`` means ``vgg19`` when its weights can be found, else
    ``random-multiscale`` with a one-line notice. ``vgg19``/``vgg16`` without
    obtainable weights fall back the same way; a weights file that exists but is bad
    raises a one-line :class:`CheckpointError`. Other names come from the
    ``extractors`` registry (third-party plugins), called with their options and
    ``device=``. Keyword ``options`` (``pooling="avg"``, ``seed=1``) override the spec's.
    """
    base, spec_opts = _spec_options(name or "auto")
    opts: dict[str, Any] = {**spec_opts, **options}
    if weights is not None:
        opts["weights"] = str(weights)
    if base == "auto":
        base = "vgg19"
    from artkit.plugins import get_registry

    registry = get_registry("extractors")
    if base not in registry and base in _BUILTIN:
        # the built-ins work even when the plugin host filtered this plugin out
        return _BUILTIN[base](**opts, device=device, notice=notice)
    entry = registry.get(base)
    bound = entry.bind(opts)
    if base in ("vgg19", "vgg16"):
        return entry.factory(**bound, device=device, notice=notice)
    extractor = entry.factory(**bound, device=device)
    return extractor.to(device)
