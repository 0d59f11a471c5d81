"""Where the FID Inception weights are looked for, computed without torch.

In order (:func:`fid_weight_sources`):

1. an explicit file (``--weights FILE``): the pytorch-fid ``.pth`` (read with
   ``weights_only=True``) or a ``.safetensors`` made by ``artkit weights import``;
2. artkit's cache, ``$ARTKIT_CACHE_DIR/weights/inception.safetensors``, filled by
   ``artkit weights import inception pt_inception-2015-12-05-6726825d.pth`` or on
   first use of a file found in 3 or 4;
3. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/`` (default
   ``~/.cache/torch``), under pytorch-fid's or torch-fidelity's file name -- where
   either tool leaves it after its own download;
4. a download from pytorch-fid's release, only when the host answers within a
   couple of seconds and ``ARTKIT_OFFLINE`` is not set.

Weights are *standard* only when the ``.pth`` they came from has the published
SHA-256 (:data:`FID_SHA256`); only then is a distance called FID.
"""

from __future__ import annotations

import os
from pathlib import Path

from artkit import assets

#: pytorch-fid's file name for the TF 2015-12-05 Inception graph ported to PyTorch
FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
#: torch-fidelity's name for the same file
FID_WEIGHTS_ALT = "weights-inception-2015-12-05-6726825d.pth"
FID_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS
#: SHA-256 of that file (its name carries the first 8 hex digits, torch hub style)
FID_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
FID_SIZE_MB = 92


def cached_fid_path() -> Path:
    """Where ``artkit weights import inception`` puts the converted weights."""
    return assets.weights_cache_dir() / "inception.safetensors"


def fid_weight_sources(explicit: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """``[(kind, path), ...]`` in lookup order (:func:`artkit.assets.weight_sources`)."""
    return assets.weight_sources(
        "inception.safetensors", (FID_WEIGHTS, FID_WEIGHTS_ALT), explicit=explicit
    )


def locate_fid_weights() -> str | None:
    """The first FID Inception weights file found, or None (the ``inception-weights`` asset)."""
    for _, path in fid_weight_sources():
        if path.is_file():
            return str(path)
    return None


# kept for callers that import them from here
torch_hub_checkpoints = assets.torch_hub_checkpoints
offline = assets.offline


def list_fid_weights() -> list[dict[str, object]]:
    """Rows for ``artkit weights list``: each place the FID weights are looked for."""
    rows: list[dict[str, object]] = []
    for kind, path in fid_weight_sources():
        exists = path.is_file()
        rows.append(
            {
                "name": "inception",
                "label": "FID Inception-v3",
                "source": kind,
                "path": str(path),
                "present": exists,
                "bytes": path.stat().st_size if exists else None,
            }
        )
    return rows
