"""``artkit weights import inception FILE``: the FID Inception weights' source.

Registered as the ``importer`` and ``sources`` extras of the ``inception-weights``
asset (see :mod:`artkit_eval`); torch is imported only when weights are imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def import_inception(file: Path) -> tuple[Path, str]:
    """Convert pytorch-fid's ``.pth`` into artkit's cache; the message says whether it is standard."""
    from artkit.eval.inception import import_fid_weights

    target, standard = import_fid_weights(file)
    verdict = (
        "is the standard FID file (SHA-256 verified)"
        if standard
        else "is NOT the published FID file (SHA-256 differs): distances will not be called FID"
    )
    return target, f"inception: {file} {verdict}"


def sources_inception() -> list[dict[str, Any]]:
    """Where the FID Inception weights are looked for, in order."""
    from artkit.eval.weight_paths import fid_weight_sources

    return [
        {"name": "inception", "label": "FID Inception-v3", "source": kind, "path": str(path)}
        for kind, path in fid_weight_sources()
    ]
