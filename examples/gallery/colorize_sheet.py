"""Before/after sheet and colour error for the colourisation gallery (see COLORIZE.md).

Reads what ``artkit translate ... sample:NAME --size N -o DIR`` wrote into DIR and
lays out one row per picture: the black-and-white input (the photo's lightness,
which is all the model reads) | the colourised result | the original colour photo
(when there is one). For each photo with an original it prints the mean CIE76
colour difference (delta E, scikit-image's Lab) of the result and of the
black-and-white input to the original.

    python examples/gallery/colorize_sheet.py coloured/ --size 256 -o examples/gallery/colorize-sheet.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np  # noqa: TID253 -- a script, never imported by artkit
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from artkit.grid import make_grid
from artkit.images import save_image
from artkit_data.samples import sample_image

PICTURES = ("camera", "chelsea", "coffee")


def resize_longest(image: Image.Image, size: int) -> Image.Image:
    """What ``artkit translate --size`` does to its input."""
    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new, Image.Resampling.LANCZOS)


def lightness_only(rgb: np.ndarray) -> np.ndarray:
    lab = rgb2lab(rgb / 255.0)
    lab[..., 1:] = 0
    return np.clip(np.round(lab2rgb(lab) * 255), 0, 255).astype(np.uint8)


def delta_e(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(rgb2lab(a / 255.0) - rgb2lab(b / 255.0), axis=-1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("coloured", type=Path, help="the folder artkit translate wrote")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("-o", "--out", type=Path, default=Path("colorize-sheet.png"))
    args = parser.parse_args()

    cells, labels = [], []
    for name in PICTURES:
        photo = resize_longest(sample_image(name), args.size)
        result = Image.open(args.coloured / f"{name}.png").convert("RGB")
        if photo.mode == "L":  # a real black-and-white photo: nothing to compare with
            cells += [photo.convert("RGB"), result, Image.new("RGB", photo.size, "white")]
            labels += [f"{name} (black and white)", "colourised", "(no original)"]
            continue
        original = np.asarray(photo.convert("RGB"))
        grey = lightness_only(original)
        ours, base = delta_e(np.asarray(result), original), delta_e(grey, original)
        print(f"{name}: delta E colourised {ours:.2f}, black and white {base:.2f}")
        cells += [Image.fromarray(grey), result, photo.convert("RGB")]
        labels += [
            f"{name}, greyscaled",
            f"colourised (dE {ours:.1f})",
            f"original (grey dE {base:.1f})",
        ]
    sheet = make_grid(cells, columns=3, padding=4, labels=labels)
    save_image(
        sheet,
        args.out,
        provenance={"command": "examples/gallery/colorize_sheet.py", "pictures": list(PICTURES)},
    )
    print(args.out)


if __name__ == "__main__":
    main()
