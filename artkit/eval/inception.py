"""The FID Inception-v3: the network and weights that make a Fréchet distance an FID.

FID is defined by one network: the Inception-v3 graph TensorFlow published on
2015-12-05, which pytorch-fid and torch-fidelity reproduce in PyTorch. It is
torchvision's Inception-v3 with 1008 classes and four differences in pooling
(TensorFlow's average pools ignore the zero padding, and the last block pools with
max): the ``FIDInceptionA/C/E`` blocks below. Features are the 2048 values after
the final average pool, from images resized to 299x299 with bilinear
interpolation (no antialiasing, as pytorch-fid does) and scaled to [-1, 1].

Weights are looked for as :mod:`artkit.eval.weight_paths` describes; a ``.pth`` is
only ever read with ``torch.load(weights_only=True)`` (tensors, never code) and is
converted once into artkit's cache as safetensors. A file counts as the standard
weights only if its SHA-256 is the published one; other weights that fit the
network still work, labelled "FD (inception-unverified)", never FID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from artkit.errors import ArtkitError, CheckpointError, UsageError
from artkit.eval import weight_paths as wp
from artkit.eval.embedder import Embedder
from artkit.eval.random_conv import build_random_conv


def _fid_blocks() -> dict[str, type]:
    """The FID variants of torchvision's Inception blocks (their pooling differs only)."""
    from torchvision.models import inception as tv

    def pool_avg(x: Tensor) -> Tensor:  # TF: padded zeros do not count in the average
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)

    class FIDInceptionA(tv.InceptionA):
        def forward(self, x: Tensor) -> Tensor:
            b1 = self.branch1x1(x)
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return torch.cat([b1, b5, b3, self.branch_pool(pool_avg(x))], 1)

    class FIDInceptionC(tv.InceptionC):
        def forward(self, x: Tensor) -> Tensor:
            b1 = self.branch1x1(x)
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                          self.branch7x7dbl_4, self.branch7x7dbl_5):  # fmt: skip
                d = layer(d)
            return torch.cat([b1, b7, d, self.branch_pool(pool_avg(x))], 1)

    class FIDInceptionE(tv.InceptionE):
        max_pool = False  # Mixed_7c pools with max in the TF graph (Mixed_7b with avg)

        def forward(self, x: Tensor) -> Tensor:
            b1 = self.branch1x1(x)
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            pool = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else pool_avg(x)
            return torch.cat([b1, b3, d, self.branch_pool(pool)], 1)

    class FIDInceptionE2(FIDInceptionE):
        max_pool = True

    return {"A": FIDInceptionA, "C": FIDInceptionC, "E1": FIDInceptionE, "E2": FIDInceptionE2}


class FIDInception(Embedder):
    """Inception-v3 in its FID form: 2048 pooled features of 299x299 inputs."""

    name = "inception-unverified"
    input_size = 299
    native_input = True  # resized here, in torch, exactly as pytorch-fid does

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import inception as tv

        blocks = _fid_blocks()
        # built under a forked RNG: default initialisation would move the caller's
        # random stream (and break exact resume when a training run evaluates)
        with torch.random.fork_rng(devices=[]):
            net = tv.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
            net.Mixed_5b = blocks["A"](192, pool_features=32)
            net.Mixed_5c = blocks["A"](256, pool_features=64)
            net.Mixed_5d = blocks["A"](288, pool_features=64)
            net.Mixed_6b = blocks["C"](768, channels_7x7=128)
            net.Mixed_6c = blocks["C"](768, channels_7x7=160)
            net.Mixed_6d = blocks["C"](768, channels_7x7=160)
            net.Mixed_6e = blocks["C"](768, channels_7x7=192)
            net.Mixed_7b = blocks["E1"](1280)
            net.Mixed_7c = blocks["E2"](2048)
        self.net = net.eval()

    def prepare(self, images: Tensor) -> Tensor:
        images = self.to_rgb(images)
        if images.shape[-2:] != (299, 299):
            images = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        return images

    def forward(self, x: Tensor) -> Tensor:
        n = self.net
        x = n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                     "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):  # fmt: skip
            x = getattr(n, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def load_fid_state(self, state: dict[str, Tensor], source: str, *, standard: bool) -> None:
        """Load pytorch-fid's state dict (strictly: every tensor, every shape)."""
        check_fid_state(state, source)
        self.net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        self.standard_fid = standard
        self.name = "inception" if standard else "inception-unverified"


def check_fid_state(state: Any, source: str) -> None:
    """Raise a one-line CheckpointError unless ``state`` is a full FID Inception state dict."""
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{source}: not a state dict of tensors")
    expected = _expected_shapes()
    # BatchNorm's num_batches_tracked is younger than the file (torch fills it in)
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        first = (wrong or missing or unexpected)[0]
        raise CheckpointError(
            f"{source}: not the FID Inception weights ({len(missing)} missing, {len(unexpected)} "
            f"unexpected, {len(wrong)} wrongly shaped tensors; first: {first})"
        )
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{source}: tensor {bad[0]!r} contains NaN or Inf")


_SHAPES: dict[str, tuple[int, ...]] = {}


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    if not _SHAPES:
        with torch.device("meta"):
            net = FIDInception().net
        _SHAPES.update({k: tuple(v.shape) for k, v in net.state_dict().items()})
    return _SHAPES


def content_digest(state: dict[str, Tensor]) -> str:
    """SHA-256 of every tensor's name, dtype, shape and bytes (safetensors files re-hashable)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}\n".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- weights


def read_pth(path: Path) -> dict[str, Tensor]:
    """A ``.pth`` state dict through ``weights_only=True``: a pickle with code is refused."""
    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = (str(exc).strip().splitlines() or ["unsafe content"])[0]
        raise CheckpointError(
            f"{path}: refused: the pickle holds more than tensors ({first[:120]})"
        ) from None
    except Exception as exc:
        why = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise CheckpointError(f"{path}: cannot read as a PyTorch checkpoint ({why})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return state


def import_fid_weights(path: str | Path) -> tuple[Path, bool]:
    """Convert a ``.pth`` into artkit's cache as safetensors; returns (cached path, standard)."""
    from artkit import __version__
    from artkit.checkpoint import save_tensors, sha256_file

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    file_hash = sha256_file(path)
    state = read_pth(path)
    check_fid_state(state, str(path))
    target = wp.cached_fid_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "artkit.version": __version__,
        "artkit.extractor": "inception",
        "artkit.source": str(path),
        "artkit.source_sha256": file_hash,
        "artkit.content_sha256": content_digest(state),
    }
    save_tensors(target, state, meta)
    return target, file_hash == wp.FID_SHA256


