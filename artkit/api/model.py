"""``artkit.load(spec)``: a model from Python, with the CLI's pixels and provenance.

:class:`Model` wraps a registry model opened by :func:`artkit.api.models.open_model`
on a device and precision (``auto`` as on the command line). Each method uses one
capability; a model without it raises a one-line
:class:`~artkit.errors.CapabilityError` naming what it can do. Images go in and
come out as PIL images; sampled images carry the provenance ``artkit sample``
writes (``image.info["artkit"]``), which :func:`artkit.save` stores in the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from artkit.errors import UsageError

if TYPE_CHECKING:
    from PIL import Image

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def load(spec: str | os.PathLike[str], device: str = "auto", precision: str = "auto") -> Model:
    """Open ``spec`` (weights.safetensors, a run folder, or a model spec like ``dcgan:resolution=32``)."""
    from artkit.api.models import open_model, weights_file
    from artkit.device import resolve_device, resolve_precision

    text = os.fspath(spec)
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    net, origin = open_model(text, dev)
    net.eval()
    if origin.get("checkpoint"):
        # absolute, so `artkit reproduce` finds the weights from wherever the image is saved
        origin["checkpoint_path"] = str(weights_file(text).resolve())
    return Model(net, origin, dev, prec)


def _items(images: Any) -> list[Any]:
    """One PIL image or path, or a sequence of them -> a list."""
    from PIL import Image

    return [images] if isinstance(images, Image.Image | str | os.PathLike) else list(images)


def _images(images: Any, mode: str | None = "RGB") -> list[Any]:
    """PIL images, paths or ``sample:NAME`` -> PIL images (paths loaded in ``mode``)."""
    from PIL import Image

    from artkit.api.images import load_source_image

    return [
        im if isinstance(im, Image.Image) else load_source_image(os.fspath(im), mode=mode)
        for im in _items(images)
    ]


class Model:
    """A loaded model: ``sample``, ``encode``, ``decode``, ``morph``, ``translate``, ``stylize``."""

    def __init__(self, net: Any, origin: dict[str, Any], device: Any, precision: Any):
        self.net = net  #: the registry model (an :class:`artkit.model.ArtModel`)
        self.origin = origin  #: checkpoint name + sha256, or model spec + seed
        self.device = device
        self.precision = precision

    # -- what it is -------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The registry name (``dcgan``, ``vae``, ...)."""
        return str(self.net.registry_name)

    @property
    def config(self) -> dict[str, Any]:
        """The model's configuration as a dict."""
        return dict(self.net.config_dict())

    @property
    def capabilities(self) -> list[str]:
        """What it can do: some of sample, encode, decode, translate, stylize."""
        return list(self.net.capabilities())

    def __repr__(self) -> str:
        return f"<artkit.Model {self.name} on {self.device} ({', '.join(self.capabilities)})>"

    def provenance(self, command: str, **extra: Any) -> dict[str, Any]:
        """What an image made by ``command`` records: the keys the CLI command writes."""
        from artkit import __version__

        return {
            "artkit": __version__,
            "command": command,
            "model": self.name,
            "config": self.config,
            **extra,
            "device": self.device.type,
            "precision": self.precision.name,
            **self.origin,
        }

    # -- sampling ---------------------------------------------------------------------
    def sample(
        self,
        seeds: Iterable[int] | str | int = range(16),
        truncation: float = 1.0,
        *,
        batch_size: int = 64,
        **options: Any,
    ) -> list[Image.Image]:
        """One image per seed (``range(16)``, ``[3, 7]`` or ``"0-99,120"``), as ``artkit sample``.

        ``truncation`` scales latents toward the mean; other keyword arguments go to
        the model's own sampler (as a series' sweep axes do). Each image carries its
        provenance, ``seed`` included.
        """
        from artkit.api.output import attach_provenance
        from artkit.api.seeds import parse_seed_ranges

        given = seeds if isinstance(seeds, str | int) else list(seeds)
        seed_list = parse_seed_ranges(given, key="seeds")
        base = self.provenance(
            "sample", truncation=truncation, **({"options": options} if options else {})
        )
        from artkit.media import ImageMedium, medium_of

        # pictures carry their provenance in image.info; another medium's items (a
        # plugin's MIDI, say) come as that medium makes them
        is_image = medium_of(self.net) is ImageMedium
        out: list[Any] = []
        for batch, images in self.batches(seed_list, truncation, batch_size, **options):
            for image, seed in zip(images, batch, strict=True):
                out.append(attach_provenance(image, {**base, "seed": seed}) if is_image else image)
        return out

    def batches(
        self, seeds: Iterable[int], truncation: float = 1.0, batch_size: int = 64, **options: Any
    ) -> Iterator[tuple[list[int], list[Image.Image]]]:
        """``(seeds, images)`` a batch at a time, lazily: what ``artkit sample`` streams to files.

        The batch's latents come from ``latents_for_seeds`` and go through ``generate``
        whole, with the options ``generate`` takes (a class ``label``, a painting
        ``width``); with options only ``sample`` takes, each image comes from the
        model's own seeded sampler.
        """
        import torch

        from artkit.media import medium_of, to_items
        from artkit.render.models import check_sampler_options, sample_one, sampling_keywords

        self.net.require("sample")
        check_sampler_options(self.net, list(options))
        if batch_size < 1:
            raise UsageError("batch_size must be at least 1")
        from artkit.model import LatentSampler  # torch is loaded by now

        batched = isinstance(self.net, LatentSampler)
        if batched and options:
            accepted, rest = sampling_keywords(self.net)
            batched = all(accepted.get(k, rest) == "generate" for k in options)
        it = iter(seeds)
        while batch := list(islice(it, batch_size)):
            with torch.inference_mode(), self.precision.autocast(self.device):
                if batched:
                    z = self.net.latents_for_seeds(batch, truncation)
                    images = self.net.generate(z, **options)
                else:
                    images = torch.cat(
                        [sample_one(self.net, s, truncation, options) for s in batch]
                    )
            yield batch, to_items(medium_of(self.net), images, model=self.net)

    def save_samples(
        self,
        seeds: Iterable[int] | str | int,
        out: str | os.PathLike[str],
        truncation: float = 1.0,
        *,
        format: str = "png",
        audio: bool = False,
        batch_size: int = 64,
        **options: Any,
    ) -> list[Any]:
        """Write one file per seed into folder ``out``, as ``artkit sample`` does; their paths.

        Files are in the model's medium (images as ``format``: png, webp or jpg; a
        plugin's medium, such as MIDI, in its own) with provenance inside. ``audio=True``
        asks the medium to render sound too (``artkit sample --audio``): a one-line
        error for a medium without it. Other keyword arguments go to the model's
        sampler, as for :meth:`sample`. Files are encoded in threads while the next
        batch is generated; a file in ``out`` that artkit did not write is never
        replaced (a one-line error before anything is written; see
        :mod:`artkit.api.sample_files`).
        """
        from pathlib import Path

        from artkit.api.output import image_format
        from artkit.api.sample_files import write_samples
        from artkit.api.seeds import parse_seed_ranges
        from artkit.media import ImageMedium, medium_of

        folder = Path(out)
        given = seeds if isinstance(seeds, str | int) else list(seeds)
        seed_list = parse_seed_ranges(given, key="seeds")
        suffix = None
        if medium_of(self.net) is ImageMedium:
            suffix = "." + image_format(format, key="format")
        base = self.provenance(
            "sample", truncation=truncation, **({"options": options} if options else {})
        )
        if "checkpoint_path" in base:  # relative, as `artkit sample` writes it, so a run
            # folder moved with its samples still reproduces
            base["checkpoint_path"] = os.path.relpath(base["checkpoint_path"], folder)
        written = write_samples(
            self,
            seed_list,
            folder,
            base,
            suffix=suffix,
            truncation=truncation,
            batch_size=batch_size,
            audio=audio,
            **options,
        )
        return [path for path, _ in written]

    def walk(
        self,
        seeds: Iterable[int] | str = (0, 1, 2),
        frames: int = 60,
        *,
        slerp: bool = True,
        loop: bool = True,
        truncation: float = 1.0,
    ) -> list[Any]:
        """``frames`` images along a path through the latents of ``seeds``, as ``artkit interpolate``.

        The path goes through the seeds in order (and back to the first when ``loop``,
        so an animation repeats seamlessly), spherically when ``slerp``. Write the
        frames with :func:`artkit.animation.write_animation` (GIF, WebP, APNG, MP4).
        """
        from artkit.api.seeds import parse_seed_ranges

        given = seeds if isinstance(seeds, str) else list(seeds)
        keys = list(parse_seed_ranges(given, key="seeds"))
        if len(keys) < 2:
            raise UsageError("a walk needs at least two seeds")
        self._require_latent_sampler()
        return self.walk_latents(
            self.net.latents_for_seeds(keys, truncation), frames, slerp=slerp, loop=loop
        )

    def walk_latents(
        self, keys: Any, frames: int = 60, *, slerp: bool = True, loop: bool = True
    ) -> list[Any]:
        """:meth:`walk` through key latents ``(K, z_dim)`` (``artkit project``'s, say)."""
        import torch

        from artkit.api.latents import walk
        from artkit.media import is_image, medium_of, to_items
        from artkit.torch_images import to_pil

        if frames < 2:
            raise UsageError("frames must be at least 2")
        self._require_latent_sampler()
        path = walk(torch.as_tensor(keys, dtype=torch.float32), frames, slerp=slerp, loop=loop)
        medium = medium_of(self.net)
        out: list[Any] = []
        with torch.inference_mode(), self.precision.autocast(self.device):
            for chunk in path.split(64):
                made = self.net.generate(chunk.to(self.device))
                if is_image(medium):
                    out.extend(to_pil(made))
                else:  # another medium's items (MIDI bars), as it makes them
                    out.extend(to_items(medium, made.float().cpu(), model=self.net))
        return out

    def _require_latent_sampler(self) -> None:
        from artkit.model import LatentSampler

        if not isinstance(self.net, LatentSampler):
            self.net.require("sample")  # a one-line CapabilityError naming what it can do

    def latents(self, seeds: Iterable[int] | str | int, truncation: float = 1.0) -> Any:
        """The latent vectors ``sample`` draws for ``seeds`` (a tensor, one row per seed)."""
        from artkit.api.seeds import parse_seed_ranges

        self.net.require("sample")
        given = seeds if isinstance(seeds, str | int) else list(seeds)
        return self.net.latents_for_seeds(list(parse_seed_ranges(given, key="seeds")), truncation)

    # -- latents <-> images -----------------------------------------------------------
    def prepare(self, image: Any) -> Any:
        """An input image (PIL, path or ``sample:NAME``) as the model sees it.

        The model's aspect (centre crop), model-sized (Lanczos), in the model's mode: what
        ``artkit encode`` / ``reconstruct`` / ``morph`` feed the encoder.
        """
        from PIL import Image, ImageOps

        from artkit.config_checks import image_size

        cfg = self.net.config
        if hasattr(image, "shape") and hasattr(image, "dtype"):
            return image  # already a non-image medium's array (see _medium_array)
        medium_array = self._medium_array(image)
        if medium_array is not None:
            return medium_array
        (h, w), mode = image_size(cfg.resolution), _MODES[int(cfg.channels)]
        [im] = _images(image, mode=mode)
        if im.mode != mode:
            im = im.convert(mode)
        if im.size != (w, h):  # centre-cropped to the model's aspect ("HxW" models too)
            im = ImageOps.fit(im, (w, h), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
        return im

    def _medium_array(self, item: Any) -> Any:
        """A file of the model's own non-image medium (a MIDI file for a music model) as the
        uint8 ``(H, W, C)`` array the model's datasets give, through ``load_array``; else None."""
        from artkit.media import is_image, medium_for_path, medium_of, require

        if not isinstance(item, str | os.PathLike):
            return None
        medium = medium_of(self.net)
        if is_image(medium) or medium_for_path(item) is not medium:
            return None
        load = require(medium, "load_array", "way to read its files back (load_array)")
        cfg = self.net.config
        return load(os.fspath(item), int(cfg.channels), cfg.resolution)

    def posterior(self, images: Any) -> tuple[Any, Any]:
        """Images -> ``(mean, logvar)`` of the latent posterior, float32 CPU tensors."""
        import torch

        from artkit.torch_images import pil_to_tensor

        self.net.require("encode")
        pictures = [self.prepare(im) for im in _items(images)]
        if any(not hasattr(p, "convert") for p in pictures):  # a non-image medium's arrays
            import numpy as np

            from artkit.torch_images import from_uint8

            arrays = np.stack([np.asarray(p, dtype=np.uint8) for p in pictures])
            batch = from_uint8(torch.from_numpy(arrays).permute(0, 3, 1, 2))
        else:
            batch = pil_to_tensor(pictures, int(self.net.config.channels))
        with torch.inference_mode(), self.precision.autocast(self.device):
            mean, logvar = self.net.encode(batch)
        return mean.float().cpu(), logvar.float().cpu()

    def encode(self, images: Any) -> Any:
        """Images (PIL, paths or ``sample:NAME``) -> latent means, a float32 CPU tensor ``(N, z_dim)``."""
        return self.posterior(images)[0]

    def decode(self, latents: Any) -> list[Image.Image]:
        """Latents ``(N, z_dim)`` -> images."""
        import torch

        from artkit.media import medium_of, to_items

        self.net.require("decode")
        z = torch.as_tensor(latents, dtype=torch.float32)
        z = z.unsqueeze(0) if z.dim() == 1 else z
        medium = medium_of(self.net)
        out: list[Image.Image] = []
        with torch.inference_mode(), self.precision.autocast(self.device):
            for chunk in z.split(64):
                # images: PIL pictures; another medium (MIDI): its items
                out.extend(to_items(medium, self.net.decode(chunk).float().cpu(), model=self.net))
        return out

    def morph(self, a: Any, b: Any, frames: int = 30, *, slerp: bool = False) -> list[Image.Image]:
        """``frames`` images morphing from ``a`` to ``b`` through the latent space."""
        from artkit.api.latents import walk

        if frames < 2:
            raise UsageError("frames must be at least 2")
        self.net.require("encode")
        self.net.require("decode")
        mean = self.encode([*_items(a), *_items(b)])
        return self.decode(walk(mean, frames, slerp=slerp, loop=False))

    def project(self, images: Any, *, steps: int = 300, seed: int = 0, **options: Any) -> list[Any]:
        """Find the latent a GAN draws each picture from (``artkit project``).

        Returns :class:`~artkit.api.project.Projection` records (latent,
        reconstruction, distances); ``options`` are :func:`artkit.api.project.project`'s.
        """
        from artkit.api.project import project

        return list(project(self, images, steps=steps, seed=seed, **options))

    # -- image to image ---------------------------------------------------------------
    def translate(self, images: Any, **options: Any) -> list[Image.Image]:
        """Images (PIL or paths) through an image-to-image model, each at its own size."""
        import torch

        from artkit.torch_images import pil_to_tensor, to_pil

        self.net.require("translate")
        out: list[Image.Image] = []
        for im in _images(images, mode=None):
            channels = 4 if im.mode == "RGBA" else 1 if im.mode == "L" else 3
            x = pil_to_tensor([im], channels).to(self.device)
            with torch.inference_mode():
                out.extend(to_pil(self.net.translate(x, **options).float().cpu()))
        return out

    def stylize(self, images: Any, *, size: int | None = None) -> list[Image.Image]:
        """Content images (PIL, paths or ``sample:NAME``) through a fast-style network."""
        import torch

        from artkit.api.images import resize_longest, restore_alpha
        from artkit.torch_images import pil_to_tensor, to_pil

        self.net.require("stylize")
        out: list[Image.Image] = []
        for original in _images(images):
            image = resize_longest(original, size)
            batch = pil_to_tensor([image.convert("RGB")], 3)
            with torch.inference_mode():
                styled = self.net.stylize(batch.to(self.device))
            out.append(restore_alpha(to_pil(styled.float().cpu())[0], image))
        return out
