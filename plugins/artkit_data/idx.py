"""``idx``: images from MNIST-format IDX files, the format many classic datasets ship in.

An IDX file is a big-endian header -- two zero bytes, a type code (``0x08``:
unsigned bytes), the number of dimensions -- then one 32-bit size per dimension
and the values. Image files are ``(N, H, W)`` (``0x00000803``: MNIST,
Fashion-MNIST, KMNIST, EMNIST...) or ``(N, H, W, C)`` with C in 1, 3, 4
(``0x00000804``). Files may be gzipped (detected by content, not by name);
``path`` may be a glob, whose files (sorted) must share one image size.

The header is checked against the file: a truncated file, trailing bytes, a label
file (``0x00000801``) or non-byte data is a one-line error naming the path. The
raw pixels are kept as they are (47 MB for MNIST) and converted on demand: one
image for ``ds[i]``, all of them in chunks for :meth:`as_array` (kept). The
conversion squares non-square images (``fit``), matches the channels (grey is
replicated, colour becomes grey with ITU-R 601 weights, alpha is composited onto
black) and resizes with ``resample`` -- in numpy, as two small matrix products
whose weights are Pillow's own filter for that resize (so the pixels match
Pillow's to rounding), which turns 60,000 MNIST digits into 64x64 in about a
second.

Class labels (:meth:`IdxDataset.class_labels`, what the ``classifier`` evaluation
features train on) come from IDX label files (``0x00000801``: N unsigned bytes):
``labels=`` names them (a glob too), else each image file's MNIST-style sibling is
looked for (``train-images-idx3-ubyte.gz`` -> ``train-labels-idx1-ubyte.gz``). They
are read with the same bounds as images, only when asked for, and must number one
per image; without them ``class_labels()`` is None and nothing else changes.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import math
import operator
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

from artkit.data import resolution_value
from artkit.errors import UsageError

from .configs import IdxConfig, check_geometry

#: bump whenever the conversion changes what any image looks like
RENDER_VERSION = 1
#: IDX type codes and what they hold
TYPES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short",
    0x0C: "int",
    0x0D: "float",
    0x0E: "double",
}
#: images converted per numpy batch in as_array (bounds the float32 temporaries)
CHUNK = 2048
_OWNER = "idx dataset"
_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "lanczos": Image.Resampling.LANCZOS,
}


class IdxDataset:
    """The images of IDX files as uint8 arrays ``(height, width, channels)``."""

    def __init__(
        self,
        *,
        resolution: int,
        channels: int,
        path: str,
        count: int = 0,
        resample: str = "bilinear",
        fit: str = "crop",
        invert: bool = False,
        labels: str = "",
    ):
        #: (height, width): ``resolution`` is one side or "HxW"
        self.size = check_geometry(_OWNER, resolution, channels)
        self.config = IdxConfig(
            path=path, count=count, resample=resample, fit=fit, invert=invert, labels=labels
        )  # validates
        self.resolution = resolution_value(*self.size)
        self.channels = channels
        self.path = path
        self.count = count
        self.resample = resample
        self.fit = fit
        self.invert = invert
        #: the IDX files read, in order
        self.files = _find(path)
        import numpy as np

        parts = [read_idx(f) for f in self.files]
        shapes = {p.shape[1:] for p in parts}
        if len(shapes) > 1:
            sizes = ", ".join(
                f"{os.path.basename(f)}: {_shape_text(p.shape)}"
                for f, p in zip(self.files, parts, strict=True)
            )
            raise UsageError(f"{_OWNER}: the files of {path!r} differ in image size ({sizes})")
        raw = parts[0] if len(parts) == 1 else np.concatenate(parts)
        #: images available in the files (before ``count``)
        self.available = len(raw)
        if count > len(raw):
            raise UsageError(
                f"{_OWNER}: count={count} is more than the {len(raw)} images in {path!r} "
                f"(use count=0 for all of them)"
            )
        #: the raw pixels ``(N, H, W, C)``, read-only
        self.raw = raw[:count] if count else raw
        self._sizes = [len(p) for p in parts]
        #: IDX images are never skipped: a bad file is an error
        self.skipped: list[tuple[str, str]] = []
        self._fingerprint = _fingerprint(self.files, self._spec())
        self._array: Any = None
        self._plan = self._make_plan()
        #: the label files: given (``labels=``, read now so a wrong one fails here) or found
        self.label_files = _find(labels) if labels else _labels_beside(self.files)
        self._labels: Any = self._read_labels() if labels else None

    # -- conversion -------------------------------------------------------------

    def _make_plan(self) -> dict[str, Any]:
        _, h, w, _ = self.raw.shape
        th, tw = self.size
        wider = w * th >= h * tw  # than the target's aspect
        # crop: the largest centred window of the target's aspect (a square one: min side)
        ch, cw = (
            (h, min(w, max(1, round(h * tw / th))))
            if wider
            else (min(h, max(1, round(w * th / tw))), w)
        )
        crop = (
            slice(None),
            slice((h - ch) // 2, (h - ch) // 2 + ch),
            slice((w - cw) // 2, (w - cw) // 2 + cw),
        )
        # pad: the smallest centred canvas of that aspect around the image
        ph, pw = (max(h, round(w * th / tw)), w) if wider else (h, max(w, round(h * tw / th)))
        pad = (
            (0, 0),
            ((ph - h) // 2, ph - h - (ph - h) // 2),
            ((pw - w) // 2, pw - w - (pw - w) // 2),
            (0, 0),
        )
        if self.fit == "crop":
            sh, sw = ch, cw
        elif self.fit == "pad":
            sh, sw = ph, pw
        else:
            sh, sw = h, w
        method = _RESAMPLE[self.resample]
        return {
            "crop": crop if self.fit == "crop" and (ch, cw) != (h, w) else None,
            "pad": pad if self.fit == "pad" and (ph, pw) != (h, w) else None,
            "rows": None if sh == th else _weights(sh, th, method),
            "cols": None if sw == tw else _weights(sw, tw, method),
        }

    def convert(self, raw: Any) -> Any:
        """Raw pixels ``(n, H, W, C)`` -> uint8 ``(n, R, R, channels)`` (a fresh array)."""
        import numpy as np

        plan = self._plan
        x = np.asarray(raw)
        c = x.shape[-1]
        if self.invert:
            x = x.copy()
            x[..., :3] = 255 - x[..., :3]
        if plan["crop"] is not None:
            x = x[plan["crop"]]
        elif plan["pad"] is not None:
            x = np.pad(x, plan["pad"])
        want = self.channels
        # fewer channels before resizing (cheaper), more after
        if c == 4 and want != 4:  # composite onto black
            x = (x[..., :3].astype(np.uint16) * x[..., 3:] + 127) // 255
            c = 3
        if c == 3 and want == 1:
            x = (x.astype(np.uint32) @ np.array([299, 587, 114], np.uint32) + 500) // 1000
            x = x[..., None]
            c = 1
        x = _resize(x, plan["rows"], plan["cols"])
        if c == 1 and want in (3, 4):
            x = np.repeat(x, 3, axis=-1)
            c = 3
        if c == 3 and want == 4:
            alpha = np.full((*x.shape[:-1], 1), 255, dtype=np.uint8)
            x = np.concatenate([x, alpha], axis=-1)
        out = np.ascontiguousarray(x, dtype=np.uint8)
        if out is raw or not out.flags.writeable or not out.flags.owndata:
            out = out.copy()
        return out

    # -- the ImageSource contract -----------------------------------------------

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, slice):
            return self.as_array()[index]
        i = operator.index(index)
        n = len(self.raw)
        if not -n <= i < n:
            raise IndexError(f"idx dataset index {i} out of range ({n} images)")
        if self._array is not None:
            return self._array[i]
        i %= n
        return self.convert(self.raw[i : i + 1])[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def as_array(self) -> Any:
        """Every image as one uint8 array ``(N, R, R, C)``, converted once and kept.

        The array is the cache itself (``torch.from_numpy`` shares it): treat it as read-only.
        """
        if self._array is None:
            import numpy as np

            n = len(self.raw)
            out = np.empty((n, *self.size, self.channels), dtype=np.uint8)
            for start in range(0, n, CHUNK):
                out[start : start + CHUNK] = self.convert(self.raw[start : start + CHUNK])
            self._array = out
        return self._array

    def fingerprint(self) -> str:
        return self._fingerprint

    def label(self, index: int) -> str:
        """``train-images-idx3-ubyte #12`` style name of image ``index``."""
        i = operator.index(index) % len(self.raw)
        for f, size in zip(self.files, self._sizes, strict=True):
            if i < size:
                return f"{os.path.basename(f)} #{i}"
            i -= size
        raise IndexError(index)

    def model_defaults(self) -> dict[str, Any]:
        """With label files, condition a model that can be (``classes``) on them: MNIST's
        digits, Fashion-MNIST's garments, each drawn on request (``label=7``). Grey files
        read as RGB or RGBA ask for a grey painter (``grey``: fastgan, dcgan, vae), which
        cannot tint."""
        from artkit.data import classes_to_condition_on

        grey = self.raw.shape[-1] == 1 and self.channels in (3, 4)
        return {**classes_to_condition_on(self), **({"grey": True} if grey else {})}

    def class_labels(self) -> Any:
        """Each image's class from the label files (int64 ``(N,)``), or None without them."""
        if self._labels is None and self.label_files:
            self._labels = self._read_labels()
        return self._labels

    def _read_labels(self) -> Any:
        import numpy as np

        parts = [read_idx_labels(f) for f in self.label_files]
        labels = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if len(labels) != self.available:
            names = ", ".join(os.path.basename(f) for f in self.label_files)
            raise UsageError(
                f"{_OWNER}: {names} hold {len(labels)} labels for {self.available} images"
            )
        return labels[: len(self.raw)].astype(np.int64)

    def summary(self) -> dict[str, Any]:
        """Extra facts for ``artkit data info``."""
        return {
            "files": list(self.files),
            "source_images": self.available,
            "source_shape": _shape_text(self.raw.shape),
        }

    def _spec(self) -> dict[str, Any]:
        return {
            "dataset": "idx",
            "version": RENDER_VERSION,
            "resolution": self.resolution,
            "channels": self.channels,
            "count": self.count,
            "resample": self.resample,
            "fit": self.fit,
            "invert": self.invert,
        }

    def __repr__(self) -> str:
        return (
            f"IdxDataset(path={self.path!r}, images={len(self)}, "
            f"source={_shape_text(self.raw.shape)}, resolution={self.resolution}, "
            f"channels={self.channels})"
        )


