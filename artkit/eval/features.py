"""Feature extractors for evaluation: images (N, C, H, W) in [-1, 1] -> features (N, D).

- ``inception``: the FID network -- Inception-v3 as TensorFlow's 2015 graph had it,
  which pytorch-fid and torch-fidelity reproduce: average pools that ignore padding
  in the A/C/E blocks and a max pool in the last block (the "FID variants"), 2048
  pooled features at 299x299. Only with the standard weights file
  (``pt_inception-2015-12-05-6726825d.pth``) is the distance an FID.
- ``vgg16``: artkit_style's VGG16 (same weight lookup), the deepest style layer
  average-pooled: 512 features.
- ``random-conv``: a fixed-seed random convolutional network, needing no weights.
  Random features separate blur, noise, colour and layout shifts well, and are
  stable for one artkit version; numbers are comparable only with the same
  features, never with published FIDs.
- ``checkpoint:path=RUN``: features of a model you trained with artkit -- a VAE
  encoder's mean, or the input of a GAN discriminator's last layer.

Every extractor has ``name``, ``standard_fid`` (True only for the real FID
weights), ``input_size`` and ``embed(images) -> (N, D)`` (float32).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.errors import ArtkitError, UsageError

FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
FID_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS


class Embedder(nn.Module):
    name = "?"
    standard_fid = False
    input_size = 64

    def prepare(self, images: Tensor) -> Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        elif images.shape[1] == 4:
            images = images[:, :3]
        if images.shape[-2:] != (self.input_size, self.input_size):
            images = F.interpolate(
                images, size=(self.input_size, self.input_size), mode="bilinear",
                align_corners=False, antialias=True,
            )  # fmt: skip
        return images

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        return self(self.prepare(images.float())).float()


# --------------------------------------------------------------------------- inception


def _fid_blocks() -> dict[str, type]:
    """The FID variants of torchvision's Inception blocks (pooling differences only)."""
    from torchvision.models import inception as tv

    class FIDInceptionA(tv.InceptionA):
        def forward(self, x: Tensor) -> Tensor:
            b1 = self.branch1x1(x)
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            pool = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            return torch.cat([b1, b5, b3, self.branch_pool(pool)], 1)

    class FIDInceptionC(tv.InceptionC):
        def forward(self, x: Tensor) -> Tensor:
            b1 = self.branch1x1(x)
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3,
                          self.branch7x7dbl_4, self.branch7x7dbl_5):  # fmt: skip
                d = layer(d)
            pool = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            return torch.cat([b1, b7, d, self.branch_pool(pool)], 1)

    class FIDInceptionE(tv.InceptionE):
        max_pool = False  # the last block pools with max in the TF graph

        def forward(self, x: Tensor) -> Tensor:
            b1 = self.branch1x1(x)
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            if self.max_pool:
                pool = F.max_pool2d(x, 3, stride=1, padding=1)
            else:
                pool = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            return torch.cat([b1, b3, d, self.branch_pool(pool)], 1)

    class FIDInceptionE2(FIDInceptionE):
        max_pool = True

    return {"A": FIDInceptionA, "C": FIDInceptionC, "E1": FIDInceptionE, "E2": FIDInceptionE2}


class FIDInception(Embedder):
    """Inception-v3 in its FID form: 2048 pooled features of 299x299 inputs."""

    name = "inception"
    input_size = 299

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import inception as tv

        blocks = _fid_blocks()
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

    def load_fid_state(self, state: dict[str, Tensor], source: str) -> None:
        state = {k: v for k, v in state.items() if not k.startswith("AuxLogits")}
        try:
            missing, unexpected = self.net.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shapes that do not fit
            raise ArtkitError(
                f"{source}: not the FID Inception weights ({str(exc).splitlines()[-1].strip()})"
            ) from None
        missing = [k for k in missing if not k.startswith("AuxLogits")]
        if missing or unexpected:
            raise ArtkitError(
                f"{source}: not the FID Inception weights ({len(missing)} missing, "
                f"{len(unexpected)} unexpected tensors)"
            )
        self.standard_fid = True


