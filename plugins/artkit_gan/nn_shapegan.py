"""The ``shapegan`` generator: pictures painted with a few flat shapes, edges crisp by construction.

A convolutional generator has to learn, pixel by pixel, that an edge is straight,
that a disc is round and that a flat area stays one colour; at the widths a CPU
can train in a few minutes it had not (fastgan on ``shapes``: soft blobs, even
after 15,000 steps on a GPU). This generator cannot draw anything else. An MLP
turns ``z`` into a ground colour and ``shapes`` slots, each with

- a family, as softmax weights over four signed-distance families:
  a rounded box (square ... disc, rectangle ... ellipse or stroke, by its
  corner radius and aspect), a triangle, an arc (a ring cut to an aperture) and
  a pie (a disc cut to an aperture: half-discs, wedges);
- a centre, a rotation, two half-extents, a corner radius, a ring thickness and
  an aperture;
- a colour and a presence in (0, 1) (so a picture has anywhere from none to
  ``shapes`` of them).

Each slot's signed distance (the family weights blend the four distances: a
shape between a disc and a square is a rounded square, still with a crisp edge)
becomes coverage ``sigmoid(-distance / edge)`` with ``edge`` in pixels, and the
slots are laid over the ground back to front, as a painter would. Gradients
reach a shape's geometry through its anti-aliased edge pixels, as in
differentiable vector graphics (Li et al. 2020, "DiffVG").

The distance formulas are Inigo Quilez's 2D signed-distance functions
(iquilezles.org/articles/distfunctions2d), written for tensors.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from artkit.config_checks import image_size

#: the shape families a slot blends, in the order of its family logits
FAMILIES = ("box", "triangle", "arc", "pie")
#: raw numbers per slot besides its colour: family logits, centre (2), rotation (2),
#: half-extents (2), corner radius, ring thickness, aperture, presence
_GEOMETRY = len(FAMILIES) + 2 + 2 + 2 + 1 + 1 + 1 + 1


#: slot-pixels per painting pass of :meth:`ShapePainter.draw` (4M: ~16 MB a temporary)
PASS_ELEMENTS = 1 << 22


def pixel_centres(
    height: int, width: int, device: torch.device | str | None = None
) -> tuple[Tensor, Tensor, float]:
    """Pixel centres ``(1, 1, H, 1)`` and ``(1, 1, 1, W)`` in units of half the shorter
    side (a square picture spans [-1, 1]), and how many pixels one unit is."""
    half = min(height, width) / 2
    ys = (torch.arange(height, device=device) + 0.5 - height / 2) / half
    xs = (torch.arange(width, device=device) + 0.5 - width / 2) / half
    return ys.view(1, 1, -1, 1), xs.view(1, 1, 1, -1), half


def _length(x: Tensor, y: Tensor) -> Tensor:
    # the epsilon keeps the gradient finite at the exact centre of a disc
    return torch.sqrt(x * x + y * y + 1e-12)


def box_distance(x: Tensor, y: Tensor, half_x: Tensor, half_y: Tensor, radius: Tensor) -> Tensor:
    """Box of half-extents ``half_x`` x ``half_y`` with corners rounded by ``radius``."""
    qx = x.abs() - half_x + radius
    qy = y.abs() - half_y + radius
    outside = _length(qx.clamp(min=0), qy.clamp(min=0))
    return outside + torch.maximum(qx, qy).clamp(max=0) - radius


def triangle_distance(x: Tensor, y: Tensor) -> Tensor:
    """Equilateral triangle of circumradius 1 pointing up (-y), centred."""
    k = math.sqrt(3.0)
    r = 0.5 * k  # half-side of a triangle with circumradius 1
    y = -y  # image rows grow downwards; the formula's y grows upwards
    px = x.abs() - r
    py = y + r / k
    fold = px + k * py > 0
    px, py = (
        torch.where(fold, (px - k * py) / 2, px),
        torch.where(fold, (-k * px - py) / 2, py),
    )
    px = px - px.clamp(min=-2 * r, max=0)
    return -_length(px, py) * torch.sign(py)


def arc_distance(x: Tensor, y: Tensor, aperture: Tensor, thickness: Tensor) -> Tensor:
    """Ring of outer radius 1 and ``thickness``, kept over ``aperture`` (half-angle, 0..pi)."""
    sin, cos = torch.sin(aperture), torch.cos(aperture)
    x = x.abs()
    half = thickness / 2
    ra = 1 - half  # the ring's centre line
    cap = _length(x - sin * ra, y - cos * ra)
    ring = (_length(x, y) - ra).abs()
    return torch.where(cos * x > sin * y, cap, ring) - half


def pie_distance(x: Tensor, y: Tensor, aperture: Tensor) -> Tensor:
    """Disc of radius 1 kept over ``aperture`` (half-angle, 0..pi): pi/2 is a half-disc."""
    sin, cos = torch.sin(aperture), torch.cos(aperture)
    x = x.abs()
    outer = _length(x, y) - 1
    t = (x * sin + y * cos).clamp(min=0, max=1)
    edge = _length(x - sin * t, y - cos * t)
    return torch.maximum(outer, edge * torch.sign(cos * x - sin * y))


class ShapePainter(nn.Module):
    """z -> MLP -> a ground colour and ``shapes`` shape slots -> painted image in [-1, 1]."""

    def __init__(
        self,
        *,
        resolution: int | str,
        channels: int,
        z_dim: int,
        shapes: int,
        hidden: int,
        edge: float,
    ):
        super().__init__()
        self.z_dim, self.shapes, self.channels, self.edge = z_dim, shapes, channels, edge
        self.body = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
        )
        self.slots = nn.Linear(hidden, shapes * (_GEOMETRY + channels))
        self.ground = nn.Linear(hidden, channels)
        ys, xs, self.pixels_per_unit = pixel_centres(*image_size(resolution))
        self.register_buffer("grid_y", ys, persistent=False)
        self.register_buffer("grid_x", xs, persistent=False)
        self._compiled_paint = None  # see compile_painting
        self._compile_proven = False
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal MLP and unit-variance slot numbers: varied, visible shapes at step 0.

        With PyTorch's default Linear init the slot numbers come out near zero: every
        picture is the same few grey, half-present shapes at the centre.
        """
        for layer in self.body:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(layer.bias)
        # a LeakyReLU(0.2) output's second moment is about half its input's variance
        for head in (self.slots, self.ground):
            nn.init.normal_(head.weight, 0.0, (0.52 * head.in_features) ** -0.5)
            nn.init.zeros_(head.bias)

    def layout(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Latents -> (slot numbers ``(N, S, _GEOMETRY + C)``, ground colours ``(N, C)``)."""
        h = self.body(z.view(z.shape[0], self.z_dim))
        raw = self.slots(h).float().view(z.shape[0], self.shapes, -1)
        return raw, torch.tanh(self.ground(h).float())

    @torch.no_grad()
    def draw(self, z: Tensor, height: int, width: int) -> Tensor:
        """The same pictures at any size: shapes are geometry, so edges stay crisp.

        Positions and sizes are in units of half the shorter side, so a square
        picture drawn at 512 px is the 32 px one, enlarged with sharp edges; another
        aspect ratio shows more of the composition along the longer side. Painted in
        bands of rows, a few images at a time, so memory stays bounded at any size.
        """
        raw, ground = self.layout(z)
        ys, xs, pixels = pixel_centres(height, width, device=raw.device)
        out = torch.empty(len(z), self.channels, height, width, device=raw.device)
        per_image = self.shapes * height * width
        step = max(1, PASS_ELEMENTS // per_image)
        rows = max(1, min(height, PASS_ELEMENTS // (self.shapes * width)))
        for i in range(0, len(z), step):
            for top in range(0, height, rows):
                band = ys[:, :, top : top + rows]
                grid = (band, xs, pixels)
                part = self.paint(raw[i : i + step], ground[i : i + step], grid=grid)
                out[i : i + step, :, top : top + rows] = part
        return out

    def forward(self, z: Tensor) -> Tensor:
        raw, ground = self.layout(z)
        if self.training and self._compiled_paint is not None:
            return self._paint_compiled(raw, ground)
        return self.paint(raw, ground)

    def compile_painting(self) -> None:
        """Paint through ``torch.compile`` in training mode: one fused kernel for the ~100 ops.

        Eager, its forward and backward pass costs more than fastgan's whole
        training step (80 ms for 64 images at 32 px on 2 cores; 42 ms compiled).
        The compiled graph is specialised to the training batch; sampling stays eager.
        """
        self._compiled_paint = torch.compile(self.paint, dynamic=False)

    def _paint_compiled(self, raw: Tensor, ground: Tensor) -> Tensor:
        if self._compile_proven:
            return self._compiled_paint(raw, ground)
        try:  # the first call compiles: without a working C++ compiler, paint eagerly
            image = self._compiled_paint(raw, ground)
        except Exception as exc:  # any compiler failure means the same: paint eagerly
            reason = (
                str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            )
            warnings.warn(f"shapegan: painting without torch.compile ({reason})", stacklevel=2)
            self._compiled_paint = None
            return self.paint(raw, ground)
        self._compile_proven = True
        return image

    def paint(
        self, raw: Tensor, ground: Tensor, grid: tuple[Tensor, Tensor, float] | None = None
    ) -> Tensor:
        """Slots ``(N, S, _GEOMETRY + C)`` and grounds ``(N, C)`` -> images ``(N, C, H, W)``.

        ``grid``: the pixel centres to paint and the pixels per unit, ``(ys, xs,
        pixels)`` (:func:`pixel_centres`, or rows of it); the model's own when None.
        """
        if grid is None:
            grid_y, grid_x, pixels_per_unit = self.grid_y, self.grid_x, self.pixels_per_unit
        else:
            grid_y, grid_x, pixels_per_unit = grid
        height, width = grid_y.shape[2], grid_x.shape[3]
        n, s = raw.shape[:2]
        f = len(FAMILIES)
        weights = torch.softmax(raw[..., :f], dim=-1)
        cx, cy = (torch.tanh(raw[..., f + i]) for i in range(2))
        rot = F.normalize(raw[..., f + 2 : f + 4] + raw.new_tensor([1.0, 0.0]), dim=-1)
        # half-extents from 2% to 100% of half the image; the smaller sets the edge scale
        sx, sy = (0.02 + 0.98 * torch.sigmoid(raw[..., f + 4 + i]) for i in range(2))
        round_ = torch.sigmoid(raw[..., f + 6])
        thickness = 0.1 + 0.8 * torch.sigmoid(raw[..., f + 7])
        aperture = math.pi * torch.sigmoid(raw[..., f + 8])
        presence = torch.sigmoid(raw[..., f + 9])
        colour = torch.tanh(raw[..., f + 10 :])

        def per_pixel(t: Tensor) -> Tensor:  # (N, S) -> (N, S, 1, 1)
            return t[..., None, None]

        # each pixel in the slot's frame: shifted, rotated, scaled to a unit shape.
        # Both grids at the full (H, W): the gradients of cx and cy are then sums over
        # whole maps, which compiled code vectorises (a row grid and a column grid gave
        # sums over columns and rows in one scalar loop: most of the compiled backward)
        grid_x = grid_x.expand(1, 1, height, width)
        grid_y = grid_y.expand(1, 1, height, width)
        dx = grid_x - per_pixel(cx)
        dy = grid_y - per_pixel(cy)
        cos, sin = per_pixel(rot[..., 0]), per_pixel(rot[..., 1])
        u = dx * cos + dy * sin
        v = dy * cos - dx * sin
        # true distances, so an edge is equally sharp all round at any size: the box
        # takes both half-extents itself; the others are round-ish, drawn at size sx
        # (scaling a unit shape unevenly would stretch its distances, and the ends of a
        # long stroke would blur)
        size = per_pixel(sx)
        radius = per_pixel(round_ * torch.minimum(sx, sy))
        u1, v1 = u / size, v / size
        distances = (
            box_distance(u, v, size, per_pixel(sy), radius),
            triangle_distance(u1, v1) * size,
            arc_distance(u1, v1, per_pixel(aperture), per_pixel(thickness)) * size,
            pie_distance(u1, v1, per_pixel(aperture)) * size,
        )
        distance = sum(per_pixel(weights[..., i]) * d for i, d in enumerate(distances))
        alpha = torch.sigmoid(distance * (-pixels_per_unit / self.edge)) * per_pixel(presence)
        image = ground[:, :, None, None].expand(n, self.channels, height, width)
        for k in range(s):  # back to front: a later slot paints over the earlier ones
            a = alpha[:, k : k + 1]
            image = image * (1 - a) + colour[:, k, :, None, None] * a
        return image
