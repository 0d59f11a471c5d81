"""Colour preservation for style transfer (Gatys et al. 2017, "Controlling perceptual factors").

Two ways to keep the content's colours, both wrapped around the optimisation:

``luminance``
    Transfer style on luminance only. Content and style become greyscale (the
    style's luminance first matched to the content's mean and spread), the
    optimisation runs on those, and the result's luminance is recombined with the
    content's chroma (Cb, Cr of full-range BT.601 YCbCr). The chroma is then the
    content's exactly, up to 8-bit rounding.
``histogram``
    Recolour the style image so its RGB mean and covariance match the content's
    (a linear transform), then transfer as usual: the picture takes the content's
    palette, with the style's texture.

Pillow and numpy only; numpy is imported inside the functions (fast start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "COLOUR_MODES",
    "chroma_difference",
    "finish_colour",
    "luminance_image",
    "match_histogram",
    "prepare_colour",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
]

COLOUR_MODES = ("luminance", "histogram")

# full-range BT.601 (JPEG) YCbCr
_RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
_YCBCR_TO_RGB = (
    (1.0, 0.0, 1.402),
    (1.0, -0.344136, -0.714136),
    (1.0, 1.772, 0.0),
)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` RGB in 0..255 -> YCbCr floats (Y 0..255, Cb/Cr centred on 128)."""
    import numpy as np

    m = np.asarray(_RGB_TO_YCBCR, dtype=np.float64)
    out = np.asarray(rgb, dtype=np.float64) @ m.T
    out[..., 1:] += 128.0
    return out


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`; floats, not clipped."""
    import numpy as np

    x = np.asarray(ycc, dtype=np.float64).copy()
    x[..., 1:] -= 128.0
    return x @ np.asarray(_YCBCR_TO_RGB, dtype=np.float64).T


def _array(image: Image.Image) -> np.ndarray:
    import numpy as np

    return np.asarray(image.convert("RGB"), dtype=np.float64)


def _image(array: np.ndarray) -> Image.Image:
    import numpy as np

    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), "RGB")


def luminance_image(image: Image.Image, *, like: Image.Image | None = None) -> Image.Image:
    """Greyscale (Y) as an RGB image; with ``like``, Y's mean and spread matched to ``like``'s."""
    y = rgb_to_ycbcr(_array(image))[..., 0]
    if like is not None:
        ref = rgb_to_ycbcr(_array(like))[..., 0]
        std = y.std()
        y = (y - y.mean()) * (ref.std() / std if std > 1e-6 else 1.0) + ref.mean()
    import numpy as np

    return _image(np.repeat(y[..., None], 3, axis=-1))


def combine_luminance(stylised: Image.Image, content: Image.Image) -> Image.Image:
    """The stylised image's luminance with the content's chroma (content resized to fit)."""
    import numpy as np

    if content.size != stylised.size:
        content = content.convert("RGB").resize(stylised.size, Image.Resampling.LANCZOS)
    y = rgb_to_ycbcr(_array(stylised))[..., 0]
    ycc = rgb_to_ycbcr(_array(content))
    return _image(ycbcr_to_rgb(np.concatenate([y[..., None], ycc[..., 1:]], axis=-1)))


def match_histogram(style: Image.Image, content: Image.Image) -> Image.Image:
    """Recolour ``style`` so its RGB mean and covariance equal ``content``'s.

    ``x' = C_c^(1/2) C_s^(-1/2) (x - mu_s) + mu_c`` with symmetric matrix square
    roots (the "image analogies" colour transfer Gatys et al. use).
    """
    import numpy as np

    s = _array(style).reshape(-1, 3)
    c = _array(content).reshape(-1, 3)
    mu_s, mu_c = s.mean(0), c.mean(0)
    cov_s = np.cov((s - mu_s).T) + np.eye(3) * 1e-3
    cov_c = np.cov((c - mu_c).T) + np.eye(3) * 1e-3

    def sqrtm(m: np.ndarray, inverse: bool = False) -> np.ndarray:
        vals, vecs = np.linalg.eigh(m)
        vals = np.clip(vals, 1e-6, None)
        power = -0.5 if inverse else 0.5
        return (vecs * vals**power) @ vecs.T

    transform = sqrtm(cov_c) @ sqrtm(cov_s, inverse=True)
    out = (s - mu_s) @ transform.T + mu_c
    return _image(out.reshape(style.height, style.width, 3))


def prepare_colour(
    mode: str | None, content: Image.Image, styles: list[Image.Image]
) -> tuple[Image.Image, list[Image.Image]]:
    """Content and style images as the optimisation should see them for ``mode``."""
    if not mode:
        return content, styles
    if mode == "luminance":
        return luminance_image(content), [luminance_image(s, like=content) for s in styles]
    if mode == "histogram":
        return content, [match_histogram(s, content) for s in styles]
    raise ValueError(f"unknown colour mode {mode!r}; use {', '.join(COLOUR_MODES)}")


def finish_colour(mode: str | None, result: Image.Image, content: Image.Image) -> Image.Image:
    """The final picture for ``mode``: luminance mode puts the content's chroma back."""
    if mode == "luminance":
        return combine_luminance(result, content)
    return result


def chroma_difference(a: Image.Image | Any, b: Image.Image | Any) -> float:
    """Mean absolute difference of Cb and Cr (0..255 scale) between two same-size images."""
    import numpy as np

    ca = rgb_to_ycbcr(_array(a) if isinstance(a, Image.Image) else np.asarray(a))[..., 1:]
    cb = rgb_to_ycbcr(_array(b) if isinstance(b, Image.Image) else np.asarray(b))[..., 1:]
    return float(np.abs(ca - cb).mean())
