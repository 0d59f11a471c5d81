"""``fast-style``: a Johnson-style feed-forward style network, trained once per style.

Training (``artkit train fast-style --style STYLE.jpg --data DATASET``) runs in the
generic trainer (:mod:`artkit.train`): checkpoints, exact resume, progress and
metrics come from there; this file says what one step is. Each batch of content
photos goes through the transformation network ``T``
(:class:`artkit_style.nn_transformer.TransformerNet`); a frozen feature extractor
(:func:`artkit_style.nn_extractors.get_extractor`: VGG19 when its weights are
found, else random multi-scale features) compares the output with the photo on
the content layers and with the style image(s)' Gram matrices on the style layers
(Johnson et al. 2016's perceptual losses, normalised as in
:mod:`artkit_style.nn_style_losses`), plus a total-variation term::

    loss = content_weight * content + style_weight * style + tv_weight * tv

(``style_weight`` None, the default, is the extractor's own balanced weight.)

The extractor and the style targets are built on the first step, on the training
device, and never saved: the weights file holds ``T`` alone, and the style is in
the config (``style`` = the paths). The step draws no random numbers, so exact
resume holds (the random-multiscale extractor is fixed-seed).

Recommended optimiser settings are Johnson's: ``--lr 1e-3`` (the trainer's
default 2e-4 is the GAN one: it works, about 5x slower) and batch 4 to 16 at
256 pixels. Adam uses betas (0.9, 0.999): ``TrainOptions.betas`` is a GAN setting.

Inference is :meth:`FastStyle.stylize`; :meth:`FastStyle.prepare_for_inference`
is the one place that chooses bf16 autocast, channels_last and ``torch.compile``
(``benchmarks/stylize.py`` measures exactly that path).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from artkit.errors import UsageError
from artkit.model import ArtModel
from artkit.nn.modes import eval_mode
from artkit_style.configs import FastStyleConfig
from artkit_style.nn_transformer import TransformerNet

__all__ = ["FastStyle", "InferencePlan", "build_fast_style", "load_style_images"]

#: Adam's own defaults, as in Johnson et al.; GAN betas (0.5, 0.999) are wrong here.
ADAM_BETAS = (0.9, 0.999)
#: Johnson et al.'s learning rate (the trainer's default is the GAN one, 2e-4).
RECOMMENDED_LR = 1e-3


def load_style_images(spec: str) -> list[Tensor]:
    """``'a.jpg|sample:coffee'`` -> ``[(1, 3, H, W) in [-1, 1], ...]`` on the CPU.

    ``sample:NAME`` names a bundled sample photo (found through the ``samples`` dataset, which needs
    ``pip install 'artkit[samples]'``). Missing or unreadable files are one-line errors.
    """
    from artkit.images import load_image
    from artkit.torch_images import pil_to_tensor

    parts = [p.strip() for p in (spec or "").split("|") if p.strip()]
    if not parts:
        raise UsageError(
            "fast-style needs a style image: artkit train fast-style --style painting.jpg --data ..."
        )
    out = []
    for part in parts:
        if part.startswith("sample:"):
            image = _sample_image(part.removeprefix("sample:"))
        else:
            image = load_image(part, mode="RGB")
        out.append(pil_to_tensor([image.convert("RGB")], 3))
    return out


def _sample_image(name: str) -> Any:
    # through the library layer: the samples dataset's loader, never artkit_data by name
    from artkit.api.images import load_source_image

    return load_source_image(f"sample:{name}", mode="RGB")


@dataclass
class InferencePlan:
    """How :meth:`FastStyle.stylize` runs: autocast dtype, memory format, compiled forward."""

    device: torch.device
    dtype: torch.dtype | None = None  # autocast dtype; None = plain fp32
    channels_last: bool = False
    compiled: Any = None  # torch.compile(T), or None for eager

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def describe(self) -> str:
        """``"bf16+channels_last+compiled"`` and the like."""
        precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]
        parts = [precision]
        if self.channels_last:
            parts.append("channels_last")
        if self.compiled is not None:
            parts.append("compiled")
        return "+".join(parts)


#: ``compile=None`` compiles when at least this many images are to be stylised: a
#: first compilation takes 20-70 s on a 2-core CPU (1-8 s once inductor's on-disk
#: cache has the kernels) and saves about 0.35 s per 512x512 image there
#: (``benchmarks/stylize.py``): break-even is 5-60 images. On a 2-core CPU with AMX
#: bf16 (Xeon): eager bf16 0.64x the fp32 reference at 512 px, compiled bf16 0.14x, a
#: first compilation 7.3 s (3.0 s from the warm cache): break-even about 12-30 images.
#: Since the transformer's padding and instance norm keep the channels-last layout
#: (session 9), eager bf16 is 0.23x (139 ms) and compiled 0.15x (87 ms): compiling
#: saves 52 ms an image, so break-even is about 60-140 images.
COMPILE_MIN_IMAGES = 100
#: The same on CUDA (an H200, ``benchmarks/stylize.py --device cuda``): compiling takes
#: about 17 s and saves 2.6-15 ms per image (512-2048 px, 0.54-0.70x eager fp32), so
#: break-even is 1,000-6,000 images.
COMPILE_MIN_IMAGES_CUDA = 2000


class FastStyle(ArtModel):
    """One transformation network ``T`` plus the config; capability ``stylize``."""

    network_names = ("T",)
    adversarial_options: ClassVar[frozenset[str] | None] = frozenset()
    ema_pairs: ClassVar[dict[str, str]] = {}
    trained_networks = ("T",)
    # Johnson et al.; the GAN default 2e-4 is slow for this network
    default_lr: ClassVar[float] = RECOMMENDED_LR

    def __init__(self, config: FastStyleConfig, T: TransformerNet, *, registry_name: str):
        super().__init__(config, registry_name=registry_name)
        self.T = T
        # Plain attributes (not submodules): never in state_dict, never moved by .to().
        object.__setattr__(self, "_extractor", None)
        object.__setattr__(self, "_targets", None)
        object.__setattr__(self, "_style_images", None)
        object.__setattr__(self, "_plan", None)

    # -- inference ------------------------------------------------------------------
    def prepare_for_inference(
        self,
        device: torch.device | str | None = None,
        precision: str = "auto",
        *,
        channels_last: bool | None = None,
        compile: bool | None = None,
        images: int | None = None,
        dynamic: bool | None = None,
    ) -> InferencePlan:
        """Choose how :meth:`stylize` runs on ``device``: the one place for these choices.

        Measured by ``benchmarks/stylize.py`` (512x512, batch 1, a 2-core CPU with
        native bf16, against the textbook eager fp32 forward; 1 thread / 2 threads):
        eager bf16 0.56x / 0.89x the time, eager bf16 + channels_last 0.61x / 0.70x,
        compiled fp32 0.54x / 0.52x, compiled bf16 (+ channels_last) 0.25x / 0.23x.
        Since padding and instance norm keep the channels-last layout (an AMX Xeon,
        2 threads): eager bf16 + channels_last 0.23x, compiled 0.15x.

        On an H200 (batch 1, 256-2048 px) eager fp32 NCHW was the fastest uncompiled
        choice at every size: bf16 1.29-1.48x its time, channels_last 1.11-1.49x, both
        1.33-1.87x; compiled fp32 0.54-0.70x.

        - ``precision``: ``auto`` is :func:`artkit.device.resolve_precision`'s choice
          (bf16 on CPUs with native bf16, else fp32), except on CUDA: fp32 (above).
        - ``channels_last``: default on for a CPU with bf16 only (eager fp32 NHWC
          measured up to 1.6x *slower* than NCHW on the CPU, 1.5x on CUDA: instance
          norm and reflection padding have no fast NHWC kernels; compiled, it is even).
        - ``compile``: ``torch.compile`` the network (inductor). ``None`` (auto)
          compiles when ``images`` (how many will be stylised) is at least
          :data:`COMPILE_MIN_IMAGES` (:data:`COMPILE_MIN_IMAGES_CUDA` on CUDA).
          ``dynamic`` goes to ``torch.compile``: the default compiles for the first
          image size and, when a second size comes, once more for any size. A compiler failure falls back to eager with a
          one-line notice.
        """
        from artkit.device import resolve_device, resolve_precision

        dev = device if isinstance(device, torch.device) else resolve_device(device or "auto")
        if dev.type == "cuda" and (precision or "auto").lower() == "auto":
            precision = "fp32"
        prec = resolve_precision(precision, dev)
        if channels_last is None:
            channels_last = dev.type == "cpu" and prec.dtype is not None
        if compile is None:
            least = COMPILE_MIN_IMAGES_CUDA if dev.type == "cuda" else COMPILE_MIN_IMAGES
            compile = images is not None and images >= least
        self.to(dev)
        self.eval()
        self.T.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        compiled = None
        if compile:
            # inductor logs "No CUDA runtime is found" on CPU-only machines: not news to a user
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
            compiled = torch.compile(self.T, dynamic=dynamic)
        plan = InferencePlan(dev, prec.dtype, channels_last, compiled)
        object.__setattr__(self, "_plan", plan)
        return plan

    @property
    def inference_plan(self) -> InferencePlan | None:
        """What :meth:`prepare_for_inference` chose (None: plain fp32 eager)."""
        return self._plan

    def _run(self, plan: InferencePlan, x: Tensor) -> Tensor:
        if plan.compiled is not None:
            try:
                with plan.autocast():
                    return plan.compiled(x)
            except Exception as exc:  # no C++ compiler, unsupported op, ...
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                print(
                    f"artkit: notice: torch.compile failed ({first[:200]}); running uncompiled",
                    file=sys.stderr,
                    flush=True,
                )
                plan.compiled = None
        with plan.autocast():
            return self.T(x)

    @torch.no_grad()
    def stylize(self, images: Tensor) -> Tensor:
        """``(N, 3, H, W)`` in [-1, 1] -> the stylised images, same shape, float32.

        Runs as :meth:`prepare_for_inference` set up, else plain fp32 on the model's device.
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise UsageError(
                f"fast-style stylises (N, 3, H, W) RGB images, got shape {tuple(images.shape)}"
            )
        with eval_mode(self.T):
            plan = self._plan
            if plan is None:
                return self.T(images.to(self.device, torch.float32)).float().contiguous()
            x = images.to(plan.device, torch.float32)
            if plan.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            return self._run(plan, x).float().contiguous()

    # -- training -------------------------------------------------------------------
    def configure_optimizers(self, options: Any) -> dict[str, torch.optim.Optimizer]:
        # Load the style images now: a missing file is an error before any step runs.
        object.__setattr__(self, "_style_images", load_style_images(self.config.style))
        from artkit.nn.optim import adam

        return {"T": adam(self.T.parameters(), lr=options.lr, betas=ADAM_BETAS)}

    def _losses_setup(
        self, device: torch.device, channels_last: bool = False
    ) -> tuple[Any, dict[str, Tensor]]:
        if self._extractor is None or self._targets is None:
            from artkit_style.nn_extractors import get_extractor
            from artkit_style.nn_style_losses import style_targets

            # Building modules draws default initialisations from the global RNG, which
            # the trainer saves for exact resume: keep it untouched (the extractor is
            # built once per process, so a resumed run would otherwise diverge).
            cuda = [device.index or 0] if device.type == "cuda" else []
            with torch.random.fork_rng(devices=cuda):
                extractor = get_extractor(self.config.extractor, device=device)
            if channels_last:
                extractor.to(memory_format=torch.channels_last)
            images = self._style_images
            if images is None:
                images = load_style_images(self.config.style)
            targets = style_targets(
                extractor, images, None, extractor.style_layers, self.config.style_size
            )
            object.__setattr__(self, "_extractor", extractor)
            object.__setattr__(self, "_targets", targets)
        return self._extractor, self._targets

    def perceptual_losses(self, content: Tensor, ctx: Any = None) -> dict[str, Tensor]:
        """Content, style and TV losses of ``T(content)`` (tensors, for backward)."""
        from artkit_style.nn_style_losses import content_loss, style_loss, tv_loss

        device = content.device
        extractor, targets = self._losses_setup(
            device, channels_last=bool(ctx is not None and ctx.channels_last)
        )
        T = ctx.net("T") if ctx is not None else self.T
        autocast = ctx.autocast() if ctx is not None else contextlib.nullcontext()
        content_layers = list(extractor.content_layers)
        style_layers = list(extractor.style_layers)
        wanted = sorted(set(content_layers) | set(style_layers), key=extractor.layers.index)
        with autocast:
            with torch.no_grad():
                content_feats = extractor(content, content_layers)
            output = T(content)
            feats = extractor(output, wanted)
        c = content_loss(feats, content_feats, content_layers)
        s = style_loss(feats, targets, style_layers)
        tv = tv_loss(output)
        cfg = self.config
        style_weight = cfg.resolved_style_weight(extractor)  # None: the extractor's default
        total = cfg.content_weight * c + style_weight * s + cfg.tv_weight * tv
        return {"loss": total, "content": c, "style": s, "tv": tv}

    def training_step(self, batch: Tensor, step: int, ctx: Any) -> dict[str, float]:
        if ctx.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        losses = self.perceptual_losses(batch, ctx)
        ctx.step_optimizer("T", losses["loss"])
        return {k: float(v.detach()) for k, v in losses.items()}


def build_fast_style(**options: Any) -> FastStyle:
    cfg = FastStyleConfig(**options)
    return FastStyle(
        cfg,
        TransformerNet(cfg.width, cfg.residual_blocks, cfg.channels),
        registry_name="fast-style",
    )
