"""``artkit.project``: find the latent from which a GAN draws a given picture.

A GAN has no encoder, so a picture's latent is found by optimisation, as
StyleGAN2-ADA's projector does it: start from the best of a few random latents,
then a few hundred Adam steps on the latent that minimise a distance between the
generated and the target picture, with the learning rate ramped up briefly and
cosine-ramped down over the last quarter, and noise added to the latent early on
(fading to none at three quarters of the way) so the search does not settle in the
first valley it finds. Everything is seeded: same checkpoint, picture, seed and
settings give the same latent on a given device type.

The distance is ``perceptual + pixel_weight * pixel``:

- *perceptual*, LPIPS-style without LPIPS's learned weights: feature maps of a fixed
  extractor at several depths, each position's channel vector scaled to unit length,
  squared differences summed over channels, averaged over positions and then over
  layers (0 = the same picture, at most 4). The default extractor is ``random-conv``
  (four random conv layers from a fixed seed: needs no weights, always there); a
  style extractor (``vgg16``, ``vgg19``, ``random-multiscale``) works too, its style
  layers serving as the depths. Random features see colour, edges and layout, not
  meaning: with VGG weights installed, ``features="vgg16"`` is closer to real LPIPS.
- *pixel*: the mean squared error in ``[-1, 1]`` units.

A model may project more than its latent (StyleGAN's per-layer noise, say) by
offering a ``projector()`` method that returns an object like
:class:`LatentProjector`: ``variables`` to optimise besides the latent, a
differentiable ``synthesize``, and a ``regularization`` for them. Artkit's own GANs
(dcgan, fastgan) have only the latent.

Nothing here imports torch at module level.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artkit.errors import UsageError

if TYPE_CHECKING:
    from PIL import Image

    from artkit.api.model import Model

#: the extractor of the perceptual term when none is named
DEFAULT_FEATURES = "random-conv"
#: random latents tried before optimising; the closest one is the start
CANDIDATES = 64
#: Adam's peak learning rate (latents are N(0, I), so steps of ~0.1 are small)
LEARNING_RATE = 0.1
#: the latent noise at step 0, in units of the latents' standard deviation (1)
INITIAL_NOISE = 0.05
#: shares of the run: noise fades out by 75 %, lr ramps up over 5 %, down over the last 25 %
NOISE_RAMP, LR_RAMPUP, LR_RAMPDOWN = 0.75, 0.05, 0.25


@dataclass
class Projection:
    """One projected picture: its latent, the reconstruction and how close it came."""

    source: str  #: the input as given (a path, ``sample:NAME`` or ``image-N``)
    latent: Any  #: float32 CPU tensor ``(z_dim,)``
    image: Image.Image  #: the reconstruction, with its provenance in ``image.info``
    target: Image.Image  #: the input as the model sees it (cropped, resized)
    pixel_mse: float  #: mean squared error in [-1, 1] units
    feature_distance: float  #: the perceptual distance (see the module docstring)
    distance: float  #: what was minimised: feature_distance + pixel_weight * pixel_mse
    seconds: float
    source_sha256: str | None = None  #: of the input file, when it was one
    extra: dict[str, Any] = field(default_factory=dict)  #: other projected variables
    provenance: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the model side


class LatentProjector:
    """How a latent model is projected: its generator network, differentiable.

    ``generate`` runs without gradients, so the projector calls the network that
    ``generate`` calls (the EMA copy of ``G``), after checking on one latent that
    both give the same picture.
    """

    def __init__(self, net: Any):
        import torch

        self.net = net
        self.z_dim = int(net.z_dim)
        if "G" not in tuple(net.network_names):
            raise UsageError(
                f"model {net.registry_name!r} has no generator network G to project through"
            )
        self.G = net.inference_network("G").eval()
        probe = net.latents_for_seeds([0])
        with torch.no_grad():
            reference = net.generate(probe).float()
            mine = self.synthesize(probe.to(net.device), {}).float()
        if mine.shape != reference.shape or not torch.allclose(mine, reference, atol=1e-4):
            raise UsageError(
                f"model {net.registry_name!r}: its generator G does not make what generate() "
                "makes, so project cannot follow it"
            )
        self.image_shape = tuple(reference.shape[1:])  # (C, H, W): any aspect ratio

    def variables(self, generator: Any) -> dict[str, Any]:
        """Tensors optimised besides the latent (none for a plain latent model)."""
        return {}

    def synthesize(self, z: Any, variables: dict[str, Any]) -> Any:
        """Latents (and the variables) -> images in [-1, 1], with gradients."""
        return self.G(z.float()).float()

    def regularization(self, variables: dict[str, Any]) -> Any:
        """A penalty on the variables (StyleGAN keeps its noise maps noise-like); 0 here."""
        return 0.0


def projector_for(net: Any) -> Any:
    """The model's own ``projector()`` when it has one, else a :class:`LatentProjector`.

    A model that does not sample from latents, or that has an encoder (a VAE: use
    ``artkit encode``), is a one-line :class:`UsageError`.
    """
    from artkit.model import Encoder, LatentSampler

    name = net.registry_name
    if isinstance(net, Encoder):
        raise UsageError(
            f"project needs a model that generates from latents without an encoder (a GAN); "
            f"model {name!r} encodes pictures itself: use `artkit encode`"
        )
    if not isinstance(net, LatentSampler):
        raise UsageError(
            f"project needs a model that generates from latents (a GAN such as dcgan or "
            f"fastgan); model {name!r} does not"
        )
    own = getattr(net, "projector", None)
    return own() if callable(own) else LatentProjector(net)


# --------------------------------------------------------------------------- the distance


class PerceptualDistance:
    """LPIPS-style distance on a fixed extractor's feature maps (see the module docstring)."""

    def __init__(self, spec: str, device: Any, notice: Callable[[str], None] | None = None):
        import torch

        from artkit.media import takes_parameter
        from artkit.plugins import get_registry
        from artkit.registry import parse_spec

        name, options = parse_spec(spec or DEFAULT_FEATURES)
        entry = get_registry("extractors").get(name)
        takes_notice = takes_parameter(getattr(entry, "factory", None), "notice")
        extra = {"notice": notice} if notice is not None and takes_notice else {}
        with torch.random.fork_rng(devices=[]):  # random extractors must not move the caller's RNG
            made = entry.create(options, device=device, **extra)
        self.extractor = made.eval().requires_grad_(False)
        self.name = str(getattr(made, "name", name))
        if _is_conv_stack(made):
            self.size = max(made.input_hw)  # the largest side it compares
            self._maps = self._conv_maps
        elif getattr(made, "style_layers", None):
            self.size = 0  # style extractors take pictures of any size
            self._maps = self._style_maps
        else:
            raise UsageError(
                f"--features {name}: it gives no feature maps to compare; use random-conv "
                "or a style extractor (vgg16, vgg19, random-multiscale)"
            )

    def _conv_maps(self, x: Any) -> list[Any]:
        import torch.nn.functional as F

        # what RandomConv.forward computes before pooling: each layer's activations
        maps = []
        for conv in self.extractor.layers:
            x = F.leaky_relu(conv(x), 0.2)
            maps.append(x)
        return maps

    def _style_maps(self, x: Any) -> list[Any]:
        layers = list(self.extractor.style_layers)
        found = self.extractor(x, layers)
        return [found[name] for name in layers]

    def maps(self, images: Any) -> list[Any]:
        """Images ``(N, C, H, W)`` in [-1, 1] -> unit-length channel vectors at several depths."""
        import torch.nn.functional as F

        x = images.float()
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]
        height, width = x.shape[-2:]
        if self.size and max(height, width) > self.size:
            # big pictures are compared at the extractor's size (as StyleGAN's projector
            # compares at 256 px); small ones as they are: upsampling adds no detail,
            # only cost, and the conv filters see more of the picture at its own size
            scale = self.size / max(height, width)
            size = (max(16, round(height * scale)), max(16, round(width * scale)))
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return [m / (m.pow(2).sum(1, keepdim=True) + 1e-10).sqrt() for m in self._maps(x)]

    def distance(self, maps: list[Any], target: list[Any]) -> Any:
        """Per-image distance ``(N,)`` between maps and target maps (target batch 1 broadcasts)."""
        per_layer = [(a - b).pow(2).sum(1).mean((1, 2)) for a, b in zip(maps, target, strict=True)]
        return sum(per_layer) / len(per_layer)