# -- reading IDX files ----------------------------------------------------------------


def _find(path: str) -> list[str]:
    spec = os.path.expanduser(path.strip())
    if glob.has_magic(spec):
        files = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
        if not files:
            raise UsageError(f"{_OWNER}: no files match {path!r}")
        return files
    p = Path(spec)
    if p.is_dir():
        found = sorted(q.name for q in p.iterdir() if "idx3" in q.name or "idx4" in q.name)
        hint = f" such as {str(p / found[0])!r}" if found else " (e.g. train-images-idx3-ubyte.gz)"
        raise UsageError(f"{_OWNER}: {path!r} is a folder; pass an IDX image file{hint}")
    if not p.exists():
        raise UsageError(f"{_OWNER}: {path!r} does not exist")
    return [str(p)]


#: the most bytes one IDX file may decode to (EMNIST's largest is about 550 MB)
MAX_IDX_BYTES = 2 << 30
#: pictures never compress this well; a gzip that expands more is a decompression bomb
MAX_GZIP_RATIO = 100


def _read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when it is gzip; bounded before anything is allocated."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                size = os.fstat(fh.fileno()).st_size
                limit = min(MAX_IDX_BYTES, max(1 << 20, size * MAX_GZIP_RATIO))
                with gzip.GzipFile(fileobj=fh) as gz:
                    data = gz.read(limit + 1)
                if len(data) > limit:
                    raise UsageError(
                        f"{_OWNER}: {path!r} expands to more than {limit:,} bytes from "
                        f"{size:,} (a decompression bomb?); refusing to decode it"
                    )
                return data
            if os.fstat(fh.fileno()).st_size > MAX_IDX_BYTES:
                raise UsageError(f"{_OWNER}: {path!r} is larger than {MAX_IDX_BYTES:,} bytes")
            return fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(f"{_OWNER}: {path!r} is a damaged gzip file ({why})") from None
    except OSError as exc:
        raise UsageError(f"{_OWNER}: cannot read {path!r}: {exc.strerror or exc}") from None


