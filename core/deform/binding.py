"""Posed mesh -> world-space Gaussians: the one deformation path (DESIGN.md section 3).

Letters: B batch, V vertices, F triangles, N Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..avatar.avatar import GaussianBinding
from ..quaternion import quat_multiply, rotmat_to_quat
from .frames import triangle_frames


@dataclass(frozen=True)
class WorldGaussians:
    """means: (B, N, 3) metres; quats: (B, N, 4) unit wxyz; scales: (B, N, 3) metres."""

    means: Tensor
    quats: Tensor
    scales: Tensor


def deform_gaussians(vertices: Tensor, faces: Tensor, binding: GaussianBinding) -> WorldGaussians:
    """Evaluate the bindings on a posed mesh.

    vertices: (B, V, 3) posed body-mesh vertices (any deformer may have produced them).
    faces: (F, 3) int64 triangles.
    binding: N Gaussians bound to triangles of ``faces``.

    mean  = sum_i bary_i v_i + s R offset
    quat  = q(R) * rotation
    scale = s exp(log_scale)
    where R (B, F, 3, 3) and s (B, F) are the triangle frame and size (core.deform.frames).
    """
    if vertices.ndim == 2:
        raise ValueError(f"vertices must be batched (B, V, 3), got {tuple(vertices.shape)}.")
    frames = triangle_frames(vertices, faces)
    tri = binding.triangle
    # Per-triangle quaternions are cheaper than per-Gaussian ones (F < N).
    tri_quat = rotmat_to_quat(frames.rotation)[:, tri]  # (B, N, 4)
    rot = frames.rotation[:, tri]  # (B, N, 3, 3)
    size = frames.size[:, tri, None]  # (B, N, 1)

    corners = vertices[:, faces[tri]]  # (B, N, 3 corners, 3 xyz)
    # bn,bnkc->bnc : barycentric interpolation of the three corners.
    surface = torch.einsum("nk,bnkc->bnc", binding.barycentric.to(vertices.dtype), corners)
    # bnij,nj->bni : the offset, given in the triangle frame, rotated to world.
    offset_world = torch.einsum("bnij,nj->bni", rot, binding.offset.to(vertices.dtype))
    means = surface + size * offset_world

    local = binding.rotation.to(vertices.dtype)
    local = local / local.norm(dim=-1, keepdim=True)
    quats = quat_multiply(tri_quat, local.expand_as(tri_quat))
    scales = size * torch.exp(binding.log_scale.to(vertices.dtype))
    return WorldGaussians(means=means, quats=quats, scales=scales)
