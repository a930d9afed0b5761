"""Posed mesh -> world-space Gaussians: the one deformation path (DESIGN.md section 3).

Letters: B batch, V vertices, F triangles, N Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..avatar.avatar import GaussianBinding
from ..quaternion import quat_multiply_parts, rotmat_to_quat_parts
from .frames import frame_components


@dataclass(frozen=True)
class WorldGaussians:
    """means: (B, N, 3) metres; quats: (B, N, 4) unit wxyz; scales: (B, N, 3) metres."""

    means: Tensor
    quats: Tensor
    scales: Tensor


def deform_gaussians(
    vertices: Tensor,
    faces: Tensor,
    binding: GaussianBinding,
    correction: Tensor | None = None,
) -> WorldGaussians:
    """Evaluate the bindings on a posed mesh.

    vertices: (B, V, 3) posed body-mesh vertices (any deformer may have produced them).
    faces: (F, 3) int64 triangles.
    binding: N Gaussians bound to triangles of ``faces``.
    correction: optional (B, N, 3) pose-dependent offsets (the network's correction,
        core.model.correction), in the triangle frame and triangle sizes like
        ``binding.offset``, added to it: the same path, never a second skinning.

    mean  = sum_i bary_i v_i + s R (offset + correction)
            (bary_0 v0 + bary_1 v1 + bary_2 v2, bary summing to 1)
    quat  = q(R) * rotation
    scale = s exp(log_scale)
    where R (B, F, 3, 3) and s (B, F) are the triangle frame and size (core.deform.frames).
    """
    if vertices.ndim == 2:
        raise ValueError(f"vertices must be batched (B, V, 3), got {tuple(vertices.shape)}.")
    dtype = vertices.dtype
    # Component-major throughout: every x, y, z (w) is one contiguous row of F or N, so each
    # step is one vectorised pass on CPU; on (N, 3) columns the same steps take torch's strided
    # loop, several times slower (the live link deforms every frame: DESIGN.md section 3).
    c = frame_components(vertices, faces)
    s = c.size[:, None]  # (B, 1, F)
    q = rotmat_to_quat_parts(
        [[c.tangent[:, i], c.bitangent[:, i], c.normal[:, i]] for i in range(3)], dim=1
    )  # (B, 4, F), of the rotation with columns (t, b, n)
    # Everything a Gaussian needs from its triangle, so that one gather serves all:
    # v0 (3), edges e1, e2 (3 + 3), size-scaled axes s t, s b, s n (9), quaternion (4), s (1).
    table = torch.cat(
        (c.origin, c.edge1, c.edge2, c.tangent * s, c.bitangent * s, c.normal * s, q, s), dim=1
    )  # (B, 23, F)
    B, K, F = table.shape
    index = binding.triangle.long().expand(B * K, -1)  # gather: multithreaded, index_select not
    g = torch.gather(table.view(B * K, F), 1, index).view(B, K, -1)  # (B, 23, N)
    N = g.shape[2]
    # The Gaussians' own numbers, component-major too: b1, b2, ox, oy, oz, rotation wxyz.
    bary, offset, rotation = binding.barycentric, binding.offset, binding.rotation
    own = torch.stack((bary[:, 1], bary[:, 2], *offset.unbind(1), *rotation.unbind(1)))
    own = own.to(dtype)  # (9, N)
    # mean = v0 + b1 e1 + b2 e2 + s (ox t + oy b + oz n)
    m = torch.addcmul(g[:, 0:3], own[0], g[:, 3:6])
    for k, start in enumerate(range(6, 18, 3), start=1):
        m = m.addcmul_(own[k], g[:, start : start + 3])  # (B, 3, N)
    if correction is not None:
        if tuple(correction.shape) != (B, binding.count, 3):
            raise ValueError(
                f"correction must be (B, N, 3) = ({B}, {binding.count}, 3), got "
                f"{tuple(correction.shape)}."
            )
        extra = correction.to(dtype).transpose(1, 2)  # (B, 3, N)
        for k, start in enumerate(range(9, 18, 3)):
            m = m + extra[:, k : k + 1] * g[:, start : start + 3]
    local = own[5:9]
    local = local / torch.sqrt((local * local).sum(0))  # the stored rotation, normalised
    parts = quat_multiply_parts(g[:, 18:22].unbind(1), local.unbind(0))  # 4 x (B, N)
    # Back to (B, N, 3|4): copies into the columns are 4x faster than torch.stack(dim=-1).
    means = vertices.new_empty((B, N, 3))
    quats = vertices.new_empty((B, N, 4))
    for k in range(3):
        means[..., k] = m[:, k]
    for k in range(4):
        quats[..., k] = parts[k]
    scales = g[:, 22, :, None] * torch.exp(binding.log_scale.to(dtype))
    return WorldGaussians(means=means, quats=quats, scales=scales)
