"""Render a plan: batched generation overlapped with post-processing and encoding.

The main thread walks the plan in order. A job whose file already exists with the
same *render key* in its provenance (a hash of everything that decides its pixels:
checkpoint sha256, model spec, parameters, post chain, format, precision, device
type, artkit version) is skipped; the others are gathered into batches of
consecutive jobs that share a model and options, generated, and handed to a thread
pool that runs the post chain, writes the file atomically (temp name, rename) and
hashes it. At most ``jobs`` batches are in flight and results are drained in plan
order, so memory is flat for any series size, the manifest is written in plan
order as it goes, and a SIGKILL loses at most the batches in flight.

Everything here is deterministic: the image of job ``i`` depends only on the spec,
never on timing, batch composition of earlier runs or the shard it falls in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.errors import UsageError
from artkit.render.manifest import ManifestWriter, record_line, shard_manifest_name
from artkit.render.plan import Job, Plan, Shard
from artkit.render.sheets import render_sheet
from artkit.render.spec import MODEL_KEYS, SeriesSpec, WalkSpec

#: Sampler options with a meaning of their own; any other axis goes to ``model.sample``.
LATENT_OPTIONS = ("truncation", "temperature")
_STALE_TEMP = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}$")


@dataclass
class RenderStats:
    rendered: int = 0
    skipped: int = 0
    replaced: int = 0  # existing files whose provenance did not match the plan
    seconds: float = 0.0
    outputs: list[Path] = field(default_factory=list)  # manifest, sheets, walks


# --------------------------------------------------------------------------- models


@dataclass
class ModelSource:
    """One value of the model axis: what it is and what provenance says about it."""

    value: str
    provenance: dict[str, Any]  # checkpoint + sha256, or model_spec + model_seed
    path: Path | None


def describe_source(value: str) -> ModelSource:
    """Identify a checkpoint (by sha256) without loading it; model specs are named as given."""
    from artkit.api.models import describe_model

    path, provenance = describe_model(value)
    return ModelSource(value, provenance, path)


class Models:
    """Loads each model once, keeps the most recent one (series are ordered model-outermost)."""

    def __init__(self, device: Any):
        self.device = device
        self.sources: dict[str, ModelSource] = {}
        self._loaded: tuple[str, Any] | None = None

    def source(self, value: str) -> ModelSource:
        if value not in self.sources:
            self.sources[value] = describe_source(value)
        return self.sources[value]

    def get(self, value: str) -> Any:
        if self._loaded is not None and self._loaded[0] == value:
            return self._loaded[1]
        from artkit.api.models import open_model

        self._loaded = None  # free the previous model before loading the next
        model, _ = open_model(str(self.source(value).path or value), self.device)
        model.eval()
        self._loaded = (value, model)
        return model


def model_value(params: dict[str, Any]) -> str:
    return next(str(params[k]) for k in MODEL_KEYS if k in params)


def sampler_options(params: dict[str, Any]) -> dict[str, Any]:
    """Axis values that go to the model's sampler (everything but model, seed, content)."""
    skip = {*MODEL_KEYS, "seed", "content", "size", *LATENT_OPTIONS}
    return {k: v for k, v in params.items() if k not in skip}


def check_sampler_options(model: Any, options: list[str]) -> None:
    """Axes the model's sampler does not take are a one-line error before anything is written."""
    import inspect

    model.require("sample")
    if not options:
        return
    accepted = set()
    for method in ("sample", "latents_for_seeds"):
        fn = getattr(model, method, None)
        if fn is None:
            continue
        sig = inspect.signature(fn)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return
        accepted |= {p for p in sig.parameters if p not in ("n", "generator", "seeds", "self")}
    for name in options:
        if name not in accepted:
            takes = ", ".join(sorted(accepted - set(LATENT_OPTIONS))) or "no other options"
            raise UsageError(
                f"sweep.{name}: model {model.registry_name!r} has no sampler option {name!r} "
                f"(it takes: truncation, {takes})"
            )


# --------------------------------------------------------------------------- provenance


