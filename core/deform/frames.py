"""Triangle frames: the local coordinate system every Gaussian is bound in.

For a triangle (v0, v1, v2):
    tangent   t = normalise(v1 - v0)
    normal    n = normalise((v1 - v0) x (v2 - v0))
    bitangent b = n x t
    size      s = sqrt(|(v1 - v0) x (v2 - v0)|), i.e. sqrt(2 * area)

The frame rotation has columns (t, b, n). A stretched triangle has a larger size, so the
Gaussians bound to it grow with it; a rigid motion of the mesh moves every frame rigidly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

_EPS = 1e-12


@dataclass(frozen=True)
class TriangleFrames:
    """rotation: (B, F, 3, 3) columns (tangent, bitangent, normal); size: (B, F);
    origin: (B, F, 3) the first corner v0; edges: (B, F, 2, 3) v1 - v0 and v2 - v0."""

    rotation: Tensor
    size: Tensor
    origin: Tensor
    edges: Tensor


def triangle_frames(vertices: Tensor, faces: Tensor) -> TriangleFrames:
    """Frames of every triangle.

    vertices: (B, V, 3) posed mesh vertices.
    faces: (F, 3) int64 vertex indices.
    """
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be (B, V, 3), got {tuple(vertices.shape)}.")
    if faces.ndim != 2 or faces.shape[-1] != 3:
        raise ValueError(f"faces must be (F, 3), got {tuple(faces.shape)}.")
    corners = vertices[:, faces]  # (B, F, 3 corners, 3 xyz)
    v0 = corners[:, :, 0]
    e1 = corners[:, :, 1] - v0
    e2 = corners[:, :, 2] - v0
    cross = _cross(e1, e2)
    double_area = cross.norm(dim=-1, keepdim=True)
    n = cross / (double_area + _EPS)
    t = e1 / (e1.norm(dim=-1, keepdim=True) + _EPS)
    b = _cross(n, t)
    rotation = torch.stack((t, b, n), dim=-1)
    return TriangleFrames(
        rotation=rotation,
        size=torch.sqrt(double_area[..., 0] + _EPS),
        origin=v0,
        edges=torch.stack((e1, e2), dim=-2),
    )


def _cross(a: Tensor, b: Tensor) -> Tensor:
    """Cross product over the last axis; on small rows faster than torch.linalg.cross."""
    ax, ay, az = a.unbind(-1)
    bx, by, bz = b.unbind(-1)
    return torch.stack((ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx), dim=-1)