def read_idx(path: str) -> Any:
    """The images of one IDX file as a read-only uint8 array ``(N, H, W, C)``.

    Every way the file can disagree with its header is a one-line
    :class:`UsageError` naming ``path``.
    """
    import numpy as np

    data = _read_bytes(path)
    if len(data) < 4:
        raise UsageError(f"{_OWNER}: {path!r} is too short to be an IDX file ({len(data)} bytes)")
    zero, kind, ndim = struct.unpack_from(">HBB", data)
    if zero != 0 or kind not in TYPES or ndim == 0:
        magic = data[:4].hex()
        raise UsageError(
            f"{_OWNER}: {path!r} is not an IDX file (it starts with 0x{magic}; "
            f"image files start with 0x00000803)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UsageError(f"{_OWNER}: {path!r} is truncated inside its header")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    if kind != 0x08:
        raise UsageError(
            f"{_OWNER}: {path!r} holds {TYPES[kind]} values; only unsigned-byte images "
            f"(magic 0x00000803) are supported"
        )
    if ndim == 1:
        raise UsageError(
            f"{_OWNER}: {path!r} is an IDX label file ({dims[0]} labels), not images; "
            f"pass the images file (e.g. train-images-idx3-ubyte)"
        )
    if ndim not in (3, 4) or (ndim == 4 and dims[3] not in (1, 3, 4)):
        raise UsageError(
            f"{_OWNER}: {path!r} holds an array of shape {_shape_text(dims, sep=' x ')}; "
            f"images are N x H x W or N x H x W x C with C in 1, 3, 4"
        )
    n, h, w = dims[:3]
    if n == 0 or h == 0 or w == 0:
        raise UsageError(f"{_OWNER}: {path!r} holds no images (shape {_shape_text(dims)})")
    expected = math.prod(dims)
    have = len(data) - header
    if have < expected:
        raise UsageError(
            f"{_OWNER}: {path!r} is truncated: its header promises {n} images of {w}x{h} "
            f"({expected} bytes) but only {have} bytes follow"
        )
    if have > expected:
        raise UsageError(
            f"{_OWNER}: {path!r} has {have - expected} bytes after its {n} images of {w}x{h}; "
            f"is it really an IDX file?"
        )
    c = dims[3] if ndim == 4 else 1
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(n, h, w, c)


def read_idx_labels(path: str) -> Any:
    """The labels of one IDX label file (``0x00000801``) as uint8 ``(N,)``; bad files are one-line errors."""
    import numpy as np

    data = _read_bytes(path)
    if len(data) < 8 or data[:4] != b"\x00\x00\x08\x01":
        raise UsageError(
            f"{_OWNER}: {path!r} is not an IDX label file (it starts with 0x{data[:4].hex()}; "
            f"label files start with 0x00000801)"
        )
    (n,) = struct.unpack_from(">I", data, 4)
    if len(data) - 8 != n:
        raise UsageError(
            f"{_OWNER}: {path!r} promises {n} labels but holds {len(data) - 8} bytes of them"
        )
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=8)


