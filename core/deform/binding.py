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

    mean  = sum_i bary_i v_i + s R offset   (bary_0 v0 + bary_1 v1 + bary_2 v2, bary summing to 1)
    quat  = q(R) * rotation
    scale = s exp(log_scale)
    where R (B, F, 3, 3) and s (B, F) are the triangle frame and size (core.deform.frames).
    """
    if vertices.ndim == 2:
        raise ValueError(f"vertices must be batched (B, V, 3), got {tuple(vertices.shape)}.")
    dtype = vertices.dtype
    frames = triangle_frames(vertices, faces)
    size = frames.size[:, None, :]  # (B, 1, F)
    v0 = vertices[:, faces[:, 0]]
    # Everything a Gaussian needs from its triangle, packed component-major so that one
    # gather serves all and the per-Gaussian arithmetic below runs on contiguous rows:
    # v0 (3), edges e1, e2 (3 + 3), size-scaled axes s t, s b, s n (9), quaternion (4), s (1).
    axes = frames.rotation * frames.size[..., None, None]  # (B, F, 3 xyz, 3 axes)
    packed = torch.cat(
        (
            v0.transpose(1, 2),
            (vertices[:, faces[:, 1]] - v0).transpose(1, 2),
            (vertices[:, faces[:, 2]] - v0).transpose(1, 2),
            axes.permute(0, 3, 2, 1).flatten(1, 2),
            rotmat_to_quat(frames.rotation).transpose(1, 2),
            size,
        ),
        dim=1,
    )  # (B, 23, F)
    g = packed.index_select(2, binding.triangle)  # (B, 23, N)
    bary = binding.barycentric.to(dtype).T  # (3, N)
    offset = binding.offset.to(dtype).T  # (3, N)
    # mean = v0 + b1 e1 + b2 e2 + s (ox t + oy b + oz n)
    means = g[:, 0:3] + bary[1] * g[:, 3:6] + bary[2] * g[:, 6:9]
    means = means + offset[0] * g[:, 9:12] + offset[1] * g[:, 12:15] + offset[2] * g[:, 15:18]
    local = binding.rotation.to(dtype)
    local = (local / local.norm(dim=-1, keepdim=True)).T  # (4, N)
    quats = quat_multiply(g[:, 18:22], local[None], dim=1)
    scales = g[:, 22:23] * torch.exp(binding.log_scale.to(dtype).T)
    return WorldGaussians(
        means=means.transpose(1, 2), quats=quats.transpose(1, 2), scales=scales.transpose(1, 2)
    )