def _is_conv_stack(made: Any) -> bool:
    from torch import nn

    layers = getattr(made, "layers", None)
    return (
        isinstance(layers, nn.ModuleList)
        and len(layers) > 0
        and all(isinstance(m, nn.Conv2d) for m in layers)
        and hasattr(made, "input_size")
    )


# --------------------------------------------------------------------------- projecting


def _schedule(t: float) -> tuple[float, float]:
    """(learning-rate factor, noise factor) at ``t`` in [0, 1): StyleGAN2-ADA's ramps."""
    down = min(1.0, (1.0 - t) / LR_RAMPDOWN)
    lr = (0.5 - 0.5 * math.cos(down * math.pi)) * min(1.0, t / LR_RAMPUP)
    noise = max(0.0, 1.0 - t / NOISE_RAMP) ** 2
    return lr, noise


def _target(image: Any, shape: tuple[int, ...]) -> Any:
    """An input (PIL, path or ``sample:NAME``) centre-cropped and resized to ``(C, H, W)``."""
    from PIL import Image, ImageOps

    from artkit.api.images import load_source_image

    channels, height, width = shape
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    if not isinstance(image, Image.Image | str | os.PathLike):
        raise UsageError(f"project takes PIL images or paths, not {type(image).__name__}")
    im = image if isinstance(image, Image.Image) else load_source_image(os.fspath(image), mode)
    if im.mode != mode:
        im = im.convert(mode)
    if im.size != (width, height):
        im = ImageOps.fit(im, (width, height), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    return im


def project(
    model: Model | str | os.PathLike[str],
    images: Any,
    *,
    steps: int = 300,
    seed: int = 0,
    features: str = DEFAULT_FEATURES,
    pixel_weight: float = 1.0,
    candidates: int = CANDIDATES,
    notice: Callable[[str], None] | None = None,
) -> Iterator[Projection]:
    """Project each picture into ``model``'s latent space, one at a time (lazily).

    ``model`` is a loaded :class:`~artkit.api.model.Model` or what ``artkit.load``
    takes; ``images`` a PIL image, a path, ``sample:NAME``, or a sequence of them.
    Each :class:`Projection` carries the latent, the reconstruction (with the
    provenance ``artkit project`` writes) and its distances to the target.
    """
    from artkit.api.model import Model, load

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UsageError(f"steps must be an integer >= 1, got {steps!r}")
    if not 1 <= candidates <= 100_000:
        raise UsageError(f"candidates must be from 1 to 100000, got {candidates!r}")
    if not (pixel_weight >= 0 and math.isfinite(pixel_weight)):
        raise UsageError(f"pixel_weight must be a number >= 0, got {pixel_weight!r}")
    handle = model if isinstance(model, Model) else load(model)
    # checked now, not when the first picture is asked for
    projector = projector_for(handle.net)
    distance = PerceptualDistance(features, handle.device, notice)
    from PIL import Image

    items = [images] if isinstance(images, Image.Image | str | os.PathLike) else images
    return (
        _project_one(handle, projector, distance, item, i, steps, seed, pixel_weight, candidates)
        for i, item in enumerate(items)
    )


def _project_one(
    handle: Model,
    projector: Any,
    metric: PerceptualDistance,
    item: Any,
    index: int,
    steps: int,
    seed: int,
    pixel_weight: float,
    candidates: int,
) -> Projection:
    import torch

    from artkit.api.output import attach_provenance
    from artkit.checkpoint import sha256_file
    from artkit.torch_images import pil_to_tensor, to_pil

    started = time.perf_counter()
    source = os.fspath(item) if isinstance(item, str | os.PathLike) else f"image-{index}"
    sha = None
    if isinstance(item, str | os.PathLike) and os.path.isfile(item):
        sha = sha256_file(item)
    target_image = _target(item, projector.image_shape)
    device = handle.device
    target = pil_to_tensor([target_image], projector.image_shape[0]).to(device)
    # the same seed gives every picture the same candidates and noise: results do
    # not depend on which other pictures are projected in the same run
    gen = torch.Generator().manual_seed(int(seed))

    with torch.no_grad():
        target_maps = metric.maps(target)

    def measure(images: Any) -> tuple[Any, Any]:
        feat = metric.distance(metric.maps(images), target_maps)
        pixel = (images - target).pow(2).flatten(1).mean(1)
        return feat, pixel

    # start from the closest of a few random latents (StyleGAN starts from the mean w;
    # a z-space GAN's mean latent is a blur, a good random draw is nearer)
    z_all = torch.randn(candidates, projector.z_dim, generator=gen)
    variables = projector.variables(gen)
    best, best_d = None, math.inf
    with torch.no_grad():
        for chunk in z_all.split(64):
            feat, pixel = measure(projector.synthesize(chunk.to(device), variables))
            d = feat + pixel_weight * pixel
            i = int(d.argmin())
            if float(d[i]) < best_d:
                best, best_d = chunk[i : i + 1].clone(), float(d[i])
    assert best is not None
    z = best.to(device).requires_grad_(True)
    trainable = [z, *(v for v in variables.values() if v.requires_grad)]
    optimizer = torch.optim.Adam(trainable, lr=LEARNING_RATE, betas=(0.9, 0.999))
    for step in range(steps):
        lr_factor, noise_factor = _schedule(step / steps)
        for group in optimizer.param_groups:
            group["lr"] = LEARNING_RATE * lr_factor
        noise = torch.randn(z.shape, generator=gen).to(device) * (INITIAL_NOISE * noise_factor)
        feat, pixel = measure(projector.synthesize(z + noise, variables))
        loss = (feat + pixel_weight * pixel).sum() + projector.regularization(variables)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with torch.no_grad():
        final = projector.synthesize(z, variables)
        feat, pixel = measure(final)
    feat_v, pixel_v = float(feat[0]), float(pixel[0])
    seconds = time.perf_counter() - started
    provenance = handle.provenance(
        "project",
        source=source,
        **({"source_sha256": sha} if sha else {}),
        steps=steps,
        seed=int(seed),
        features=metric.name,
        pixel_weight=pixel_weight,
        pixel_mse=round(pixel_v, 6),
        feature_distance=round(feat_v, 6),
    )
    [picture] = to_pil(final.detach().float().cpu())
    return Projection(
        source=source,
        latent=z.detach().float().cpu().reshape(projector.z_dim),
        image=attach_provenance(picture, provenance),
        target=target_image,
        pixel_mse=pixel_v,
        feature_distance=feat_v,
        distance=feat_v + pixel_weight * pixel_v,
        seconds=seconds,
        source_sha256=sha,
        extra={k: v.detach().float().cpu() for k, v in variables.items()},
        provenance=provenance,
    )


def save_latents(
    path: str | os.PathLike[str], projections: Iterable[Projection], model: Model
) -> Any:
    """Write projections' latents as a latents file (``artkit decode``/``interpolate`` read it).

    Each projection's latent is ``mean/<source>`` (other variables ``extra/<name>/<source>``);
    the metadata is ``artkit encode``'s plus how the projection was made.
    """
    import json

    from artkit.api.latents import latents_metadata
    from artkit.checkpoint import save_tensors

    done = list(projections)
    if not done:
        raise UsageError("save_latents: no projections given")
    tensors: dict[str, Any] = {}
    for p in done:
        tensors[f"mean/{p.source}"] = p.latent
        for name, value in p.extra.items():
            tensors[f"extra/{name}/{p.source}"] = value
    keys = [p.source for p in done]
    record = {
        p.source: {
            k: p.provenance.get(k)
            for k in ("source_sha256", "steps", "seed", "features", "pixel_mse", "feature_distance")
            if k in p.provenance
        }
        for p in done
    }
    metadata = latents_metadata(
        model.net,
        model.origin,
        keys,
        **{"artkit.command": "project", "artkit.projection": json.dumps(record, sort_keys=True)},
    )
    return save_tensors(path, tensors, metadata)