def _labels_beside(files: list[str]) -> list[str]:
    """Each image file's MNIST-style label file (``*-labels-idx1-ubyte``); [] unless all have one."""
    found = []
    for f in files:
        head, name = os.path.split(f)
        other = name.replace("images", "labels", 1).replace("idx3", "idx1").replace("idx4", "idx1")
        if other == name:
            return []
        for candidate in (
            other,
            other.removesuffix(".gz") if other.endswith(".gz") else other + ".gz",
        ):
            if os.path.isfile(os.path.join(head, candidate)):
                found.append(os.path.join(head, candidate))
                break
        else:
            return []
    return found


def write_idx(path: str | os.PathLike[str], images: Any, *, compress: bool | None = None) -> Path:
    """Write uint8 images ``(N, H, W)`` or ``(N, H, W, C)`` as an IDX file (gzipped for ``.gz``).

    For tests and for turning other data into something ``idx`` reads.
    """
    import numpy as np

    from artkit.atomic import atomic_write_bytes

    arr = np.ascontiguousarray(images, dtype=np.uint8)
    if arr.ndim not in (3, 4):
        raise UsageError(f"write_idx needs (N, H, W) or (N, H, W, C) images, not {arr.shape}")
    blob = struct.pack(f">HBB{arr.ndim}I", 0, 0x08, arr.ndim, *arr.shape) + arr.tobytes()
    target = Path(path)
    if compress is None:
        compress = target.suffix == ".gz"
    if compress:
        blob = gzip.compress(blob, mtime=0)
    return atomic_write_bytes(target, blob)