def find_fid_weights(explicit: str | None) -> Path | None:
    """The FID Inception weights: --weights, artkit's cache, or the torch hub cache."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(f"--weights {explicit}: no such file")
        return path
    from artkit.dataset_cache import cache_dir

    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    for folder in (cache_dir().parent / "weights", torch_home / "hub" / "checkpoints"):
        if (folder / FID_WEIGHTS).is_file():
            return folder / FID_WEIGHTS
    return None


def build_inception(
    weights: str | None = None, device: Any = "cpu", notice: Any = None
) -> Embedder:
    """The FID network with the standard weights, or a plain notice and random-conv without them."""
    path = find_fid_weights(weights)
    if path is None:
        if notice:
            notice(
                f"no FID Inception weights ({FID_WEIGHTS} not in artkit's cache or the torch "
                "hub cache; give --weights FILE); using random-conv features, so this is not an FID"
            )
        return build_random_conv(device=device)
    state = torch.load(path, map_location="cpu", weights_only=True)  # never unpickle code
    model = FIDInception()
    model.load_fid_state(state, str(path))
    return model.to(device).eval().requires_grad_(False)


# --------------------------------------------------------------------------- weight-free


class RandomConv(Embedder):
    """Four stride-2 random conv layers; features = mean and std of every layer's channels."""

    name = "random-conv"
    input_size = 64

    def __init__(self, seed: int = 0, width: int = 32) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            chans = [3, width, width * 2, width * 4, width * 8]
            self.layers = nn.ModuleList(
                nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in itertools.pairwise(chans)
            )
            for conv in self.layers:
                nn.init.normal_(conv.weight, 0.0, (2.0 / (conv.in_channels * 9)) ** 0.5)
                nn.init.zeros_(conv.bias)
        self.name = f"random-conv:seed={seed}" if seed else "random-conv"
        self.requires_grad_(False).eval()

    def forward(self, x: Tensor) -> Tensor:
        feats = []
        for conv in self.layers:
            x = F.leaky_relu(conv(x), 0.2)
            feats += [x.mean((2, 3)), x.std((2, 3))]
        return torch.cat(feats, 1)


def build_random_conv(seed: int = 0, width: int = 32, device: Any = "cpu", **_: Any) -> Embedder:
    return RandomConv(seed, width).to(device)


class PooledStyleFeatures(Embedder):
    """A style extractor's deepest layer, average-pooled (VGG16: 512 features)."""

    input_size = 224

    def __init__(self, extractor: Any) -> None:
        super().__init__()
        self.extractor = extractor
        self.layer = list(extractor.style_layers)[-1]
        self.name = getattr(extractor, "name", "vgg16")

    def forward(self, x: Tensor) -> Tensor:
        return self.extractor(x, [self.layer])[self.layer].mean((2, 3))


class CheckpointFeatures(Embedder):
    """Features from an artkit model: a VAE's encoder mean, or a GAN discriminator's last input."""

    def __init__(self, path: str, device: Any) -> None:
        super().__init__()
        from artkit.checkpoint import load_model, sha256_file

        if not Path(path).exists():
            raise UsageError(f"checkpoint:path={path}: no such file")
        file = Path(path) / "weights.safetensors" if Path(path).is_dir() else Path(path)
        self.model = load_model(file, device=str(device)).eval()
        self.input_size = int(getattr(self.model.config, "resolution", 64))
        self.channels = int(getattr(self.model.config, "channels", 3))
        self.name = f"checkpoint:{self.model.registry_name}@{sha256_file(file)[:12]}"
        self._captured: Tensor | None = None
        if not callable(getattr(self.model, "encode", None)):
            D = getattr(self.model, "D", None)
            last = [
                m
                for m in (D.modules() if D is not None else [])
                if isinstance(m, nn.Linear | nn.Conv2d)
            ]
            if not last:
                raise UsageError(
                    f"{path}: model {self.model.registry_name!r} has no encoder or discriminator to take features from"
                )
            last[-1].register_forward_hook(self._capture)

    def _capture(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._captured = inputs[0]

    def prepare(self, images: Tensor) -> Tensor:
        x = super().prepare(images) if self.channels == 3 else images
        if self.channels == 1 and x.shape[1] == 3:
            x = x.mean(1, keepdim=True)
        if x.shape[-1] != self.input_size:
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True
            )
        return x

    def forward(self, x: Tensor) -> Tensor:
        if callable(getattr(self.model, "encode", None)):
            z = self.model.encode(x)
            return (z[0] if isinstance(z, tuple) else z).flatten(1)
        self.model.D(x)
        assert self._captured is not None
        return self._captured.flatten(1)


def build_checkpoint_features(path: str = "", device: Any = "cpu", **_: Any) -> Embedder:
    if not path:
        raise UsageError("checkpoint features need a path: --features checkpoint:path=RUN")
    return CheckpointFeatures(path, device)


# --------------------------------------------------------------------------- lookup


def get_features(
    spec: str = "auto", *, weights: str | None = None, device: Any = "cpu", notice: Any = None
) -> Embedder:
    """An evaluation extractor by name or spec (``auto``: inception with its weights, else random-conv)."""
    from artkit.plugins import get_registry
    from artkit.registry import parse_spec

    name, options = parse_spec(spec or "auto")
    if name == "auto":
        return build_inception(weights, device, notice)
    if name == "inception":
        model = build_inception(weights, device, notice)
        return model
    entry = get_registry("extractors").get(name)
    made = entry.create({**options, **({"weights": weights} if weights else {})}, device=device)
    if isinstance(made, Embedder):
        return made.to(device)
    if callable(getattr(made, "embed", None)):
        return made
    if hasattr(made, "style_layers"):
        return PooledStyleFeatures(made).to(device)
    raise ArtkitError(f"extractor {name!r} gives neither embeddings nor style features")


def identity(extractor: Any) -> str:
    """A short stable id for cache keys: the name plus a hash of the weights."""
    digest = hashlib.sha256()
    for key, value in sorted(extractor.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes()[:4096])
    return f"{extractor.name}-{digest.hexdigest()[:12]}"
