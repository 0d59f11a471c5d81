"""The model contract every registered model follows, typed.

A registry factory (``register_models``) builds an :class:`ArtModel`: a handful of
named networks (``G``, ``D``, ``G_ema``, ``E`` ...) plus a config dataclass. The
checkpoint module saves each network's tensors under its name as a prefix
(``G.net.0.weight``) and the config as JSON, and rebuilds the model from those.

What a model *can do* is a set of capabilities, each a :class:`typing.Protocol`
below, checked at run time with ``isinstance`` (or :meth:`ArtModel.require`, which
turns a missing one into a one-line error naming the commands the model does
support):

- :class:`LatentSampler`: ``z_dim``, ``latents_for_seeds(seeds, truncation)``,
  ``generate(z, **sampling_options)`` and ``sample(n, generator, truncation=...)``;
  :class:`LatentModel` implements everything but ``generate`` once;
- :class:`Encoder`: ``encode(images)`` and ``decode(z)``;
- :class:`Translator`: ``translate(images)``;
- :class:`Stylizer`: ``stylize(images)``;
- :class:`Trainable`: ``configure_optimizers(options)`` and
  ``training_step(batch, step, ctx) -> dict[str, float]``, with ``ctx`` a
  :class:`StepContext`. The generic trainer in :mod:`artkit.train` owns
  everything around the step (loop, devices, precision, DDP, EMA, checkpoints,
  resume, signals, metrics).

Images are float tensors ``(N, C, H, W)`` in ``[-1, 1]`` everywhere here.

Every other attribute the core reads from a model is declared on :class:`ArtModel`
with its default, so a subclass overrides only what differs and the core reads it
as a plain attribute (no ``getattr(model, name, default)`` guessing).

This module imports torch and is only ever imported lazily.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from artkit.errors import CapabilityError, UsageError

CAPABILITIES = ("sample", "encode", "decode", "translate", "stylize")

#: ``artkit train`` options that only adversarial models read. A model that declares
#: :attr:`ArtModel.adversarial_options` has the ones it does not read refused when given.
ADVERSARIAL_OPTIONS = ("lr_d", "d_steps", "r1", "mode_seeking", "augment")

#: Which command uses which capability (for error messages).
COMMANDS_FOR = {
    "sample": ["sample", "interpolate", "render"],
    "encode": ["encode", "reconstruct", "morph"],
    "decode": ["decode"],
    "translate": ["translate"],
    "stylize": ["stylize"],
}


# -- capabilities ------------------------------------------------------------------


@runtime_checkable
class LatentSampler(Protocol):
    """Images from latent vectors: ``artkit sample``, ``interpolate`` and ``render``."""

    @property
    def z_dim(self) -> int:
        """Size of one latent vector."""
        ...

    def latents_for_seeds(self, seeds: list[int], truncation: float = 1.0) -> Tensor:
        """One latent per seed, ``(len(seeds), z_dim)``, each independent of the batch."""
        ...

    def generate(self, z: Tensor, **sampling_options: Any) -> Tensor:
        """Latents -> images; keyword options are the sampler's (render's sweep axes)."""
        ...

    def sample(
        self, n: int, generator: torch.Generator | None = None, *, truncation: float = 1.0
    ) -> Tensor:
        """``n`` images from latents drawn with ``generator``."""
        ...


@runtime_checkable
class Encoder(Protocol):
    """Images to latents and back: ``artkit encode``, ``decode``, ``reconstruct``, ``morph``."""

    def encode(self, images: Tensor) -> Any:
        """Images -> latents (a VAE returns the posterior ``(mean, logvar)``)."""
        ...

    def decode(self, z: Tensor) -> Tensor:
        """Latents -> images."""
        ...


@runtime_checkable
class Translator(Protocol):
    """Image-to-image translation: ``artkit translate``."""

    def translate(self, images: Tensor) -> Tensor:
        """Images of any size -> translated images of the same size."""
        ...


@runtime_checkable
class Stylizer(Protocol):
    """Feed-forward style transfer: ``artkit stylize`` (the style lives in the weights)."""

    def stylize(self, images: Tensor) -> Tensor:
        """Content images -> stylised images of the same shape."""
        ...


@runtime_checkable
class EmbeddingModel(Protocol):
    """Optional: the feature vector ``artkit eval`` takes from a checkpoint (``checkpoint:`` extractor)."""

    def embed(self, images: Tensor) -> Tensor:
        """Images -> ``(N, D)`` features."""
        ...


# -- training ----------------------------------------------------------------------


class StepContext(Protocol):
    """What :meth:`Trainable.training_step` gets as ``ctx`` (the trainer's ``TrainContext``).

    The step calls networks through :meth:`net` (DDP-wrapped and/or compiled when
    enabled), draws all its noise through :meth:`randn` / ``generator`` (so exact
    resume replays it), runs forward passes under :meth:`autocast`, and ends each
    update with :meth:`step_optimizer` (backward, NaN/Inf guard, loss scaling, step).
    """

    #: the parsed ``artkit train`` options (:class:`artkit.train.options.TrainOptions`)
    options: Any
    device: torch.device
    #: the resolved precision (:class:`artkit.device.Precision`)
    precision: Any
    #: the ``--loss`` object from the registry, or None when the model has no default
    loss: Any
    #: the trainer's seeded noise generator, on ``device``
    generator: torch.Generator
    #: rank and world size (:class:`artkit.train.distributed.World`); ``.distributed``
    world: Any
    #: whether batches and networks are in channels_last memory format
    channels_last: bool
    #: the class of each image in this step's batch (int64 ``(N,)`` on ``device``) for a
    #: model with :attr:`ArtModel.num_classes` > 0; None for every other model
    labels: Tensor | None
    #: the style of each image in this step's batch (int64 ``(N,)`` on ``device``) for a
    #: model with :attr:`ArtModel.num_styles` > 0; None for every other model
    styles: Tensor | None
    #: each style's share of the training images (float32 ``(num_styles,)``, summing to 1)
    #: for a model with :attr:`ArtModel.num_styles` > 0; None for every other model
    style_shares: Tensor | None

    def net(self, name: str, *, sync: bool = True) -> nn.Module:
        """The network to call; ``sync=False`` skips DDP for weights whose gradients aren't wanted."""
        ...

    def raw(self, name: str) -> nn.Module:
        """The plain network, for parameters, penalties and ``requires_grad`` toggles."""
        ...

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The mixed-precision context for forward passes."""
        ...

    def randn(self, *shape: int) -> Tensor:
        """Standard normal noise on ``device`` from the trainer's generator."""
        ...

    def augment(self, images: Tensor) -> Tensor:
        """The trainer's per-batch augmentation, if any (identity otherwise)."""
        ...

    def step_optimizer(self, name: str, loss: Tensor) -> None:
        """Backward + step for optimiser ``name``; raises to skip a non-finite step."""
        ...


@runtime_checkable
class Trainable(Protocol):
    """A model ``artkit train`` can train: it says what one step is, the trainer does the rest."""

    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        """Optimisers by name (the names ``ctx.step_optimizer`` takes and resume saves)."""
        ...

    def training_step(self, batch: Tensor, step: int, ctx: StepContext) -> dict[str, float]:
        """One update on ``batch`` (images in [-1, 1]); returns the scalars to log by name."""
        ...


# -- the base class ----------------------------------------------------------------


class ArtModel(nn.Module):
    """Base class: named networks + a config dataclass + optional capabilities.

    Subclasses set ``network_names`` and build those attributes in ``__init__``.
    ``ema_pairs`` maps a trained network to its exponential-moving-average copy
    (``{"G": "G_ema"}``); the trainer keeps the copy up to date, and inference
    methods should use it. The class attributes below are everything else the core
    reads from a model; override the ones that differ.

    An image model's config has ``resolution`` (the trainer builds its dataset at
    that size) and ``channels``. ``resolution`` is an int side for square images
    or ``"HxW"`` (``"64x128"``: 64 rows, 128 columns); read it with
    :func:`artkit.config_checks.image_size`, validate it with
    :func:`artkit.config_checks.check_resolution`. A sampling model also says
    ``image_shape`` ``(C, H, W)``, the shape ``generate`` returns per image.
    """

    #: the networks the checkpoint saves, each under its name as a tensor prefix
    network_names: ClassVar[tuple[str, ...]] = ()
    #: trained network -> its EMA copy, kept by the trainer and used for inference
    ema_pairs: ClassVar[dict[str, str]] = {}
    #: networks the trainer wraps (compile/DDP); empty: those with an optimiser of that name
    trained_networks: ClassVar[tuple[str, ...]] = ()
    #: share of the data the trainer holds out for :meth:`evaluate` (0: no held-out split)
    holdout_fraction: ClassVar[float] = 0.0
    #: prefixes of state (buffers added in a later version) that a checkpoint may lack;
    #: such a file loads with this model's initial values for them
    optional_state: ClassVar[tuple[str, ...]] = ()
    #: which of :data:`ADVERSARIAL_OPTIONS` this model reads (or checks itself): ``artkit
    #: train`` refuses the others with a one-line error rather than ignore them (``--r1``
    #: given to a VAE). None, the default, declares nothing and refuses nothing
    adversarial_options: ClassVar[frozenset[str] | None] = None
    #: the learning rate ``artkit train`` uses without ``--lr`` (GANs 2e-4, VAEs and style nets 1e-3)
    default_lr: ClassVar[float] = 2e-4
    #: the registered loss ``artkit train`` uses without ``--loss`` ("" for none)
    default_loss: ClassVar[str] = ""
    #: the method a loss object must have to fit this model (GANs d_loss, VAEs reconstruction)
    loss_method: ClassVar[str] = "d_loss"
    #: the medium samples are written in (:mod:`artkit.media`): "image", or one a plugin registers
    output_kind: ClassVar[str] = "image"
    #: the extractor ``--eval-every`` uses when none is given (``--eval-features auto``):
    #: "" keeps the default (FID Inception, else random-conv); a model whose samples are
    #: not pictures names its own ("pianoroll"); see :func:`artkit.eval.features.features_for`
    eval_features: ClassVar[str] = ""

    def __init__(self, config: Any, *, registry_name: str = ""):
        super().__init__()
        self.config = config
        self.registry_name = registry_name

    # -- hooks with defaults -----------------------------------------------------------
    def evaluate(self, batch: Tensor) -> dict[str, float]:
        """Held-out metrics for one batch (logged as ``val_*``); none by default."""
        return {}

    def prepare_for_inference(
        self, device: torch.device | str | None = None, precision: str = "auto", **choices: Any
    ) -> Any:
        """Choose how inference runs on ``device`` (precision, compile...); a no-op by default."""
        return None

    @property
    def num_classes(self) -> int:
        """How many classes the model is conditioned on; 0 (the default): none.

        Above 0 the trainer reads the data's class labels (:func:`artkit.data.class_labels`)
        and hands each batch's to the step as ``ctx.labels``; data without labels, or
        with a class at or above this number, is a one-line error before the first step.
        """
        return 0

    @property
    def num_styles(self) -> int:
        """How many styles the model learns to draw in the data's shares; 0 (the default): none.

        Above 0 the trainer reads the data's style labels (:func:`artkit.data.style_labels`)
        and hands each batch's to the step as ``ctx.styles``, and their shares over the
        training images as ``ctx.style_shares``; data without them, or with a style at or
        above this number, is a one-line error before the first step.
        """
        return 0

    def compile_for_training(self) -> bool:
        """Compile this model's own hot paths for ``--compile``; False (the default) lets the
        trainer compile each trained network whole.

        For a model whose cost sits in one pure function (shapegan's painter: a hundred
        elementwise ops that the compiler fuses) where compiling the whole networks
        would also compile what does not pay. Inference stays eager.
        """
        return False

    def after_training(self, images: Iterator[Tensor], ctx: StepContext) -> dict[str, float] | None:
        """Once after the last step, before the final checkpoint: fit what needs the trained
        networks (a VAE's latent prior); a no-op by default.

        ``images``: the training split once, in a seeded random order, as batches
        in [-1, 1]; take as many as needed. Whatever this sets must live in
        tensors the checkpoint saves (registered buffers). Numbers returned (what was
        chosen or measured) go to ``metrics.jsonl`` with the last step.
        """
        return None

    def refuse_unread_options(self, given: Any) -> None:
        """A one-line UsageError for an option of :data:`ADVERSARIAL_OPTIONS` in ``given``
        (the names the user set) that :attr:`adversarial_options` does not declare."""
        if self.adversarial_options is None:
            return
        name = self.registry_name or type(self).__name__
        fields = set(self.config_dict())
        for option in ADVERSARIAL_OPTIONS:
            if option in given and option not in self.adversarial_options:
                hint = (
                    f"; {name} takes it as a model option: {name}:{option}=..."
                    if option in fields
                    else "; leave it out"
                )
                raise UsageError(f"model {name!r} does not use --{option.replace('_', '-')}{hint}")

    # -- capabilities ---------------------------------------------------------
    def capabilities(self) -> list[str]:
        """The inference capabilities (method names in :data:`CAPABILITIES`) this model has."""
        return [c for c in CAPABILITIES if callable(getattr(self, c, None))]

    def require(self, capability: str) -> None:
        """Raise a one-line CapabilityError unless this model has ``capability``."""
        if capability in self.capabilities():
            return
        can = [cmd for c in self.capabilities() for cmd in COMMANDS_FOR.get(c, [])]
        hint = f"it supports: {', '.join(can)}" if can else "it has no inference capability"
        raise CapabilityError(f"model {self.registry_name!r} cannot {capability}; {hint}")

    # -- networks and tensors -------------------------------------------------
    @property
    def networks(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in self.network_names}

    def inference_network(self, name: str) -> nn.Module:
        """The EMA copy of ``name`` when there is one, else the network itself."""
        return getattr(self, self.ema_pairs.get(name, name))

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config) if dataclasses.is_dataclass(self.config) else {}

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")


