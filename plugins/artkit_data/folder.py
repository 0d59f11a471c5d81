"""``folder``: the images in a folder, decoded once, squared and cached.

Every readable image under the folder (recursively by default) is decoded when
the dataset is built -- in parallel threads, since Pillow releases the GIL while
it decodes and resamples -- turned upright (EXIF orientation), brought to the
target aspect (square, or ``HxW`` such as 64x128: centre crop, pad or stretch),
resized with Lanczos and converted to L / RGB / RGBA.
The result is one uint8 array ``(N, H, W, C)`` that serves every later epoch,
and is kept in the decoded-dataset cache (:mod:`artkit.dataset_cache`, keyed by the
fingerprint) so that the next run on unchanged files decodes nothing.
Files that cannot be read are skipped and reported once on stderr.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageColor, UnidentifiedImageError

from artkit.data import DecodedImages, resolution_value
from artkit.errors import ImageError, UsageError
from artkit.images import has_alpha

from .configs import FolderConfig, check_geometry

#: file suffixes read as images (compared case-insensitively)
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
#: below this many files decoding stays on the calling thread
PARALLEL_THRESHOLD = 8
#: Lanczos reducing_gap: shrink by whole factors first (fast), then resample
REDUCING_GAP = 2.0
_OWNER = "folder dataset"
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


class FolderDataset(DecodedImages):
    """The images in ``path`` as uint8 arrays ``(height, width, channels)``."""

    kind = "folder"

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        path: str,
        recursive: bool = True,
        fit: str = "crop",
        background: str = "white",
        exclude: str = "",
        workers: int | None = None,
        cache: bool = True,
    ):
        #: (height, width): ``resolution`` is one side or "HxW"
        self.size = check_geometry(_OWNER, resolution, channels)
        self.config = FolderConfig(
            path=path, recursive=recursive, fit=fit, background=background, exclude=exclude
        )  # validates
        self.resolution = resolution_value(*self.size)
        self.channels = channels
        self.path = path
        self.recursive = recursive
        self.fit = fit
        self.background = background
        self.root = Path(path).expanduser()
        if not self.root.exists():
            raise UsageError(f"{_OWNER}: {path!r} does not exist")
        if not self.root.is_dir():
            raise UsageError(f"{_OWNER}: {path!r} is a file, not a folder of images")

        entries = _scan(self.root, recursive)
        #: files left out because ``exclude=`` lists them (relative paths)
        self.excluded: list[str] = []
        if exclude:
            entries, self.excluded, exclude_key = _apply_exclude(entries, exclude)
        self._fingerprint = _fingerprint(entries, self.resolution, channels, fit, background)
        if exclude:  # the list's content, not just what it matched: caches follow edits
            self._fingerprint = hashlib.sha256(
                f"{self._fingerprint}\0exclude\0{exclude_key}".encode()
            ).hexdigest()[:16]
        if not entries:
            hint = ""
            if not recursive and _has_images_below(self.root):
                hint = "; subfolders have images: use recursive=true"
            if self.excluded:
                hint = f"; exclude= left out all {len(self.excluded)}"
            raise UsageError(
                f"{_OWNER}: no images found in {path!r} (looked for {', '.join(SUFFIXES)}){hint}"
            )

        #: True when the images came from the decoded-dataset cache (see .cache)
        self.cache_hit = False
        if cache:
            self.images, self.files, self.skipped = self._decode_cached(entries, workers)
        else:
            self.images, self.files, self.skipped = self._decode_all(entries, workers)
        if not self.files:
            first, reason = self.skipped[0]
            raise ImageError(
                f"{_OWNER}: none of the {len(entries)} image files in {path!r} could be read "
                f"(first: {first}: {reason})"
            )
        if self.skipped:
            first, reason = self.skipped[0]
            n = len(self.skipped)
            print(
                f"artkit: warning: skipped {n} of {len(entries)} files in {path!r} "
                f"that could not be read (first: {first}: {reason})",
                file=sys.stderr,
            )

    # -- decoding ---------------------------------------------------------------

    def _decode_cached(
        self, entries: list[tuple[str, int, int]], workers: int | None
    ) -> tuple[Any, list[str], list[tuple[str, str]]]:
        """``_decode_all`` through the decoded-dataset cache (keyed by the fingerprint)."""
        from artkit.dataset_cache import cached

        def build() -> tuple[Any, dict[str, Any]]:
            images, files, skipped = self._decode_all(entries, workers)
            return images, {"files": files, "reasons": [why for _, why in skipped]}

        r, c = self.resolution, self.channels
        images, meta, hit = cached("folder", self._fingerprint, r, c, build)
        files, reasons = meta.get("files"), meta.get("reasons")
        rels = [rel for rel, _, _ in entries]
        if not isinstance(files, list) or not isinstance(reasons, list):
            return self._decode_all(entries, workers)  # a hand-edited entry: decode
        kept = set(files)
        failed = [rel for rel in rels if rel not in kept]
        if len(files) != len(images) or len(failed) != len(reasons) or not kept <= set(rels):
            return self._decode_all(entries, workers)
        self.cache_hit = hit
        skipped = [
            (os.path.join(self.path, rel), str(why))
            for rel, why in zip(failed, reasons, strict=True)
        ]
        return images, files, skipped

    def _decode_all(
        self, entries: list[tuple[str, int, int]], workers: int | None
    ) -> tuple[Any, list[str], list[tuple[str, str]]]:
        import numpy as np

        size, c = self.size, self.channels
        bg = ImageColor.getrgb(self.background.strip())[:3]
        rels = [rel for rel, _, _ in entries]

        images = np.empty((len(rels), *size, c), dtype=np.uint8)

        def job(k: int) -> str | None:
            """Decode file k into images[k]; return why not, if it cannot be read."""
            result = _load(self.root / rels[k], size, c, self.fit, bg)
            if isinstance(result, str):
                return result
            images[k] = result
            return None

        if workers is None:
            workers = _cpu_count()
        if workers > 1 and len(rels) >= PARALLEL_THRESHOLD:
            # Pillow releases the GIL while it decodes and resamples, so threads scale.
            with ThreadPoolExecutor(max_workers=min(workers, len(rels))) as pool:
                failures = list(pool.map(job, range(len(rels))))
        else:
            failures = [job(k) for k in range(len(rels))]

        files = [rel for rel, why in zip(rels, failures, strict=True) if why is None]
        skipped = [
            (os.path.join(self.path, rel), why)
            for rel, why in zip(rels, failures, strict=True)
            if why is not None
        ]
        if skipped:
            images = images[[why is None for why in failures]]  # a compact copy
        return images, files, skipped

    # -- the ImageSource contract -----------------------------------------------

    # __len__, __getitem__, __iter__, as_array, fingerprint: DecodedImages

    def model_defaults(self) -> dict[str, Any]:
        """Grey pictures (scans, drawings, photographs in black and white) read as RGB or
        RGBA ask a model that can (``grey``: fastgan, dcgan, vae) to paint grey."""
        from artkit.data import grey_to_paint

        return grey_to_paint(self.images, self.channels)

    def __repr__(self) -> str:
        return (
            f"FolderDataset(path={self.path!r}, images={len(self)}, skipped={len(self.skipped)}, "
            f"resolution={self.resolution}, channels={self.channels}, fit={self.fit!r})"
        )


# -- helpers ----------------------------------------------------------------------


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(SUFFIXES)


def _scan(root: Path, recursive: bool) -> list[tuple[str, int, int]]:
    """``(relative posix path, size, mtime_ns)`` of every image file, sorted by path.

    Hidden files and folders (``.name``) are ignored; symlinked folders are
    followed once each (loops are cut).
    """
    found: list[tuple[str, int, int]] = []
    seen_dirs: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(key)
        if recursive:
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        else:
            dirnames[:] = []
        for name in filenames:
            if not _is_image_name(name):
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:
                continue  # dangling symlink
            if not os.path.isfile(full):
                continue
            rel = Path(os.path.relpath(full, root)).as_posix()
            found.append((rel, st.st_size, st.st_mtime_ns))
    found.sort()
    return found


def _apply_exclude(
    entries: list[tuple[str, int, int]], exclude: str
) -> tuple[list[tuple[str, int, int]], list[str], str]:
    """``entries`` without the files an exclude list names, those names, and the list's key.

    Entries are paths relative to the folder (:func:`artkit.data_check.read_exclude`:
    one a line, ``#`` comments, at most 16 MiB); an absolute path or ``..`` is a usage
    error. Names that match no file are ignored (already deleted, say).
    """
    from artkit.data_check import exclude_digest, read_exclude

    listed = read_exclude(exclude, owner=f"{_OWNER}: exclude file")
    drop = set(listed)
    kept = [e for e in entries if e[0] not in drop]
    left_out = [e[0] for e in entries if e[0] in drop]
    return kept, left_out, exclude_digest(listed)


def _has_images_below(root: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(_is_image_name(n) for n in filenames):
            return True
    return False


def _fingerprint(
    entries: list[tuple[str, int, int]],
    resolution: int | str,
    channels: int,
    fit: str,
    background: str,
) -> str:
    h = hashlib.sha256()
    h.update(f"artkit-folder-v1\0{resolution}\0{channels}\0{fit}\0{background}\0".encode())
    for rel, size, mtime_ns in entries:
        h.update(f"{rel}\0{size}\0{mtime_ns}\0".encode())
    return h.hexdigest()[:16]


# _load checks the size itself and skips such files with a reason; Pillow's own warning
# (several lines from worker threads) would only repeat it. artkit.images turns the
# warning into an error inside its own catch_warnings, which this does not affect.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _load(
    path: Path, size: tuple[int, int], channels: int, fit: str, bg: tuple[int, int, int]
) -> Any:
    """Decode one file into a uint8 array (height, width, channels), or return why it could not be read."""
    import numpy as np

    try:
        with Image.open(path) as im:
            # as `artkit info` and load_image: no decoding past Pillow's bomb limit (Pillow
            # itself only warns between the limit and twice it)
            limit = Image.MAX_IMAGE_PIXELS
            if limit and im.width * im.height > limit:
                return (
                    f"too large to decode safely ({im.width}x{im.height}, limit {limit:,} pixels)"
                )
            draft = int(REDUCING_GAP * max(size))
            im.draft(None, (draft, draft))  # JPEG: decode at a reduced scale, much faster
            im.load()
            out = _fit(_working_mode(_upright(im), channels), size, fit, bg)
        if out.mode == "RGBA" and channels != 4:
            flat = Image.new("RGBA", out.size, (*bg, 255))
            flat.alpha_composite(out)
            out = flat.convert(_MODES[channels])
        elif out.mode != _MODES[channels]:
            out = out.convert(_MODES[channels])
        arr = np.asarray(out, dtype=np.uint8)
        return arr.reshape(*size, channels)
    except UnidentifiedImageError:
        return "cannot identify image file"
    except Exception as exc:  # any decoder failure means "skip this file"
        return _reason(exc)


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a broken EXIF block does not lose the picture."""
    try:
        orientation = im.getexif().get(0x0112, 1)  # ExifTags.Base.Orientation
    except Exception:
        return im
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _working_mode(im: Image.Image, channels: int) -> Image.Image:
    """L, RGB or RGBA: RGBA whenever transparency matters (kept through resizing)."""
    if im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        im = _high_depth_to_l(im)
    if channels == 4 or has_alpha(im):
        return im if im.mode == "RGBA" else im.convert("RGBA")
    target = "L" if channels == 1 else "RGB"
    return im if im.mode == target else im.convert(target)


def _high_depth_to_l(im: Image.Image) -> Image.Image:
    """16-bit / 32-bit greyscale to 8-bit, scaled rather than clipped."""
    import numpy as np

    arr = np.asarray(im).astype(np.float64)
    if im.mode == "F":
        top = 1.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 255.0
    else:
        top = 65535.0 if im.mode.startswith("I;16") or (arr.size and arr.max() > 255) else 255.0
    arr = np.nan_to_num(arr / top * 255.0)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")


def _fit(
    im: Image.Image, target: tuple[int, int], fit: str, bg: tuple[int, int, int]
) -> Image.Image:
    """``im`` at ``target`` (height, width): stretched, centre-cropped or padded to its aspect."""
    w, h = im.size
    th, tw = target
    lanczos = Image.Resampling.LANCZOS
    if fit == "stretch":
        return im.resize((tw, th), lanczos, reducing_gap=REDUCING_GAP)
    if fit == "crop":
        # the largest centred box of the target's aspect
        if w * th >= h * tw:  # wider than the target: full height
            bw, bh = h * tw / th, h
        else:
            bw, bh = w, w * th / tw
        box = ((w - bw) / 2, (h - bh) / 2, (w + bw) / 2, (h + bh) / 2)
        return im.resize((tw, th), lanczos, box=box, reducing_gap=REDUCING_GAP)
    # pad: fit inside the target, centred on the background (or transparency)
    scale = min(tw / w, th / h)
    size = (min(tw, max(1, round(w * scale))), min(th, max(1, round(h * scale))))
    inner = im.resize(size, lanczos, reducing_gap=REDUCING_GAP)
    if im.mode == "RGBA":
        fill: Any = (0, 0, 0, 0)  # flattened onto the background later unless channels=4
    elif im.mode == "L":
        fill = ImageColor.getcolor("rgb({},{},{})".format(*bg), "L")
    else:
        fill = bg
    canvas = Image.new(im.mode, (tw, th), fill)
    canvas.paste(inner, ((tw - size[0]) // 2, (th - size[1]) // 2))
    return canvas
