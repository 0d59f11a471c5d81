"""``artkit train MODEL --data DATASET``: train any trainable model with the generic trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from artkit.errors import UsageError

_STOP = "When to stop"
_OPT = "Optimisation"
_RUN = "Run folder"


def attach(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        model: Annotated[
            str | None,
            typer.Argument(
                help="Model spec, e.g. dcgan or dcgan:resolution=32,channels=4 (see `artkit list models`)."
            ),
        ] = None,
        data: Annotated[
            str | None,
            typer.Option(
                "--data",
                "-d",
                help="Dataset spec, e.g. shapes or folder:path=art/ (see `artkit list datasets`).",
            ),
        ] = None,
        steps: Annotated[
            int | None, typer.Option(help="Stop after this many steps.", rich_help_panel=_STOP)
        ] = None,
        epochs: Annotated[
            int | None,
            typer.Option(help="Stop after this many passes over the data.", rich_help_panel=_STOP),
        ] = None,
        max_time: Annotated[
            float | None,
            typer.Option(
                help="Stop after this many minutes (wall clock). Width, batch size, learning "
                "rates and augmentation you do not give are then picked for the budget "
                "(the recipe line says what; --no-recipe keeps the plain defaults).",
                rich_help_panel=_STOP,
            ),
        ] = None,
        patience: Annotated[
            int | None,
            typer.Option(
                help="Stop early when this many evaluations in a row (--eval-every) bring no "
                "improvement of --eval-metric; best.safetensors keeps the best. (default: 0, off)",
                rich_help_panel=_STOP,
            ),
        ] = None,
        min_delta: Annotated[
            float | None,
            typer.Option(
                help="With --patience: the least change that counts as an improvement. (default: 0)",
                rich_help_panel=_STOP,
            ),
        ] = None,
        recipe: Annotated[
            bool | None,
            typer.Option(
                "--recipe/--no-recipe",
                help="With --max-time: pick what is not given for the budget. (default: on)",
                rich_help_panel=_STOP,
            ),
        ] = None,
        batch_size: Annotated[
            int | None,
            typer.Option(
                "--batch-size",
                "-b",
                help="Images per step (per process). (default: 64)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        lr: Annotated[
            float | None,
            typer.Option(
                help="Learning rate. (default: the model's own: 2e-4 for GANs, 1e-3 for VAEs and style networks)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        lr_d: Annotated[
            float | None,
            typer.Option(help="Discriminator learning rate. (default: --lr)", rich_help_panel=_OPT),
        ] = None,
        lr_schedule: Annotated[
            str | None,
            typer.Option(
                help="Learning rate over the run, for every optimiser: constant, cosine or linear "
                "(down to 0 by the last step, or by the end of --max-time), or step:every=N,gamma=G "
                "(times G every N steps). (default: constant)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        warmup: Annotated[
            int | None,
            typer.Option(
                help="Ramp the learning rate up linearly from 0 over this many steps. (default: 0)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        optimizer: Annotated[
            str | None, typer.Option(help="adam | rmsprop (default: adam)", rich_help_panel=_OPT)
        ] = None,
        d_steps: Annotated[
            int | None,
            typer.Option(
                help="Discriminator updates per generator update. (default: 1)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        loss: Annotated[
            str | None,
            typer.Option(
                help="Loss from `artkit list losses` (GANs: bce, hinge, lsgan, wgan-gp).",
                rich_help_panel=_OPT,
            ),
        ] = None,
        r1: Annotated[
            float | None,
            typer.Option(
                help="R1 penalty weight gamma on real images (0 = off).", rich_help_panel=_OPT
            ),
        ] = None,
        mode_seeking: Annotated[
            float | None,
            typer.Option(
                help="GANs: weight of the mode-seeking term (MSGAN), which pays G for pairs "
                "of fakes that differ: more styles per class (0 = off; the recipe uses 0.1 "
                "for a class-conditioned model).",
                rich_help_panel=_OPT,
            ),
        ] = None,
        augment: Annotated[
            str | None,
            typer.Option(
                help="DiffAugment policy for small datasets, e.g. color,translation,cutout.",
                rich_help_panel=_OPT,
            ),
        ] = None,
        data_augment: Annotated[
            str | None,
            typer.Option(
                "--data-augment",
                help="Dataset augmentations per batch: flip, rot90, crop (scale-crop), jitter (colour).",
                rich_help_panel=_OPT,
            ),
        ] = None,
        ema: Annotated[
            bool | None,
            typer.Option(
                "--ema/--no-ema",
                help="Keep an EMA of the generator (samples use it). (default: on)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        ema_decay: Annotated[
            float | None,
            typer.Option(
                help="A fixed EMA decay per step instead of --ema-kimg's schedule, e.g. 0.999.",
                rich_help_panel=_OPT,
            ),
        ] = None,
        ema_kimg: Annotated[
            float | None,
            typer.Option(
                help="EMA half-life in thousands of images, ramped up over the first images seen. (default: 10)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        compile: Annotated[
            bool | None,
            typer.Option(
                "--compile/--no-compile", help="torch.compile the networks.", rich_help_panel=_OPT
            ),
        ] = None,
        channels_last: Annotated[
            bool | None,
            typer.Option(
                "--channels-last/--no-channels-last",
                help="Memory format for conv nets. (default: auto)",
                rich_help_panel=_OPT,
            ),
        ] = None,
        style: Annotated[
            list[str] | None,
            typer.Option(
                "--style",
                help="Style image(s) for style-transfer models (same as MODEL:style=...).",
                rich_help_panel=_OPT,
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                "-o",
                help="Run folder. (default: runs/MODEL, numbered if taken)",
                rich_help_panel=_RUN,
            ),
        ] = None,
        resume: Annotated[
            Path | None,
            typer.Option(
                help="Continue the run in this folder exactly where it stopped.",
                rich_help_panel=_RUN,
            ),
        ] = None,
        checkpoint_every: Annotated[
            int | None,
            typer.Option(help="Checkpoint every N steps. (default: 500)", rich_help_panel=_RUN),
        ] = None,
        sample_every: Annotated[
            int | None,
            typer.Option(
                help="Write a sample grid every N steps (0 = only at the end). (default: 500)",
                rich_help_panel=_RUN,
            ),
        ] = None,
        log_every: Annotated[
            int | None,
            typer.Option(help="Log metrics every N steps. (default: 50)", rich_help_panel=_RUN),
        ] = None,
        max_nan_steps: Annotated[
            int | None,
            typer.Option(
                help="Stop after this many non-finite steps in a row. (default: 10)",
                rich_help_panel=_RUN,
            ),
        ] = None,
        eval_every: Annotated[
            int | None,
            typer.Option(
                help="Score samples against the training data every N steps; keeps best.safetensors.",
                rich_help_panel=_RUN,
            ),
        ] = None,
        eval_n: Annotated[
            int | None,
            typer.Option(
                help="Images per evaluation (each set). (default: 2000)", rich_help_panel=_RUN
            ),
        ] = None,
        eval_metric: Annotated[
            str | None,
            typer.Option(
                help="What picks best.safetensors and drives --patience: fd | kid | precision | recall | "
                "pr (harmonic mean of both) | coverage score samples; val the held-out split (VAE: val_elbo, "
                "pix2pix: val_l1). (default: auto = val where the model holds data out, else fd)",
                rich_help_panel=_RUN,
            ),
        ] = None,
        eval_features: Annotated[
            str | None,
            typer.Option(
                help="Features for evaluation, as for artkit eval: auto, inception, vgg16, random-conv, checkpoint:path=RUN, classifier:data=SPEC. (default: auto)",
                rich_help_panel=_RUN,
            ),
        ] = None,
    ) -> None:
        """Train a model on a dataset; writes weights, exact-resume state, metrics and sample grids."""
        given = {
            k: v
            for k, v in dict(
                steps=steps, epochs=epochs, max_time=max_time, patience=patience, min_delta=min_delta, recipe=recipe,
                batch_size=batch_size, lr=lr, lr_d=lr_d, lr_schedule=lr_schedule, warmup=warmup,
                optimizer=optimizer, d_steps=d_steps, loss=loss, r1=r1, mode_seeking=mode_seeking, augment=augment, ema=ema, data_augment=data_augment,
                ema_decay=ema_decay, ema_kimg=ema_kimg, compile=compile, channels_last=channels_last,
                checkpoint_every=checkpoint_every, sample_every=sample_every, log_every=log_every,
                max_nan_steps=max_nan_steps, eval_every=eval_every, eval_n=eval_n,
                eval_metric=eval_metric, eval_features=eval_features,
            ).items()
            if v is not None
        }  # fmt: skip
        if style:
            if model is None:
                raise UsageError(
                    "--style needs a model, e.g. artkit train fast-style --style painting.jpg"
                )
            joined = "|".join(style)  # several styles: one parameter, '|'-separated
            model = f"{model},style={joined}" if ":" in model else f"{model}:style={joined}"
        code = run_training(model, data, given, out=out, resume=resume)
        if code:
            raise typer.Exit(code)


def run_training(
    model_spec: str | None,
    data_spec: str | None,
    given: dict[str, Any],
    *,
    out: Path | None = None,
    resume: Path | None = None,
) -> int:
    """Shared by ``train`` and ``demo``; returns the exit code (0, or 130/143 when interrupted)."""
    from artkit.api.train import run_training as run
    from artkit.cli.context import say, settings

    glob = settings()
    trained = run(
        model_spec,
        data_spec,
        given,
        out=out,
        resume=resume,
        device=glob.device,
        precision=glob.precision,
        seed=glob.seed,
        quiet=glob.quiet,
        say=say,
    )
    if trained.is_main:
        say(
            f"{trained.reason} at step {trained.step} after {trained.seconds:.0f}s "
            f"({trained.images_per_second:.0f} images/s); weights: {trained.weights}"
        )
        print(trained.weights, flush=True)
    if trained.exit_code:
        say(f"resume with: artkit train --resume {trained.path}")
    return trained.exit_code
