"""Pixel-aligned inputs: where points of the posed body land in a photo, whether the photo
sees them there, and what the photo (or a feature map) holds at that spot.

Visibility is decided against the posed body itself: a coarse depth buffer of its vertices
(the nearest vertex depth per cell), so a point counts as seen when it lies in the image, in
front of the camera, at most DEPTH_TOLERANCE behind the body's depth there, facing the camera
and inside the person mask. Cheap, deterministic and the same at training and at inference.

Letters: P points, V vertices, C channels, G x G depth cells, H x W pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..render.camera import project_points
from ..render.types import Camera

DEPTH_TOLERANCE = 0.04
"""Metres a point may lie behind the body's depth buffer and still count as seen."""
MIN_FACING = 0.1
"""A point counts as seen when cos(normal, ray to the camera) is at least this."""


@dataclass(frozen=True)
class Projection:
    """P points in one photo: grid (P, 2) positions in -1..1 for grid_sample (x, y); seen
    (P,) float 1 where seen else 0; facing (P,) cos of the angle to the camera."""

    grid: Tensor
    seen: Tensor
    facing: Tensor


def body_depth(camera: Camera, vertices: Tensor, cells: int) -> Tensor:
    """(G, G) nearest depth of the body's vertices (V, 3) per cell of the image; inf where
    no vertex lands."""
    pixels, z = project_points(camera, vertices)
    col = (pixels[:, 0] / camera.width * cells).floor().long()
    row = (pixels[:, 1] / camera.height * cells).floor().long()
    inside = (z > camera.near) & (col >= 0) & (col < cells) & (row >= 0) & (row < cells)
    depth = torch.full((cells * cells,), float("inf"), dtype=z.dtype, device=z.device)
    index = (row * cells + col)[inside]
    depth.scatter_reduce_(0, index, z[inside], reduce="amin")
    return depth.view(cells, cells)


def project(
    camera: Camera, points: Tensor, normals: Tensor, depth: Tensor, mask: Tensor
) -> Projection:
    """Where P posed points (P, 3) with unit normals (P, 3) appear in a photo whose body
    depth buffer is ``depth`` (G, G) (:func:`body_depth`) and person mask ``mask`` (H, W)."""
    pixels, z = project_points(camera, points)
    W, H = camera.width, camera.height
    grid = torch.stack((2 * pixels[:, 0] / W - 1, 2 * pixels[:, 1] / H - 1), dim=-1)
    towards = camera.position.to(points) - points
    facing = (normals * towards).sum(-1) / towards.norm(dim=-1).clamp_min(1e-9)
    cells = depth.shape[0]
    col = (pixels[:, 0] / W * cells).floor().long()
    row = (pixels[:, 1] / H * cells).floor().long()
    inside = (z > camera.near) & (col >= 0) & (col < cells) & (row >= 0) & (row < cells)
    surface = depth[row.clamp(0, cells - 1), col.clamp(0, cells - 1)]
    in_mask = sample(mask[None], grid)[:, 0] >= 0.5
    seen = inside & (z <= surface + DEPTH_TOLERANCE) & (facing >= MIN_FACING) & in_mask
    return Projection(grid=grid, seen=seen.to(points.dtype), facing=facing)


def sample(planes: Tensor, grid: Tensor) -> Tensor:
    """Bilinear samples (P, C) of (C, H, W) planes at grid positions (P, 2) in -1..1."""
    out = F_nn.grid_sample(
        planes[None], grid.to(planes.dtype)[None, None], mode="bilinear", align_corners=False
    )
    return out[0, :, 0].T
