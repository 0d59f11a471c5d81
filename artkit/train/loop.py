"""The generic training loop.

:class:`Trainer` drives any :class:`artkit.model.ArtModel` that implements
``configure_optimizers(options) -> dict[str, Optimizer]`` and
``training_step(batch, step, ctx) -> dict[str, float]``. It owns:

- the data order (a DistributedSampler per epoch, seeded: exact resume needs no
  saved data-loader state, only the step);
- devices, autocast precision, channels_last, torch.compile and DDP wrapping
  (through :class:`TrainContext`, which the step uses to reach its networks);
- EMA copies (``model.ema_pairs``), the NaN/Inf guard, checkpoints (atomic,
  never NaN), exact resume, SIGINT/SIGTERM, progress, metrics.jsonl and sample
  grids with fixed latents;
- the learning-rate schedule (:mod:`artkit.train.schedule`: every group's rate is
  its configured rate times a factor of the step, set before each step) and
  evaluation with early stopping (:mod:`artkit.train.evaluation`, ``--patience``).

Run folder: ``config.json``, ``weights.safetensors``, ``state.safetensors``,
``metrics.jsonl``, ``samples/step-000500.png``.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from artkit import __version__
from artkit.allocator import tune_allocator
from artkit.checkpoint import (
    class_names_fit,
    load_state_checked,
    load_tensors,
    read_header,
    save_model,
    save_tensors,
)
from artkit.device import Precision, make_generator, resolve_device, resolve_precision
from artkit.errors import ArtkitError, CheckpointError, UsageError
from artkit.model import ArtModel
from artkit.nn.modes import eval_mode
from artkit.torch_images import from_uint8, to_uint8
from artkit.train import state as train_state
from artkit.train.augment import augment_batch, parse_ops
from artkit.train.distributed import World, all_flag, init_world, shutdown
from artkit.train.options import TrainOptions
from artkit.train.progress import Progress


class TrainingStopped(ArtkitError):
    """Training could not go on (too many non-finite steps); the last good checkpoint is kept."""


class NonFiniteLoss(Exception):
    """Raised inside a step to skip it: a loss or gradient was NaN/Inf."""


@dataclass
class TrainResult:
    step: int
    reason: str  # "done", "time", "interrupted", "early-stop" (--patience)
    out_dir: Path
    seconds: float
    images_per_second: float


class TrainContext:
    """What a model's ``training_step`` may use: networks, precision, noise, optimiser steps.

    This is the ``ctx`` of :class:`artkit.model.Trainable`; :class:`artkit.model.StepContext`
    is its typed, documented outline (keep the two in step).
    """

    def __init__(self, trainer: Trainer):
        self._t = trainer
        self.options: TrainOptions = trainer.options
        self.device: torch.device = trainer.device
        self.precision: Precision = trainer.precision
        self.loss: Any = trainer.loss
        self.generator: torch.Generator = trainer.noise
        self.world: World = trainer.world
        self.channels_last: bool = trainer.channels_last
        #: this step's class labels, for a model with ``num_classes`` (set before each step)
        self.labels: torch.Tensor | None = None
        #: this step's style labels, for a model with ``num_styles`` (set before each step)
        self.styles: torch.Tensor | None = None
        #: each style's share of the training images, for a model with ``num_styles``
        self.style_shares: torch.Tensor | None = trainer.style_shares

    def net(self, name: str, *, sync: bool = True) -> torch.nn.Module:
        """The network to call in the step: DDP-wrapped and/or compiled when enabled.

        ``sync=False`` skips the DDP wrapper: for a forward pass whose weight
        gradients are not wanted (D in the generator's step), which DDP would
        otherwise wait for.
        """
        nets = self._t.forward_nets if sync else self._t.local_nets
        net = nets.get(name)  # not `or`: a compiled module's truth value is its len()
        return net if net is not None else getattr(self._t.model, name)

    def raw(self, name: str) -> torch.nn.Module:
        """The plain network (for parameters, gradient penalties and requires_grad toggles)."""
        return getattr(self._t.model, name)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return self.precision.autocast(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator, device=self.device)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        fn = self._t.augment_fn
        return fn(images, generator=self.generator) if fn is not None else images

    def step_optimizer(self, name: str, loss: torch.Tensor) -> None:
        """Backward + step for optimiser ``name``; raises NonFiniteLoss to skip the step."""
        opt = self._t.optimizers[name]
        # Every rank must take the same decision, or DDP's gradient all-reduce
        # would pair a skipping rank with a stepping one and deadlock or abort.
        bad = all_flag(self.world, not bool(torch.isfinite(loss.detach()).all()), self.device)
        if bad:
            opt.zero_grad(set_to_none=True)
            raise NonFiniteLoss(f"{name} loss is {loss.detach().float().mean().item()}")
        scaler = self._t.scaler
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)  # the scaler skips steps with inf/NaN grads itself
            scaler.update()
        else:
            loss.backward()
            params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
            norm = torch.nn.utils.clip_grad_norm_(params, float("inf"), foreach=True)
            if all_flag(self.world, not bool(torch.isfinite(norm)), self.device):
                opt.zero_grad(set_to_none=True)
                raise NonFiniteLoss(f"{name} gradients are not finite")
            opt.step()
        opt.zero_grad(set_to_none=True)


class Batches:
    """Seeded per-epoch order over an in-memory uint8 tensor, sharded by rank.

    ``labels`` and ``styles`` (int64, one per image), when given, are batched in the
    same order.
    """

    def __init__(
        self,
        images: torch.Tensor,
        batch_size: int,
        world: World,
        seed: int,
        labels: torch.Tensor | None = None,
        styles: torch.Tensor | None = None,
    ):
        self.images, self.batch_size = images, batch_size
        self.labels, self.styles = labels, styles
        self.sampler = DistributedSampler(
            range(len(images)),
            num_replicas=world.size,
            rank=world.rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        self.per_epoch = len(self.sampler) // batch_size
        if self.per_epoch == 0:
            raise UsageError(
                f"the dataset has {len(images)} images, fewer than one batch of {batch_size} "
                f"per process ({world.size} process(es)); lower --batch-size"
            )
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Step ``step``'s images in [-1, 1], their labels and their styles (None without)."""
        epoch, index = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self.sampler.set_epoch(epoch)
            self._order = torch.tensor(list(iter(self.sampler)), dtype=torch.long)
            self._epoch = epoch
        idx = self._order[index * self.batch_size : (index + 1) * self.batch_size].to(
            self.images.device
        )
        labels = None if self.labels is None else self.labels.index_select(0, idx)
        styles = None if self.styles is None else self.styles.index_select(0, idx)
        return from_uint8(self.images.index_select(0, idx)), labels, styles


class Trainer:
    def __init__(
        self,
        model: ArtModel,
        source: Any,
        options: TrainOptions,
        out_dir: str | Path,
        *,
        run_config: dict[str, Any] | None = None,
        resume: bool = False,
        quiet: bool = False,
        loss: Any = None,
        augment_fn: Any = None,
    ):
        self.model, self.source, self.options = model, source, options
        self.out_dir = Path(out_dir)
        self.run_config = run_config or {}
        self.resume, self.quiet = resume, quiet
        self.loss, self.augment_fn = loss, augment_fn
        self.device = resolve_device(options.device)
        self.precision = resolve_precision(options.precision, self.device)
        self.world = init_world(self.device)
        self.channels_last = (
            options.channels_last
            if options.channels_last is not None
            else self.device.type in ("cuda", "cpu")
        )
        self.scaler = (
            torch.amp.GradScaler(self.device.type) if self.precision.needs_scaler else None
        )
        self.step = 0
        self._stop_signal: str | None = None
        self.eval_best: float | None = None  # the best --eval-metric so far (kept on resume)
        self.eval_best_step: int | None = None  # the step it was reached at (kept on resume)
        self.eval_stale = 0  # evaluations in a row without improvement (kept on resume)
        self.early_stop: str | None = None  # why --patience stopped the run, once it has
        self.eval_metric = options.eval_metric  # resolved in _prepare ("auto" -> val or fd)
        self._val_cache: tuple[int, dict[str, float]] | None = None
        self._eval: Any = None  # artkit.train.evaluation.TrainingEval, made at start
        self.fingerprint = source.fingerprint() if hasattr(source, "fingerprint") else None
        self.data_ops = parse_ops(options.data_augment)

    # -- setup ----------------------------------------------------------------
    def _prepare(self) -> None:
        if self.device.type == "cpu":
            tune_allocator()  # keep freed activations in the heap: 10-18% a CPU step
        torch.manual_seed(self.options.seed + self.world.rank)
        self.noise = torch.Generator(device=self.device)
        self.noise.manual_seed(self.options.seed * 7919 + self.world.rank)
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.model.train()
        for dst in self.model.ema_pairs.values():
            getattr(self.model, dst).eval().requires_grad_(False)
        self.optimizers = self.model.configure_optimizers(self.options)
        # Each group's rate as configured: the schedule scales it, and a resumed
        # optimiser's groups hold the last scaled rate, not this one.
        self.base_lrs = {
            name: [float(g["lr"]) for g in opt.param_groups]
            for name, opt in self.optimizers.items()
        }
        from artkit.train.schedule import parse_schedule

        self.schedule = parse_schedule(self.options.lr_schedule, self.options.warmup)
        data, labels, styles = self._load_data(), self._load_labels(), self._load_styles()
        data, self.holdout, (labels, styles) = self._split_holdout(data, labels, styles)
        #: each style's share of the training split (``ctx.style_shares``), or None
        self.style_shares: torch.Tensor | None = None
        if styles is not None:
            counts = torch.bincount(styles, minlength=int(self.model.num_styles))
            self.style_shares = (counts / counts.sum()).float()
        self.batches = Batches(
            data, self.options.batch_size, self.world, self.options.seed, labels, styles
        )
        if self.resume:
            self._load_checkpoint()
        elif self.model.ema_pairs:
            self._copy_ema()  # G_ema starts equal to G
        self.forward_nets: dict[str, torch.nn.Module] = {}
        self.local_nets: dict[str, torch.nn.Module] = {}
        trained = self.model.trained_networks or [
            n for n in self.optimizers if n in self.model.network_names
        ]
        # a model that compiles its own hot paths gets its networks uncompiled
        compile_nets = self.options.compile and not self.model.compile_for_training()
        for name in trained:
            net: torch.nn.Module = getattr(self.model, name)
            local = torch.compile(net) if compile_nets else net
            if self.world.distributed:
                from torch.nn.parallel import DistributedDataParallel as DDP

                ids = [self.device.index] if self.device.type == "cuda" else None
                with warnings.catch_warnings():
                    # rank-local buffers (BatchNorm stats, spectral-norm vectors) are
                    # intended; newer torch warns about the old spelling of that
                    warnings.simplefilter("ignore", FutureWarning)
                    ddp = DDP(net, device_ids=ids, broadcast_buffers=False)
                net = torch.compile(ddp) if compile_nets else ddp
            else:
                net = local
            self.forward_nets[name], self.local_nets[name] = net, local
        self.ctx = TrainContext(self)
        if self.options.eval_every:
            metric = self.options.eval_metric
            if metric == "auto":
                metric = "val" if self.holdout is not None else "fd"
            if metric == "val" and self.holdout is None:
                raise UsageError(
                    f"--eval-metric val: model {self.model.registry_name!r} has no held-out split "
                    f"(models with one, such as VAEs and pix2pix, set it aside from 20 images up)"
                )
            if metric != "val":
                self.model.require("sample")  # a one-line error before the first step
            self.eval_metric = metric
            # scored samples are logged whenever the model samples, also when val ranks
            if self.world.is_main and "sample" in self.model.capabilities():
                from artkit.train.evaluation import TrainingEval

                # features and the training images' statistics, once
                self._eval = TrainingEval(self)

    def _load_data(self) -> torch.Tensor:
        array = self.source.as_array() if hasattr(self.source, "as_array") else None
        if array is None:
            import numpy as np

            array = np.stack([self.source[i] for i in range(len(self.source))])
        if not array.flags.writeable:  # torch wants writable memory; one copy at start-up
            array = array.copy()
        images = torch.from_numpy(array).permute(0, 3, 1, 2)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images.to(self.device)

    def _load_labels(self) -> torch.Tensor | None:
        """The data's class labels for a model conditioned on classes; None for the others."""
        classes = int(self.model.num_classes)
        if classes <= 0:
            return None
        from artkit.data import class_labels

        name = self.model.registry_name
        labels = class_labels(self.source)
        if labels is None:
            raise UsageError(
                f"model {name!r} is conditioned on {classes} classes (classes={classes}) but "
                f"this data has no class labels; use classes=0, or labelled data (glyphs, "
                f"shapes, idx with a label file)"
            )
        self._check_label_range(labels, classes, "classes", "labels")
        names = getattr(self.source, "class_names", None)
        if isinstance(names, list | tuple) and 0 < len(names) <= classes:
            # classes the data leaves unnamed go by their numbers; names a checkpoint could
            # not hold back (empty, too long, repeated) leave the model unnamed
            named = [*names, *(str(k) for k in range(len(names), classes))]
            if class_names_fit(named, classes):  # kept in the checkpoint: label="A" later
                self.model.class_names = tuple(named)
        return torch.from_numpy(labels).to(self.device)

    def _load_styles(self) -> torch.Tensor | None:
        """The data's style labels for a model that learns styles; None for the others."""
        styles = int(self.model.num_styles)
        if styles <= 0:
            return None
        from artkit.data import style_labels

        name = self.model.registry_name
        labels = style_labels(self.source)
        if labels is None:
            raise UsageError(
                f"model {name!r} learns {styles} styles (styles={styles}) but this data has no "
                f"style labels; use styles=0, or data that has them (glyphs: its fonts)"
            )
        self._check_label_range(labels, styles, "styles", "styles")
        return torch.from_numpy(labels).to(self.device)

    def _check_label_range(self, labels: Any, count: int, field: str, what: str) -> None:
        """A one-line error where the data's ``labels`` reach ``count`` or more (the model's
        ``field``: classes or styles, ``what`` the data calls them)."""
        top = int(labels.max()) if len(labels) else -1
        if top >= count:
            raise UsageError(
                f"model {self.model.registry_name!r} has {field}={count} but the data's {what} "
                f"go up to {top}: give {field}={top + 1} or more"
            )

    def _split_holdout(
        self, data: torch.Tensor, *per_image: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor | None, ...]]:
        """Set aside a seeded held-out split when the model evaluates (``holdout_fraction``).

        Returns the training images, the held-out ones (or None) and, for each of
        ``per_image`` (labels, styles: one per image, or None), the training images'.
        """
        fraction = float(self.model.holdout_fraction)
        if fraction <= 0 or len(data) < 20:
            return data, None, per_image
        count = max(1, min(512, round(len(data) * fraction)))
        order = torch.randperm(
            len(data), generator=torch.Generator().manual_seed(self.options.seed + 99991)
        )
        hold, train = order[:count].sort().values, order[count:].sort().values
        kept = tuple(None if t is None else t[train.to(t.device)] for t in per_image)
        return data[train.to(data.device)], data[hold.to(data.device)], kept

    def _training_images(self) -> Iterator[torch.Tensor]:
        """The training split once, in a seeded order, as [-1, 1] batches (for ``after_training``)."""
        images = self.batches.images
        g = torch.Generator().manual_seed(self.options.seed + 7)
        for idx in torch.randperm(len(images), generator=g).split(self.options.batch_size):
            yield from_uint8(images.index_select(0, idx.to(images.device)))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """The model's ``evaluate(batch)`` averaged over the held-out split (``val_`` prefix).

        Computed once per step: a step that both logs and evaluates reuses the numbers.
        """
        if self.holdout is None or not self.world.is_main:
            return {}
        if self._val_cache is not None and self._val_cache[0] == self.step:
            return dict(self._val_cache[1])
        if not self.options.ema:
            self._copy_ema()  # the inference copy evaluate() uses must be the trained weights
        sums: dict[str, float] = {}
        total = 0
        with eval_mode(self.model):  # every module's own mode after, G_ema's eval included
            for chunk in self.holdout.split(self.options.batch_size):
                with self.precision.autocast(self.device):
                    metrics = self.model.evaluate(from_uint8(chunk))
                for k, v in metrics.items():
                    sums[k] = sums.get(k, 0.0) + float(v) * len(chunk)
                total += len(chunk)
        result = {f"val_{k}": v / total for k, v in sums.items()}
        self._val_cache = (self.step, result)
        return dict(result)

    def total_steps(self) -> int | None:
        candidates = []
        if self.options.steps is not None:
            candidates.append(self.options.steps)
        if self.options.epochs is not None:
            candidates.append(self.options.epochs * self.batches.per_epoch)
        return min(candidates) if candidates else None

    # -- checkpoints ----------------------------------------------------------
    @property
    def weights_path(self) -> Path:
        from artkit.checkpoint import WEIGHTS_NAME

        return self.out_dir / WEIGHTS_NAME

    @property
    def state_path(self) -> Path:
        return self.out_dir / "state.safetensors"

    def save_checkpoint(self) -> None:
        if self.world.is_main:
            if not self.options.ema:
                self._copy_ema()
            tensors: dict[str, torch.Tensor] = {}
            meta: dict[str, Any] = {"step": self.step, "optimizers": {}}
            for name, opt in self.optimizers.items():
                t, m = train_state.flatten_optimizer(f"optim.{name}", opt)
                tensors.update(t)
                meta["optimizers"][name] = m
            tensors["rng.torch"] = torch.get_rng_state()
            tensors["rng.noise"] = self.noise.get_state()
            if self.device.type == "cuda":
                tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
            if self.scaler is not None:
                meta["scaler"] = self.scaler.state_dict()
            meta["fingerprint"] = self.fingerprint
            if self.eval_best is not None:
                meta["eval_best"] = self.eval_best
                meta["eval_best_step"] = self.eval_best_step
            meta["eval_stale"] = self.eval_stale  # --patience: a resumed run stops where one would
            tensors, metadata = train_state.pack(tensors, meta)
            metadata["artkit.step"] = str(self.step)
            # weights last: a crash in between is detected on resume by the step check
            save_tensors(self.state_path, tensors, metadata)
            save_model(self.model, self.weights_path, step=self.step, dataset=self.fingerprint)
        self.world.barrier()

    def _load_checkpoint(self) -> None:
        if not self.weights_path.exists() or not self.state_path.exists():
            raise UsageError(
                f"cannot resume {self.out_dir}: weights.safetensors or state.safetensors is missing"
            )
        w_step = read_header(self.weights_path).step
        tensors, metadata = load_tensors(self.state_path)
        meta = train_state.unpack_meta(metadata)
        if meta.get("step") != w_step:
            raise CheckpointError(
                f"cannot resume {self.out_dir}: weights are at step {w_step} but training state at step "
                f"{meta.get('step')} (the run was killed while checkpointing); start a new run from the weights"
            )
        self.eval_best = meta.get("eval_best")
        self.eval_best_step = meta.get("eval_best_step")
        self.eval_stale = int(meta.get("eval_stale", 0))
        if meta.get("fingerprint") and self.fingerprint and meta["fingerprint"] != self.fingerprint:
            print(
                "artkit: warning: the dataset changed since this run was checkpointed; resume is not exact",
                file=sys.stderr,
            )
        weights, _ = load_tensors(self.weights_path)
        load_state_checked(
            self.model,
            {k: v.to(self.device) for k, v in weights.items()},
            source=str(self.weights_path),
        )
        for name, opt in self.optimizers.items():
            sd = train_state.unflatten_optimizer(f"optim.{name}", tensors, meta["optimizers"][name])
            opt.load_state_dict(sd)
            train_state.match_param_layouts(opt)
        torch.set_rng_state(tensors["rng.torch"])
        self.noise.set_state(tensors["rng.noise"].to(self.noise.get_state().device))
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        if self.scaler is not None and "scaler" in meta:
            self.scaler.load_state_dict(meta["scaler"])
        self.step = int(meta["step"])

    # -- learning rate -------------------------------------------------------------
    def _set_lr(self, total: int | None) -> None:
        """Every group's rate for the coming step: its configured rate times the schedule's
        factor (set also under ``constant``, so a run resumed with another schedule or
        ``--lr`` follows it rather than the rate its saved optimiser state last had).
        A decay whose length the clock has not planned yet holds at its start."""
        if total is None and self.schedule.needs_total:
            total = math.inf
        factor = self.schedule.factor(self.step, total)
        for name, opt in self.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name], strict=True):
                if torch.is_tensor(group["lr"]):  # a plugin's capturable optimiser: keep the tensor
                    group["lr"].fill_(base * factor)
                else:
                    group["lr"] = base * factor

    def current_lrs(self) -> dict[str, float]:
        """The rates of the last step, as logged: ``lr`` (``lr_NAME`` when several
        optimisers other than D have one) and ``lr_D``, like --lr and --lr-d."""
        others = [n for n in self.optimizers if n != "D"]
        return {
            "lr" if name in others and len(others) == 1 else f"lr_{name}": float(
                opt.param_groups[0]["lr"]
            )
            for name, opt in self.optimizers.items()
        }

    # -- EMA --------------------------------------------------------------------
    def ema_decay(self) -> float:
        """This step's EMA decay: fixed (``--ema-decay``, warmed up over the first steps)
        or from a half-life in images, ramped up with the images seen so far."""
        o = self.options
        if o.ema_decay is not None:
            return min(o.ema_decay, (1 + self.step) / (10 + self.step))
        batch = o.batch_size * self.world.size
        half_life = o.ema_kimg * 1000
        if o.ema_rampup > 0:
            half_life = min(half_life, self.step * batch * o.ema_rampup)
        return 0.5 ** (batch / max(half_life, 1e-8))

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.ema_decay()
        for src_name, dst_name in self.model.ema_pairs.items():
            src, dst = getattr(self.model, src_name), getattr(self.model, dst_name)
            torch._foreach_lerp_(list(dst.parameters()), list(src.parameters()), 1.0 - decay)
            for b_dst, b_src in zip(dst.buffers(), src.buffers(), strict=True):
                b_dst.copy_(b_src)

    @torch.no_grad()
    def _copy_ema(self) -> None:
        for src_name, dst_name in self.model.ema_pairs.items():
            getattr(self.model, dst_name).load_state_dict(
                getattr(self.model, src_name).state_dict()
            )

    # -- samples and metrics -----------------------------------------------------
    def write_samples(self) -> Path | None:
        if not self.world.is_main or "sample" not in self.model.capabilities():
            return None
        from artkit.config_checks import image_size
        from artkit.grid import grid_from_array
        from artkit.images import save_image
        from artkit.media import picture_array

        n = 64 if max(image_size(self.source.resolution)) <= 64 else 16  # "HxW" too
        if not self.options.ema:
            self._copy_ema()  # samples come from the inference copy: make it current
        with torch.no_grad():
            images = self.model.sample(n, generator=make_generator(self.options.seed + 1))
        # a piano roll's channels are tracks, not colours: picture_array draws them
        grid = grid_from_array(picture_array(to_uint8(images)))
        path = self.out_dir / "samples" / f"step-{self.step:06d}.png"
        save_image(
            grid,
            path,
            provenance={
                "artkit": __version__,
                "command": "train",
                "step": self.step,
                "model": self.model.registry_name,
            },
        )
        return path

    # -- evaluation -------------------------------------------------------------
    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.safetensors"

    def run_eval(self) -> bool:
        """Evaluate (rank 0), keep ``best.safetensors``; True when ``--patience`` stops the run.

        Samples are scored against the training data when the model samples (see
        :mod:`artkit.train.evaluation`); a model with a held-out split is also scored
        on it, and ``--eval-metric`` (resolved: val or fd by default) picks what
        ranks. A failed evaluation (non-finite features from a diverging model) is a
        warning and a logged error, not the end of the run; it counts as no
        improvement. The other ranks wait for rank 0's decision.
        """
        if self.world.is_main:
            from artkit.train.evaluation import RANKING, TrainingEval, held_out_key, improved

            opts = self.options
            record: dict[str, Any] = {"step": self.step}
            if self.eval_metric != "val" or "sample" in self.model.capabilities():
                if self._eval is None:
                    self._eval = TrainingEval(self)
                if not opts.ema:
                    self._copy_ema()  # without EMA the inference copy is refreshed on demand
                try:
                    record.update(self._eval.run())
                except ArtkitError as exc:
                    print(
                        f"artkit: warning: evaluation at step {self.step} failed: {exc}",
                        file=sys.stderr,
                    )
                    record["eval_error"] = str(exc)
            if self.eval_metric == "val":
                val = self.evaluate()
                if self.step % opts.log_every:  # a logging step has these in its own row
                    record.update(val)
                name, higher = held_out_key(val)
                value = val.get(name, math.nan)
                held = len(self.holdout) if self.holdout is not None else 0
                features, n = "held-out", str(held)
            else:
                key, higher = RANKING[self.eval_metric]
                name, value = self.eval_metric, record.get(f"eval_{key}", math.nan)
                features, n = str(record.get("eval_features")), str(record.get("eval_n"))
            better = improved(self.eval_metric, value, self.eval_best, higher=higher)
            # the first finite value always counts; later ones must beat the best by min_delta
            enough = better and (
                self.eval_best is None or abs(value - self.eval_best) >= opts.min_delta
            )
            if better:
                self.eval_best, self.eval_best_step = value, self.step
                save_model(
                    self.model, self.best_path, step=self.step, dataset=self.fingerprint,
                    extra={"artkit.eval_metric": name, "artkit.eval_value": repr(value),
                           "artkit.eval_features": features, "artkit.eval_n": n},
                )  # fmt: skip
                record["eval_best"] = True
            self.eval_stale = 0 if enough else self.eval_stale + 1
            if len(record) > 1:  # not a bare step whose numbers its logging row already has
                self._log(record)
            if opts.patience and self.eval_stale >= opts.patience:
                by = f" by at least {opts.min_delta:g}" if opts.min_delta else ""
                if self.eval_best is None:
                    best = "no finite value yet"
                else:
                    at = (
                        f" at step {self.eval_best_step}" if self.eval_best_step is not None else ""
                    )
                    best = f"best {self.eval_best:.6g}{at}"
                self.early_stop = (
                    f"stopped early at step {self.step}: {name} did not improve{by} "
                    f"for {self.eval_stale} evaluations ({best})"
                )
        stop = all_flag(self.world, self.early_stop is not None, self.device)
        self.world.barrier()
        return stop

    def _write_config(self) -> None:
        """``config.json``: what the run is and the options it trains with (``--resume`` reads them)."""
        from artkit.atomic import atomic_write_bytes

        config = {
            **self.run_config,
            "artkit_version": __version__,
            "model": self.model.registry_name,
            "model_config": self.model.config_dict(),
            "options": self.options.to_json(),
            "dataset_fingerprint": self.fingerprint,
        }
        atomic_write_bytes(
            self.out_dir / "config.json",
            (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(),
        )

    def _log(self, record: dict[str, Any]) -> None:
        if not self.world.is_main:
            return
        with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    # -- signals ----------------------------------------------------------------
    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._stop_signal is not None:  # second signal: stop now
                raise KeyboardInterrupt
            self._stop_signal = signal.Signals(signum).name
            print(
                f"\nartkit: {self._stop_signal} received; saving a checkpoint after this step (again to abort)",
                file=sys.stderr,
                flush=True,
            )

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    # -- the loop ---------------------------------------------------------------
    def run(self) -> TrainResult:
        self._prepare()
        opts = self.options
        total = self.total_steps()
        budget = opts.max_time * 60 if opts.max_time else None
        # a decay with only --max-time: the run plans its own length from its speed
        clock_length = total is None and budget is not None and self.schedule.needs_total
        if clock_length and self.world.distributed:
            raise UsageError(
                f"--lr-schedule {self.schedule.kind} with only --max-time plans the run's length "
                "from its own speed, which processes would measure apart: give --steps"
            )
        if self.world.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._write_config()
        progress = Progress(
            total,
            start_step=self.step,
            quiet=self.quiet or not self.world.is_main,
            time_budget=budget,
        )
        t0 = time.perf_counter()
        start_step = self.step
        fit = None
        guessed = (
            opts.fit_steps
            and budget
            and total
            and opts.epochs is None  # an epoch limit is the user's length, not a guess
            and not self.resume
            and not self.world.distributed
        )
        if guessed or clock_length:
            # the recipe's steps are a guess at what the budget buys: fit them to this
            # run's own speed (a resumed run finishes the plan its config.json holds;
            # one stopped before its first plan makes one from its own budget)
            from artkit.train.budget import StepPlan

            fit = StepPlan(total, budget=budget, t0=t0, start_step=self.step)
        sums: dict[str, float] = {}
        count, nan_run, interval_t, interval_steps = 0, 0, time.perf_counter(), 0
        reason = "done"
        try:
            with self._signals():
                while total is None or self.step < total:
                    stop = self._stop_signal is not None
                    if budget is not None and time.perf_counter() - t0 >= budget:
                        reason = "time"
                        stop = True
                    if all_flag(self.world, stop, self.device):
                        reason = "interrupted" if self._stop_signal else reason
                        break
                    self._set_lr(total)
                    images, self.ctx.labels, self.ctx.styles = self.batches.get(self.step)
                    batch = augment_batch(images, self.data_ops, opts.seed, self.step)
                    try:
                        metrics = self.model.training_step(batch, self.step, self.ctx)
                    except NonFiniteLoss as exc:
                        nan_run += 1
                        print(
                            f"artkit: warning: step {self.step} skipped: {exc} ({nan_run} in a row)",
                            file=sys.stderr,
                            flush=True,
                        )
                        if nan_run >= opts.max_nan_steps:
                            raise TrainingStopped(
                                f"training stopped at step {self.step}: {nan_run} non-finite steps in a row "
                                f"(last: {exc}); the last good checkpoint in {self.out_dir} is intact; "
                                "try a lower --lr or another --loss"
                            ) from None
                        self.step += 1
                        continue
                    nan_run = 0
                    self.step += 1
                    interval_steps += 1
                    if fit is not None and (plan := fit.after_step(self.step, time.perf_counter())):
                        total = opts.steps = plan
                        progress.set_total(total)
                        if self.world.is_main:
                            self._write_config()
                    if opts.ema:
                        self._update_ema()
                    for k, v in metrics.items():
                        sums[k] = sums.get(k, 0.0) + float(v)
                    count += 1
                    log_now = self.step % opts.log_every == 0
                    if log_now or progress.live:
                        elapsed = time.perf_counter() - interval_t
                        means = {k: v / count for k, v in sums.items()}
                        means["it_per_s"] = interval_steps / elapsed if elapsed > 0 else 0.0
                        progress.update(self.step, means, log_line=log_now)
                    if log_now:
                        means["images_per_s"] = (
                            means["it_per_s"] * opts.batch_size * self.world.size
                        )
                        means.update(self.evaluate())
                        if self.schedule.active:
                            means.update(self.current_lrs())
                        if fit is not None:
                            means["planned_steps"] = total
                        self._log(
                            {
                                "step": self.step,
                                "epoch": self.step / self.batches.per_epoch,
                                "time": round(time.perf_counter() - t0, 3),
                                **means,
                            }
                        )
                        sums, count, interval_t, interval_steps = {}, 0, time.perf_counter(), 0
                    if opts.sample_every and self.step % opts.sample_every == 0:
                        self.write_samples()
                    if opts.eval_every and self.step % opts.eval_every == 0 and self.run_eval():
                        reason = "early-stop"
                        break
                    if self.step % opts.checkpoint_every == 0:
                        self.save_checkpoint()
        finally:
            progress.close()
        if reason == "early-stop" and self.world.is_main:
            message = self.early_stop or f"stopped early at step {self.step}"
            self._log({"step": self.step, "stop_reason": reason, "stop_message": message})
            if not self.quiet:
                print(message, file=sys.stderr, flush=True)
        fitted = self.model.after_training(self._training_images(), self.ctx)
        if fitted:
            self._log({"step": self.step, **fitted})
            if not self.quiet and self.world.is_main:
                said = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in fitted.items())
                print(f"after training: {said}", file=sys.stderr, flush=True)
        self.save_checkpoint()
        self.write_samples()
        seconds = time.perf_counter() - t0
        done = self.step - start_step
        result = TrainResult(
            self.step,
            reason,
            self.out_dir,
            seconds,
            done * opts.batch_size * self.world.size / seconds if seconds else math.nan,
        )
        shutdown(self.world)
        return result