def render_key(provenance: dict[str, Any]) -> str:
    """A hash of everything in ``provenance`` that decides the pixels and the file."""
    decisive = {k: v for k, v in provenance.items() if k not in ("render_key", "config")}
    text = json.dumps(decisive, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Provenance:
    """Builds each job's provenance from the spec, the model source and the job."""

    def __init__(self, spec: SeriesSpec, models: Models, precision: str, device_type: str):
        from artkit import __version__

        self.spec, self.models = spec, models
        self.base = {
            "artkit": __version__,
            "command": "render",
            "task": spec.task,
            "series": spec.series,
            "device": device_type,
            "precision": precision,
            "format": spec.format,
            **({"quality": spec.quality} if spec.format != "png" else {}),
        }
        self.post_specs: list[str] = []
        self.gatys: Any = None  # GatysJobs, for Gatys series

    def for_job(self, job: Job, target: Path) -> dict[str, Any]:
        if self.spec.method == "gatys":
            return self._gatys_job(job, target)
        source = self.models.source(model_value(job.params))
        prov = {**self.base, **source.provenance, "index": job.index}
        if self.post_specs:
            prov["post"] = self.post_specs
        if source.path is not None:
            prov["checkpoint_path"] = os.path.relpath(source.path, target.parent)
        params = job.params
        if self.spec.task == "sample":
            prov["seed"] = params["seed"]
            scale = params.get("truncation", params.get("temperature", 1.0))
            prov["truncation"] = scale
            if "temperature" in params:
                prov["temperature"] = scale
            options = sampler_options(params)
            if options:
                prov["options"] = options
        else:
            prov["method"] = "fast"
            prov["content"] = os.path.relpath(params["content"], target.parent)
            prov["content_sha256"] = _sha_cached(params["content"])
            prov["size"] = params.get("size")
        prov["render_key"] = render_key({**prov, "checkpoint_path": None, "content": None})
        return prov

    def gatys_options(self, params: dict[str, Any]) -> dict[str, Any]:
        """The job's Gatys options, every one spelled out (``[stylize]``, then its axes)."""
        assert self.gatys is not None
        given = {k: v for k, v in params.items() if k not in ("style", "content")}
        return self.gatys.resolve({**self.spec.stylize, **given})

    def _gatys_job(self, job: Job, target: Path) -> dict[str, Any]:
        # the keys `artkit stylize --method gatys` writes, so reproduce treats both alike
        params = job.params
        prov = {
            **{k: v for k, v in self.base.items() if k != "precision"},
            "method": "gatys",
            "index": job.index,
            "content": os.path.relpath(params["content"], target.parent),
            "content_sha256": _sha_cached(params["content"]),
            "styles": [os.path.relpath(params["style"], target.parent)],
            "styles_sha256": [_sha_cached(params["style"])],
            "style_weights": [1.0],
            "preserve_color": None,
            **self.gatys_options(params),
        }
        if self.post_specs:
            prov["post"] = self.post_specs
        prov["render_key"] = render_key({**prov, "content": None, "styles": None})
        return prov


_SHA_CACHE: dict[str, str] = {}


def _sha_cached(path: str) -> str:
    if path not in _SHA_CACHE:
        from artkit.checkpoint import sha256_file

        _SHA_CACHE[path] = sha256_file(path)
    return _SHA_CACHE[path]


def existing_matches(target: Path, key: str) -> bool | None:
    """True: the file is this job's; False: a different (stale) file; None: no file."""
    if not target.exists():
        return None
    from artkit.images import read_provenance

    try:
        prov = read_provenance(target)
    except Exception:  # unreadable or corrupt: render it again
        return False
    return bool(prov) and prov.get("render_key") == key


# --------------------------------------------------------------------------- progress


class RenderProgress:
    """A rich bar with ETA on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, total: int, *, quiet: bool, label: str):
        self.total, self.quiet, self.label = total, quiet, label
        self.done = self.skipped = 0
        self.t0 = self._last = time.perf_counter()
        self._bar = None
        if not quiet and sys.stderr.isatty() and total:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(f"[bold]{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(label, total=total, rate="")
            self._bar.start()

    def advance(self, *, skipped: bool) -> None:
        self.done += 1
        self.skipped += skipped
        now = time.perf_counter()
        rendered = self.done - self.skipped
        rate = rendered / (now - self.t0) if now > self.t0 else 0.0
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{rate:.1f} img/s")
        elif not self.quiet and (now - self._last >= 5 or self.done == self.total):
            self._last = now
            left = self.total - self.done
            eta = f"  eta {left / rate:.0f}s" if rate > 0 and left else ""
            print(
                f"{self.label}: {self.done}/{self.total}  ({self.skipped} already there)  "
                f"{rate:.1f} img/s{eta}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# --------------------------------------------------------------------------- writing


def clean_stale_temps(folder: Path) -> int:
    """Remove ``.NAME.tmp-PID-xxxx`` files left by killed runs (never a live process's)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        m = _STALE_TEMP.match(entry.name)
        if not m or not entry.is_file():
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_one(
    image: Any, target: Path, provenance: dict[str, Any], chain: list[Any], spec: SeriesSpec
) -> str:
    from artkit.api.post import run_chain
    from artkit.images import save_image

    if chain:
        image = run_chain(image, chain, str(target))
    save_image(
        image,
        target,
        provenance=provenance,
        format=spec.format,
        quality=spec.quality,
        durable=False,
    )
    return _sha_file(target)


def _sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the run


@dataclass
class _Pending:
    jobs: list[Job]
    targets: list[Path]
    provs: list[dict[str, Any]]


class Renderer:
    """Renders one plan (a shard or the whole series) into ``spec.out``."""

    def __init__(
        self,
        spec: SeriesSpec,
        *,
        shard: Shard | None = None,
        device: str = "auto",
        precision: str = "auto",
        jobs: int | None = None,
        force: bool = False,
        quiet: bool = False,
        local_rank: int = 0,
    ):
        from artkit.device import resolve_device, resolve_precision

        self.spec = spec
        self.plan = Plan(spec, shard)
        self.force, self.quiet = force, quiet
        self.device = resolve_device(device)
        if self.device.type == "cuda" and self.device.index is None and local_rank:
            import torch

            self.device = torch.device("cuda", local_rank)
        self.precision = resolve_precision(precision, self.device)
        self.jobs = jobs or max(1, min(4, os.cpu_count() or 2))
        self.models = Models(self.device)
        self.chain = _chain(spec.post)
        self.prov = Provenance(spec, self.models, self.precision.name, self.device.type)
        self.prov.post_specs = [s.spec for s in self.chain]
        if spec.method == "gatys":
            from artkit.render.gatys_jobs import GatysJobs

            self.prov.gatys = GatysJobs(self.device, quiet=quiet)
        self._checked: set[str] = set()

    # -- the plan's jobs -> batches ------------------------------------------------
    def _batch_key(self, job: Job) -> tuple[Any, ...]:
        if self.spec.task == "sample":
            rest = {k: v for k, v in job.params.items() if k != "seed"}
        else:
            rest = {k: v for k, v in job.params.items() if k != "content"}
        return tuple(sorted((k, str(v)) for k, v in rest.items()))

    def _check_model(self, value: str) -> Any:
        model = self.models.get(value)
        if value not in self._checked:
            if self.spec.task == "sample":
                names = [a.name for a in self.spec.axes]
                check_sampler_options(model, list(sampler_options(dict.fromkeys(names, 0))))
            else:
                model.require("stylize")
                prepare = getattr(model, "prepare_for_inference", None)
                if callable(prepare):
                    # eager, never compiled: a render must be reproducible image by image
                    prepare(self.device, self.precision.name, compile=False)
            self._checked.add(value)
        return model

    def _generate(self, pending: _Pending) -> list[Any]:
        import torch

        from artkit.torch_images import to_pil

        params = pending.jobs[0].params
        if self.spec.method == "gatys":
            return [self._gatys(job.params) for job in pending.jobs]
        model = self._check_model(model_value(params))
        if self.spec.task == "stylize":
            return [self._stylize(model, job.params) for job in pending.jobs]
        seeds = [job.params["seed"] for job in pending.jobs]
        scale = float(params.get("truncation", params.get("temperature", 1.0)))
        options = sampler_options(params)
        with torch.inference_mode(), self.precision.autocast(self.device):
            if not options and hasattr(model, "latents_for_seeds"):
                images = model.generate(model.latents_for_seeds(seeds, scale))
            else:
                images = torch.cat([sample_one(model, s, scale, options) for s in seeds])
        return to_pil(images.float().cpu())

    def _gatys(self, params: dict[str, Any]) -> Any:
        gatys = self.prov.gatys
        options = self.prov.gatys_options(params)
        return gatys.run(params["content"], [params["style"]], [1.0], options)

    def _stylize(self, model: Any, params: dict[str, Any]) -> Any:
        import torch

        return stylize_one(model, params["content"], params.get("size"), self.device, torch)

    # -- latent walks ---------------------------------------------------------------------
    def render_walk(self, walk: WalkSpec) -> Path:
        """A latent-walk animation through ``walk.seeds``, post chain applied to every frame."""
        import torch

        from artkit.animation import write_animation
        from artkit.api.latents import walk as walk_path
        from artkit.api.post import run_chain
        from artkit.render.template import fill
        from artkit.torch_images import to_pil

        spec = self.spec
        params = {a.name: walk.where.get(a.name, a.values[0]) for a in spec.axes}
        value = model_value(params)
        model = self._check_model(value)
        if not hasattr(model, "latents_for_seeds"):
            raise UsageError(f"walk: model {model.registry_name!r} has no latent space to walk")
        scale = float(params.get("truncation", params.get("temperature", 1.0)))
        path_z = walk_path(
            model.latents_for_seeds(walk.seeds, scale),
            walk.frames,
            slerp=walk.slerp,
            loop=walk.loop,
        )
        frames = []
        with torch.inference_mode(), self.precision.autocast(self.device):
            for chunk in path_z.split(spec.batch_size):
                frames.extend(to_pil(model.generate(chunk).float().cpu()))
        target = spec.out / fill(walk.out, {"series": spec.series, "index": 0}, key="walk.out")
        frames = [run_chain(f, self.chain, str(target)) for f in frames] if self.chain else frames
        provenance = {
            **{k: v for k, v in self.prov.base.items() if k not in ("format", "quality")},
            **self.models.source(value).provenance,
            "walk": {
                "seeds": walk.seeds,
                "frames": walk.frames,
                "fps": walk.fps,
                "slerp": walk.slerp,
                "loop": walk.loop,
            },
            "truncation": scale,
            **({"post": self.prov.post_specs} if self.chain else {}),
        }
        return write_animation(frames, target, fps=walk.fps, loop=True, provenance=provenance)

    # -- the loop ----------------------------------------------------------------------
    def run(self, on_record: Callable[[Job, str, bool], None] | None = None) -> RenderStats:
        """Render every job not already there; ``on_record(job, sha256, skipped)`` in plan order."""
        with _cpu_threads_shared(self.device, self.jobs):
            return self._run(on_record)

    def _run(self, on_record: Callable[[Job, str, bool], None] | None) -> RenderStats:
        spec, plan = self.spec, self.plan
        stats = RenderStats()
        if plan.total <= 200_000:
            plan.check_unique_paths()
        spec.out.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(spec.out)
        manifest = ManifestWriter(
            spec.out / shard_manifest_name(plan.shard.index, plan.shard.count)
        )
        progress = RenderProgress(len(plan), quiet=self.quiet, label=spec.series)
        # (futures giving each job's sha256, the jobs, whether they were skipped)
        in_flight: deque[tuple[list[Future], list[Job], bool]] = deque()
        cleaned: set[Path] = {spec.out}
        t0 = time.perf_counter()

        def drain(limit: int) -> None:
            while len(in_flight) > limit:
                futures, jobs, skipped = in_flight.popleft()
                for job, future in zip(jobs, futures, strict=True):
                    sha = future.result()
                    manifest.write(record_line(job.index, job.path, sha, spec.portable(job.params)))
                    if on_record is not None:
                        on_record(job, sha, skipped)
                    progress.advance(skipped=skipped)

        try:
            with ThreadPoolExecutor(self.jobs) as pool:
                batch: _Pending | None = None
                batch_key: tuple[Any, ...] | None = None

                def flush() -> None:
                    nonlocal batch
                    if batch is None:
                        return
                    images = self._generate(batch)
                    futures = [
                        pool.submit(_write_one, image, target, prov, self.chain, spec)
                        for image, target, prov in zip(
                            images, batch.targets, batch.provs, strict=True
                        )
                    ]
                    in_flight.append((futures, batch.jobs, False))
                    stats.rendered += len(batch.jobs)
                    batch = None
                    drain(self.jobs)

                for job in plan:
                    target = spec.out / job.path
                    if target.parent not in cleaned:
                        cleaned.add(target.parent)
                        clean_stale_temps(target.parent)
                    prov = self.prov.for_job(job, target)
                    state = None if self.force else existing_matches(target, prov["render_key"])
                    if state:
                        flush()
                        batch_key = None
                        in_flight.append(([pool.submit(_sha_file, target)], [job], True))
                        stats.skipped += 1
                        drain(self.jobs * spec.batch_size)
                        continue
                    if state is False:
                        stats.replaced += 1
                    key = self._batch_key(job)
                    if batch is not None and (
                        key != batch_key or len(batch.jobs) >= spec.batch_size
                    ):
                        flush()
                    if batch is None:
                        batch, batch_key = _Pending([], [], []), key
                    batch.jobs.append(job)
                    batch.targets.append(target)
                    batch.provs.append(prov)
                flush()
                drain(0)
        except BaseException:
            manifest.discard()
            raise
        finally:
            progress.close()
        stats.outputs.append(manifest.commit())
        stats.seconds = time.perf_counter() - t0
        return stats


@contextlib.contextmanager
def _cpu_threads_shared(device: Any, workers: int) -> Iterator[None]:
    """On a CPU, leave cores to the encoding threads while torch generates.

    Torch's intra-op threads spin while they wait; with PNG encoders running beside
    them on every core they are descheduled mid-spin and generation slows down
    several-fold. Half the cores for torch measured best on a 2-core machine
    (``benchmarks/render.py``: 1 torch thread + 2 encoders 624 img/s, 2 + 2 415 img/s).
    An explicit ``OMP_NUM_THREADS`` is respected.
    """
    import torch

    if device.type != "cpu" or "OMP_NUM_THREADS" in os.environ or workers < 1:
        yield
        return
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, cores // 2)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _chain(post: tuple[str, ...]) -> list[Any]:
    if not post:
        return []
    from artkit.api.post import build_chain

    try:
        return build_chain(list(post))
    except UsageError as exc:
        raise UsageError(f"post: {exc}") from None


def sample_one(model: Any, seed: int, scale: float, options: dict[str, Any]) -> Any:
    """One image through the model's own sampler, from its own seeded generator."""
    from artkit.device import make_generator

    kwargs = dict(options)
    if scale != 1.0 or "truncation" in _params_of(model.sample):
        kwargs["truncation"] = scale
    return model.sample(1, make_generator(seed), **kwargs)


def _params_of(fn: Callable[..., Any]) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)


def stylize_one(model: Any, content: str, size: int | None, device: Any, torch: Any) -> Any:
    """One content image through a fast-style model, RGB, longest side ``size``."""
    from artkit.api.images import resize_longest, restore_alpha
    from artkit.images import load_image
    from artkit.torch_images import pil_to_tensor, to_pil

    original = load_image(content)
    image = resize_longest(original, size)
    batch = pil_to_tensor([image.convert("RGB")], 3)
    with torch.inference_mode():
        styled = model.stylize(batch.to(device))
    return restore_alpha(to_pil(styled.float().cpu())[0], image)


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------- a whole series


def render_series(
    spec: SeriesSpec,
    *,
    shard: Shard | None = None,
    device: str = "auto",
    precision: str = "auto",
    jobs: int | None = None,
    force: bool = False,
    quiet: bool = False,
    on_record: Callable[[Job, str, bool], None] | None = None,
    say: Callable[[str], None] = lambda message: None,
) -> RenderStats:
    """Render ``spec`` (or one shard), then the manifest, sheets and walks when all is there.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank renders the shard of its rank;
    rank 0 waits for the others, merges the shard manifests and draws the extras.
    By hand, ``--shard I/N`` renders one shard; whichever shard finishes last in a
    shared folder merges. Rendering the whole spec afterwards (nothing left to do)
    also writes the merged manifest, so shards copied together are merged by
    running ``artkit render SPEC`` there.
    """
    from artkit.render.manifest import all_shards_present, merge_shards

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = 0, 0
    if world_size > 1:
        if shard is not None and not shard.whole:
            raise UsageError("--shard cannot be combined with torchrun: each rank is a shard")
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        shard = Shard(rank, world_size)
    renderer = Renderer(
        spec,
        shard=shard,
        device=device,
        precision=precision,
        jobs=jobs,
        force=force,
        quiet=quiet or rank != 0,
        local_rank=local_rank,
    )
    group = _start_group(renderer.device) if world_size > 1 else None
    try:
        stats = renderer.run(on_record=on_record)
        if group is not None:
            group.barrier()
        plan, out = renderer.plan, spec.out
        if rank != 0:
            return stats
        if not plan.shard.whole:
            if not all_shards_present(out, plan.shard.count):
                say(f"shard {plan.shard} done; the manifest is merged when every shard is")
                return stats
            stats.outputs[0] = merge_shards(out, plan.shard.count, plan.total)
        for sheet in spec.sheets:
            stats.outputs.append(render_sheet(spec, Plan(spec), sheet))
        for walk in spec.walks:
            stats.outputs.append(renderer.render_walk(walk))
        return stats
    finally:
        if group is not None:
            group.close()


class _Group:
    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def close(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def _start_group(device: Any) -> _Group:
    """A process group for the end-of-render barrier (gloo on CPU; long timeout: shards differ)."""
    from datetime import timedelta

    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, timeout=timedelta(hours=48))
    return _Group()
