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

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.errors import ArtkitError, UsageError, describe_os_error
from artkit.render.distributed import cpu_threads_shared, start_group
from artkit.render.manifest import (
    MANIFEST,
    ManifestWriter,
    check_replaceable,
    record_line,
    shard_manifest_name,
)
from artkit.render.models import (
    Models,
    check_sampler_options,
    model_value,
    sample_one,
    sampler_options,
    stylize_one,
)
from artkit.render.output import RenderProgress, clean_stale_temps, sha_file, write_one
from artkit.render.plan import Job, Plan, Shard
from artkit.render.provenance import Provenance, existing_matches
from artkit.render.sheets import render_sheet
from artkit.render.spec import SeriesSpec, WalkSpec


@dataclass
class RenderStats:
    rendered: int = 0
    skipped: int = 0
    replaced: int = 0  # existing files whose provenance did not match the plan
    seconds: float = 0.0
    outputs: list[Path] = field(default_factory=list)  # manifest, sheets, walks


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
        self.models = Models(self.device, spec.medium)
        from artkit.media import medium

        self.medium = medium(spec.medium)  # pictures, or a plugin's files (MIDI...)
        self.chain = _chain(spec.post)
        self.prov = Provenance(spec, self.models, self.precision.name, self.device.type)
        self.prov.post_specs = [s.spec for s in self.chain]
        if spec.method == "gatys":
            from artkit.render.stylizers import stylizer

            GatysJobs = stylizer("gatys")

            self.prov.gatys = GatysJobs(self.device, quiet=quiet)
        self._checked: set[str] = set()

    # -- the plan's jobs -> batches ------------------------------------------------
    def _companions_present(self, target: Path) -> bool:
        """Whether the files a medium writes beside ``target`` (a .mid's .png and .wav) exist."""
        companions = getattr(self.medium, "companions", None)
        if companions is None:
            return True
        return all(p.exists() for p in companions(target, audio=self.spec.audio))

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
                # eager, never compiled: a render must be reproducible image by image
                model.prepare_for_inference(self.device, self.precision.name, compile=False)
            self._checked.add(value)
        return model

    def _generate(self, pending: _Pending) -> list[Any]:
        import torch

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
            from artkit.model import LatentSampler  # torch is loaded by now

            if not options and isinstance(model, LatentSampler):
                images = model.generate(model.latents_for_seeds(seeds, scale))
            else:
                images = torch.cat([sample_one(model, s, scale, options) for s in seeds])
        from artkit.media import to_items

        return to_items(self.medium, images.float().cpu(), model=model)  # pictures: PIL images

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
        from artkit.media import to_items
        from artkit.render.template import fill

        spec = self.spec
        params = {a.name: walk.where.get(a.name, a.values[0]) for a in spec.axes}
        value = model_value(params)
        model = self._check_model(value)
        from artkit.model import LatentSampler  # torch is loaded by now

        if not isinstance(model, LatentSampler):
            raise UsageError(f"walk: model {model.registry_name!r} has no latent space to walk")
        scale = float(params.get("truncation", params.get("temperature", 1.0)))
        path_z = walk_path(
            model.latents_for_seeds(walk.seeds, scale),
            walk.frames,
            slerp=walk.slerp,
            loop=walk.loop,
        )
        frames = []
        picture = spec.medium == "image"
        with torch.inference_mode(), self.precision.autocast(self.device):
            for chunk in path_z.split(spec.batch_size):
                frames.extend(
                    to_items(self.medium, model.generate(chunk).float().cpu(), model=model)
                )
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
        if not picture:  # one file of the medium: the frames joined (a medley)
            from artkit.media import write_walk

            target.parent.mkdir(parents=True, exist_ok=True)
            return write_walk(self.medium, frames, target, "walk", provenance)
        return write_animation(frames, target, fps=walk.fps, loop=True, provenance=provenance)

    # -- the loop ----------------------------------------------------------------------
    def run(self, on_record: Callable[[Job, str, bool], None] | None = None) -> RenderStats:
        """Render every job not already there; ``on_record(job, sha256, skipped)`` in plan order."""
        with cpu_threads_shared(self.device, self.jobs):
            return self._run(on_record)

    def _run(self, on_record: Callable[[Job, str, bool], None] | None) -> RenderStats:
        spec, plan = self.spec, self.plan
        stats = RenderStats()
        if plan.total <= 200_000:
            plan.check_unique_paths()
        manifest_path = spec.out / shard_manifest_name(plan.shard.index, plan.shard.count)
        # Manifests that stop being true once one image changes: removed before the
        # first write, so a render that dies (full disk, kill -9) never leaves a
        # manifest naming files that are no longer there; the next run writes it anew.
        stale = [manifest_path] + ([spec.out / MANIFEST] if plan.shard.count > 1 else [])
        if not self.force:
            for path in stale:
                check_replaceable(path)  # before anything is written
        spec.out.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(spec.out)
        manifest = ManifestWriter(manifest_path)
        picture = spec.medium == "image"
        progress = RenderProgress(
            len(plan), quiet=self.quiet, label=spec.series, unit="img" if picture else "files"
        )
        # (futures giving each job's sha256, the jobs, whether they were skipped)
        in_flight: deque[tuple[list[Future], list[Job], bool]] = deque()
        cleaned: set[Path] = {spec.out}
        t0 = time.perf_counter()
        recorded = 0

        def drain(limit: int) -> None:
            nonlocal recorded
            while len(in_flight) > limit:
                futures, jobs, skipped = in_flight.popleft()
                for job, future in zip(jobs, futures, strict=True):
                    sha = future.result()
                    manifest.write(record_line(job.index, job.path, sha, spec.portable(job.params)))
                    recorded += 1
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
                    while stale:
                        stale.pop().unlink(missing_ok=True)
                    futures = [
                        pool.submit(write_one, image, target, prov, self.chain, spec, self.medium)
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
                    if state and not self._companions_present(target):
                        state = False  # e.g. a .mid whose .wav was deleted: render it again
                    if state:
                        flush()
                        batch_key = None
                        in_flight.append(([pool.submit(sha_file, target)], [job], True))
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
        except (OSError, ArtkitError) as exc:
            manifest.discard()
            if isinstance(exc, BrokenPipeError) or stale:  # stale: nothing written yet
                raise
            what = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
            error = ArtkitError(
                f"{what} ({recorded} of {len(plan)} {'images' if picture else 'files'} done; "
                f"{manifest_path.name} is "
                "written once all are there: fix that, then run the same command to resume)"
            )
            error.exit_code = getattr(exc, "exit_code", 1)
            raise error from exc
        except BaseException:
            manifest.discard()
            raise
        finally:
            progress.close()
        try:
            stats.outputs.append(manifest.commit())
        except OSError as exc:
            manifest.discard()
            raise ArtkitError(
                f"{describe_os_error(exc)} (all {len(plan)} images are there but "
                f"{manifest_path.name} could not be written: free space, then run the same "
                "command to write it)"
            ) from exc
        stats.seconds = time.perf_counter() - t0
        return stats


def _chain(post: tuple[str, ...]) -> list[Any]:
    if not post:
        return []
    from artkit.api.post import build_chain

    try:
        return build_chain(list(post))
    except UsageError as exc:
        raise UsageError(f"post: {exc}") from None


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
    from artkit.render.models import check_series_models

    # every axis against every model before the first image: one line, not half a series
    check_series_models(spec)
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
    group = start_group(renderer.device) if world_size > 1 else None
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
