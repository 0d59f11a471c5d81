"""``artkit cppn-zoom``: fly into a CPPN pattern -- something only a resolution-free model can do.

Each frame renders the same pattern over a smaller coordinate range, so the picture
stays sharp at every magnification instead of breaking into blocks (the network is a
smooth function: it gets calmer, never pixelated, the deeper you go). Writes a GIF,
WebP, APNG or MP4 through artkit's own animation writer (with provenance) and prints
its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def cppn_zoom(
    seed: Annotated[int, typer.Argument(help="Which pattern (the latent's seed).")] = 0,
    size: Annotated[int, typer.Option(help="Frame width and height in pixels.")] = 256,
    frames: Annotated[int, typer.Option(help="Frames in the animation.")] = 48,
    zoom: Annotated[
        float, typer.Option(help="Total magnification from first to last frame.")
    ] = 8.0,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 24.0,
    net_seed: Annotated[int, typer.Option(help="Which random network (palette, style).")] = 0,
    colour: Annotated[str, typer.Option(help="rgb, hsv or grey.")] = "rgb",
    hidden: Annotated[int, typer.Option(help="CPPN hidden width.")] = 32,
    layers: Annotated[int, typer.Option(help="CPPN hidden layers.")] = 4,
    out: Annotated[Path, typer.Option("--out", "-o", help="zoom.gif, .webp, .png or .mp4")] = Path(
        "zoom.gif"
    ),
) -> None:
    """Render a zoom into one CPPN pattern as an animation; prints its path."""
    import torch

    from artkit import __version__
    from artkit.animation import write_animation
    from artkit.cli.context import say
    from artkit.errors import UsageError
    from artkit.torch_images import to_pil
    from artkit_plugin_cppn.configs import CPPNConfig
    from artkit_plugin_cppn.torch_cppn import CPPN

    if frames < 2 or not 1.0 < zoom <= 1e6 or not 0 < fps <= 120:
        raise UsageError("cppn-zoom: --frames >= 2, 1 < --zoom <= 1e6 and 0 < --fps <= 120")
    cfg = CPPNConfig(
        width=size, height=size, hidden=hidden, layers=layers, net_seed=net_seed, colour=colour
    )
    model = CPPN(cfg)  # the same network as `artkit sample cppn:net_seed=...` draws from
    z = model.latents_for_seeds([seed])
    images = []
    start = cfg.scale  # (model.config is cfg: read the first scale once, then shrink it)
    with torch.inference_mode():
        for k in range(frames):
            model.config.scale = start / zoom ** (k / (frames - 1))
            images.extend(to_pil(model.generate(z)))
    provenance = {
        "artkit": __version__,
        "command": "cppn-zoom",
        "model": "cppn",
        "seed": seed,
        "size": size,
        "frames": frames,
        "zoom": zoom,
        "net_seed": net_seed,
        "colour": colour,
        "hidden": hidden,
        "layers": layers,
    }
    path = write_animation(images, out, fps=fps, loop=True, provenance=provenance)
    say(f"{frames} frames, x{zoom:g} zoom -> {path}")
    print(path, flush=True)
