"""``lit-halves``: a tiny labelled dataset whose pictures vary by class and by style.

Shared by ``tests/test_styles.py`` and the plugin file its DDP test writes (a module of
its own, so that plugin can import it without importing a test module).
"""

from __future__ import annotations

import numpy as np

from artkit.data import DecodedImages, classes_to_condition_on, styles_to_learn

#: the ink of each style: dim and bright
INK = (90, 240)


class LitHalves(DecodedImages):
    """64 grey 32 px pictures: class 0 lights the left half, class 1 the right; style 0
    lights it dim, style 1 bright. One picture in four is bright (``bright`` shares)."""

    kind = "lit-halves"

    def __init__(self, resolution: int = 32, channels: int = 1, *, styles: bool = True):
        rng = np.random.default_rng(0)
        n = 64
        self.resolution, self.channels = resolution, channels
        self.classes = np.arange(n) % 2
        self.styles = (np.arange(n) // 2 % 4 == 0).astype(np.int64)  # a quarter bright
        images = rng.integers(0, 30, (n, resolution, resolution, channels), dtype=np.uint8)
        half = resolution // 2
        for image, c, s in zip(images, self.classes, self.styles, strict=True):
            image[:, half * c : half * (c + 1)] = INK[s]
        self.images = images
        self._fingerprint = f"lit-halves-{resolution}-{channels}"
        self._styles = styles

    def class_labels(self):
        return self.classes

    def style_labels(self):
        return self.styles if self._styles else None

    def model_defaults(self):
        return {**classes_to_condition_on(self), **styles_to_learn(self)}