# -- helpers --------------------------------------------------------------------------


def _shape_text(shape: Any, sep: str = "x") -> str:
    dims = list(shape)
    if len(dims) == 4 and sep == "x":  # (N, H, W, C) -> WxH, C channels
        return f"{dims[2]}x{dims[1]}x{dims[3]}"
    return sep.join(str(d) for d in dims)


def _weights(src: int, dst: int, method: Image.Resampling) -> Any:
    """The ``(dst, src)`` matrix of Pillow's 1-D resampling filter from src to dst pixels.

    Resizing an identity image vertically gives, in column j, the response to an
    impulse at row j: exactly the weights Pillow uses (antialiased when shrinking).
    """
    import numpy as np

    eye = Image.fromarray(np.eye(src, dtype=np.float32))
    return np.asarray(eye.resize((src, dst), method), dtype=np.float32)


def _resize(x: Any, rows: Any, cols: Any) -> Any:
    """``(n, H, W, C)`` uint8 -> ``(n, R, R, C)`` uint8 with separable weight matrices.

    Like Pillow: the horizontal pass first, rounded and clipped to bytes, then the
    vertical one. Each pass is a single large matrix product over the whole batch.
    """
    import numpy as np

    if rows is None and cols is None:
        return x
    n, h, w, c = x.shape
    y = x.transpose(0, 3, 1, 2).astype(np.float32)  # n, C, H, W
    if cols is not None:
        y = _bytes(y.reshape(-1, w) @ cols.T).reshape(n, c, h, -1)
    if rows is not None:
        wo = y.shape[-1]
        y = y.transpose(0, 1, 3, 2).reshape(-1, h)  # rows of (n, C, W', H)
        y = _bytes(y @ rows.T).reshape(n, c, wo, -1).transpose(0, 1, 3, 2)
    return y.astype(np.uint8).transpose(0, 2, 3, 1)


def _bytes(y: Any) -> Any:
    """Round and clip to 0..255 in place (still float32)."""
    import numpy as np

    np.rint(y, out=y)
    return np.clip(y, 0, 255, out=y)


def _fingerprint(files: list[str], spec: dict[str, Any]) -> str:
    stats = []
    for f in files:
        st = os.stat(f)
        stats.append([os.path.abspath(f), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"files": stats, **spec}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