def load_fid_weights(path: Path) -> tuple[dict[str, Tensor], bool]:
    """(state, standard) from a ``.pth`` or an artkit ``.safetensors``."""
    from artkit.checkpoint import load_tensors, sha256_file

    if path.suffix == ".safetensors":
        state, meta = load_tensors(path)
        check_fid_state(state, str(path))
        # standard when converted from the published file and unchanged since
        standard = meta.get("artkit.source_sha256") == wp.FID_SHA256 and meta.get(
            "artkit.content_sha256"
        ) == content_digest(state)
        return state, standard
    state = read_pth(path)
    check_fid_state(state, str(path))
    return state, sha256_file(path) == wp.FID_SHA256


def _reachable(host: str, timeout: float = 2.0) -> bool:
    """True when ``host:443`` accepts a TCP connection within ``timeout`` (DNS included)."""
    import socket
    import threading

    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except Exception:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def download_fid_weights(notice: Callable[[str], None], url: str | None = None) -> Path | None:
    """Fetch pytorch-fid's file into the torch hub cache when the network allows, else None."""
    from urllib.parse import urlparse

    url = url or wp.FID_URL
    host = urlparse(url).hostname
    if wp.offline() or (host and not _reachable(host)):
        return None
    target = wp.torch_hub_checkpoints() / wp.FID_WEIGHTS
    target.parent.mkdir(parents=True, exist_ok=True)
    notice(f"downloading the FID Inception weights ({wp.FID_SIZE_MB} MB) into {target.parent}")
    try:
        # the whole SHA-256, checked by torch before the file is moved into place
        torch.hub.download_url_to_file(url, str(target), hash_prefix=wp.FID_SHA256, progress=False)
    except Exception as exc:
        notice(f"download failed ({' '.join(str(exc).split())[:120]})")
        return None
    return target


def find_fid_weights(explicit: str | None, notice: Callable[[str], None]) -> Path | None:
    """The first weights file in lookup order (downloading as the last resort), or None."""
    sources = wp.fid_weight_sources(explicit)
    if explicit:
        path = sources[0][1]
        if not path.is_file():
            raise UsageError(f"--weights {explicit}: no such file")
        return path
    for _kind, path in sources:
        if path.is_file():
            return path
    return download_fid_weights(notice)


def build_inception(
    weights: str | None = None,
    device: Any = "cpu",
    notice: Callable[[str], None] | None = None,
    *,
    fallback: bool = True,
    **_: Any,
) -> Embedder:
    """The FID Inception with the best weights found; without any, random-conv (said on stderr)."""
    notice = notice or (lambda message: None)
    path = find_fid_weights(weights or None, notice)
    if path is None:
        if not fallback:
            raise ArtkitError(
                f"no FID Inception weights ({wp.FID_WEIGHTS} is not in artkit's cache or the "
                "torch hub cache, and it could not be downloaded); give --weights FILE"
            )
        notice(
            f"no FID Inception weights ({wp.FID_WEIGHTS} not in artkit's cache or the torch hub "
            "cache; give --weights FILE): using random-conv features, so this is not an FID"
        )
        return build_random_conv(device=device)
    state, standard = load_fid_weights(path)
    if path.suffix != ".safetensors" and not weights:
        import_fid_weights(path)  # convert once: later runs read safetensors, no pickle
    if not standard:
        notice(
            f"{path}: these Inception weights are not the published FID file (SHA-256 differs); "
            "the distance is reported as FD (inception-unverified), not FID"
        )
    model = FIDInception()
    model.load_fid_state(state, str(path), standard=standard)
    return model.to(device).eval().requires_grad_(False)
