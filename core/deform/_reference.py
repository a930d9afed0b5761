"""Pure-torch twins of core.deform's fast paths, written plainly (row by row, bone by bone).

Tests check the fast paths against these, in values and in gradients; nothing else calls
them. Letters: B batch, V vertices, F triangles, N Gaussians, J bones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..avatar.avatar import GaussianBinding
from ..quaternion import quat_to_rotmat


def _deform_gaussians(
    vertices: Tensor, faces: Tensor, b: GaussianBinding, correction: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Twin of :func:`core.deform.binding.deform_gaussians` (which computes component-major
    for speed): its docstring's formulas, row by row.

    vertices: (B, V, 3); faces: (F, 3); correction: (B, N, 3) or None. Returns means
    (B, N, 3), rotation matrices (B, N, 3, 3) (so that the sign of a quaternion does not
    matter) and scales (B, N, 3).
    """
    v0, v1, v2 = vertices[:, faces[b.triangle]].unbind(-2)  # (B, N, 3) each
    e1, e2 = v1 - v0, v2 - v0
    cross = torch.linalg.cross(e1, e2, dim=-1)
    double_area = cross.norm(dim=-1, keepdim=True)
    n = cross / (double_area + 1e-12)
    t = e1 / (e1.norm(dim=-1, keepdim=True) + 1e-12)
    R = torch.stack((t, torch.linalg.cross(n, t, dim=-1), n), dim=-1)  # (B, N, 3, 3)
    s = torch.sqrt(double_area + 1e-12)
    bary = b.barycentric
    offset = b.offset if correction is None else b.offset + correction
    means = v0 + bary[:, 1:2] * e1 + bary[:, 2:3] * e2 + s * (R @ offset[..., None])[..., 0]
    return means, R @ quat_to_rotmat(b.rotation), s * torch.exp(b.log_scale)


def _linear_blend_skinning(vertices: Tensor, weights: Tensor, transforms: Tensor) -> Tensor:
    """Twin of :func:`core.deform.skinning.linear_blend_skinning`, one bone at a time.

    vertices: (B, V, 3); weights: (V, J); transforms: (B, J, 4, 4). Returns (B, V, 3).
    """
    homogeneous = torch.cat((vertices, torch.ones_like(vertices[..., :1])), dim=-1)  # (B, V, 4)
    out = torch.zeros_like(vertices)
    for j in range(weights.shape[1]):
        moved = (homogeneous @ transforms[:, j].transpose(-1, -2))[..., :3]  # (B, V, 3)
        out = out + weights[:, j, None].to(vertices) * moved
    return out


def _rigid_inverse(matrices: Tensor) -> Tensor:
    """Twin of :func:`core.deform.skinning.rigid_inverse`: a general inverse, (..., 4, 4)."""
    return torch.linalg.inv(matrices)


def _forward_kinematics(local: Tensor, parents: Sequence[int]) -> Tensor:
    """Twin of :func:`core.deform.skinning.forward_kinematics`, one bone at a time.

    local: (..., J, 4, 4); parents: J indices, -1 for a root. Returns (..., J, 4, 4).
    """
    world: list[Tensor] = []
    for j, parent in enumerate(parents):  # parents come before their children
        world.append(local[..., j, :, :] if parent < 0 else world[parent] @ local[..., j, :, :])
    return torch.stack(world, dim=-3)


def _posed_bone_matrices(
    rest: Tensor, quaternions: Tensor, location: Tensor, parents: Sequence[int]
) -> Tensor:
    """Twin of :func:`core.rig.posed_bone_matrices`, the pose chain bone by bone.

    rest: (J, 4, 4) rest matrices; quaternions: (J, 4) wxyz pose-bone rotations; location: (3,)
    the root's location. pose_c = pose_p @ rest_p^-1 @ rest_c @ basis_c. Returns (J, 4, 4).
    """
    basis = torch.eye(4).repeat(rest.shape[0], 1, 1)
    basis[:, :3, :3] = quat_to_rotmat(quaternions.float())
    basis[0, :3, 3] = location
    inverse_rest = torch.linalg.inv(rest)
    posed: list[Tensor] = []
    for j, parent in enumerate(parents):  # parents come before their children
        chain = rest[j] if parent < 0 else posed[parent] @ inverse_rest[parent] @ rest[j]
        posed.append(chain @ basis[j])
    return torch.stack(posed)
