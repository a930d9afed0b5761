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
    c = frame_components(vertices, faces)
    rotation = torch.stack((c.tangent, c.bitangent, c.normal), dim=-1)  # (B, 3 xyz, F, 3 axes)
    return TriangleFrames(
        rotation=rotation.transpose(1, 2).contiguous(),
        size=c.size,
        origin=c.origin.transpose(1, 2).contiguous(),
        edges=torch.stack((c.edge1, c.edge2), dim=-1).permute(0, 2, 3, 1).contiguous(),
    )


@dataclass(frozen=True)
class FrameComponents:
    """The same frames, component-major, so that each x, y, z is one contiguous row of F.

    origin, edge1 (v1 - v0), edge2 (v2 - v0), tangent, bitangent, normal: (B, 3 xyz, F);
    size: (B, F).
    """

    origin: Tensor
    edge1: Tensor
    edge2: Tensor
    tangent: Tensor
    bitangent: Tensor
    normal: Tensor
    size: Tensor


def frame_components(vertices: Tensor, faces: Tensor) -> FrameComponents:
    """triangle_frames, component-major: the layout core.deform computes in, as elementwise
    steps on whole contiguous rows are several times faster on CPU than on (F, 3) columns.

    vertices: (B, V, 3) posed mesh vertices.
    faces: (F, 3) int64 vertex indices.
    """
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be (B, V, 3), got {tuple(vertices.shape)}.")
    if faces.ndim != 2 or faces.shape[-1] != 3:
        raise ValueError(f"faces must be (F, 3), got {tuple(faces.shape)}.")
    B, F = vertices.shape[0], faces.shape[0]
    # (B, 3 xyz, 3 corners, F): corner k of every triangle is one row per coordinate. (A 2-D
    # gather: on CPU several times faster than indexing the 3-D vertices.)
    coords = vertices.transpose(1, 2).reshape(B * 3, -1)
    index = torch.cat(faces.unbind(1)).long().expand(B * 3, -1)  # corner-major, no transpose
    corners = torch.gather(coords, 1, index).view(B, 3, 3, F)
    v0 = corners[:, :, 0]
    e1 = corners[:, :, 1] - v0
    e2 = corners[:, :, 2] - v0
    cross = _cross(e1, e2)
    double_area = _norm(cross)  # (B, 1, F)
    n = cross / (double_area + _EPS)
    t = e1 / (_norm(e1) + _EPS)
    b = _cross(n, t)
    return FrameComponents(
        origin=v0,
        edge1=e1,
        edge2=e2,
        tangent=t,
        bitangent=b,
        normal=n,
        size=torch.sqrt(double_area[:, 0] + _EPS),
    )


def _cross(a: Tensor, b: Tensor) -> Tensor:
    """Cross product over axis 1 of (B, 3, F) component-major vectors."""
    ax, ay, az = a.unbind(1)
    bx, by, bz = b.unbind(1)
    return torch.stack(
        (
            (ay * bz).addcmul_(az, by, value=-1),
            (az * bx).addcmul_(ax, bz, value=-1),
            (ax * by).addcmul_(ay, bx, value=-1),
        ),
        dim=1,
    )


def _norm(a: Tensor) -> Tensor:
    """(B, 3, F) -> (B, 1, F) lengths; an explicit sum, as linalg.vector_norm over a middle
    axis is a hundred times slower on CPU."""
    return torch.sqrt((a * a).sum(1, keepdim=True))
