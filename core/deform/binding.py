"""Posed mesh -> world-space Gaussians: the one deformation path (DESIGN.md section 3).

Letters: B batch, V vertices, F triangles, N Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F_nn
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
    # Everything a Gaussian needs from its triangle, packed so that one gather serves all;
    #     # v0 (3), edges e1, e2 (3 + 3), size-scaled axes s t, s b, s n (9), quaternion (4), s (1).
    axes = frames.rotation * frames.size[..., None, None]  # (B, F, 3 xyz, 3 axes)
    packed = torch.cat(
        (
            frames.origin,
            frames.edges.flatten(-2),
            axes.transpose(-1, -2).flatten(-2),
            rotmat_to_quat(frames.rotation),
            frames.size[..., None],
        ),
        dim=-1,
    )  # (B, F, 23)
    B, F = packed.shape[:2]
    # embedding() is a row gather, several times faster on CPU than index_select here.
    rows = binding.triangle[None] + F * torch.arange(B, device=packed.device)[:, None]
    g = F_nn.embedding(rows, packed.reshape(B * F, -1))  # (B, N, 23)
    bary = binding.barycentric.to(dtype)
    offset = binding.offset.to(dtype)
    # mean = v0 + b1 e1 + b2 e2 + s (ox t + oy b + oz n)
    means = torch.addcmul(g[..., 0:3], bary[:, 1:2], g[..., 3:6])
    means = means.addcmul_(bary[:, 2:3], g[..., 6:9]).addcmul_(offset[:, 0:1], g[..., 9:12])
    means = means.addcmul_(offset[:, 1:2], g[..., 12:15]).addcmul_(offset[:, 2:3], g[..., 15:18])
    local = binding.rotation.to(dtype)
    local = local / local.norm(dim=-1, keepdim=True)
    quats = quat_multiply(g[..., 18:22], local)
    scales = g[..., 22:23] * torch.exp(binding.log_scale.to(dtype))
    return WorldGaussians(means=means, quats=quats, scales=scales)