class LatentModel(ArtModel):
    """An :class:`ArtModel` that samples from a standard normal latent space.

    Subclasses implement :meth:`generate` (latents -> images); this class draws the
    latents, once for every family, so that the image for seed S is the same in
    every command, batch and family: ``latents_for_seeds`` draws each latent from its
    own CPU generator seeded with S (:func:`artkit.device.make_generator`), and
    ``truncation`` scales the draw (a temperature: < 1 gives safer, plainer images).
    ``z_dim`` defaults to ``config.z_dim``.

    A model conditioned on classes (``num_classes`` K > 0) has latents of
    ``z_dim`` = noise + K: the noise, then the class as a one-hot vector, drawn
    uniformly from the same generator after the noise. So a seed names one picture
    of one class everywhere, truncation scales only the noise, and a walk between
    two latents of different classes morphs one class into the other.
    ``class_names`` (from the training data, kept in the checkpoint) lets a class
    be asked for by name: ``label="A"``.
    """

    #: what each class is called (the training data's ``class_names``); () when unnamed
    class_names: tuple[str, ...] = ()

    @property
    def z_dim(self) -> int:
        """Size of one latent vector (``config.z_dim``, plus ``num_classes``)."""
        return int(self.config.z_dim) + self.num_classes

    def latents(
        self, n: int, generator: torch.Generator | None = None, truncation: float = 1.0
    ) -> Tensor:
        """``n`` latents from N(0, I), drawn on the CPU (same on every device), times ``truncation``.

        With classes, each latent ends in the one-hot vector of a uniformly drawn class.
        """
        classes = self.num_classes
        noise = torch.randn(n, self.z_dim - classes, generator=generator) * truncation
        if not classes:
            return noise
        drawn = torch.randint(classes, (n,), generator=generator)
        return torch.cat([noise, self.one_hot(drawn)], dim=1)

    def one_hot(self, classes: Tensor) -> Tensor:
        """Class numbers ``(N,)`` -> the float32 one-hot tail of their latents ``(N, num_classes)``."""
        return torch.nn.functional.one_hot(classes.long(), self.num_classes).float()

    def class_index(self, label: int | str) -> int:
        """A class by number, or by name (``"A"``) where the model knows its classes' names.

        A name wins over a number written as text: glyphs name class 59 ``"7"``.
        """
        k = self.num_classes
        if k <= 0:
            raise UsageError(f"model {self.registry_name!r} is not conditioned on classes")
        if isinstance(label, str):
            if label in self.class_names:
                return self.class_names.index(label)
            if label.strip().lstrip("-").isdigit():
                return self.class_index(int(label))
            known = ", ".join(self.class_names[:12]) + (", ..." if k > 12 else "")
            names = f"one of its names ({known}) or " if self.class_names else ""
            raise UsageError(
                f"label={label!r} is not a class: give {names}a number from 0 to {k - 1}"
            )
        if not isinstance(label, int) or isinstance(label, bool):
            raise UsageError(f"label={label!r} must be a class number from 0 to {k - 1}")
        if not 0 <= label < k:
            raise UsageError(
                f"class {label} is outside 0-{k - 1} (model {self.registry_name!r} has {k} classes)"
            )
        return label

    def with_class(self, z: Tensor, classes: Tensor | int | str) -> Tensor:
        """``z`` with its class part set to ``classes`` (one class by number or name, or a
        tensor of one number per latent)."""
        k = self.num_classes
        if not isinstance(classes, Tensor):
            classes = self.class_index(classes)
        elif k <= 0:
            raise UsageError(f"model {self.registry_name!r} is not conditioned on classes")
        chosen = torch.as_tensor(classes, dtype=torch.long).expand(z.shape[0])
        bad = chosen[(chosen < 0) | (chosen >= k)]
        if len(bad):
            raise UsageError(
                f"class {int(bad[0])} is outside 0-{k - 1} (model {self.registry_name!r} has "
                f"{k} classes)"
            )
        return torch.cat([z[:, : z.shape[1] - k], self.one_hot(chosen).to(z)], dim=1)

    def latents_for_seeds(self, seeds: list[int], truncation: float = 1.0) -> Tensor:
        """One latent per seed: the image for seed S is the same whatever else is in the batch."""
        from artkit.device import make_generator

        return torch.cat([self.latents(1, make_generator(s), truncation) for s in seeds])

    def generate(self, z: Tensor, **sampling_options: Any) -> Tensor:
        """Latents ``(N, z_dim)`` -> images ``(N, C, H, W)`` in [-1, 1], float32."""
        raise NotImplementedError

    def sample(
        self, n: int, generator: torch.Generator | None = None, *, truncation: float = 1.0
    ) -> Tensor:
        """``n`` images from latents drawn with ``generator``."""
        return self.generate(self.latents(n, generator, truncation))
