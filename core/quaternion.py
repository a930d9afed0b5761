"""Quaternion helpers, wxyz order, batch-first, differentiable.

Shapes: any leading batch shape ``...``; quaternions ``(..., 4)``, matrices ``(..., 3, 3)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def quat_multiply(a: Tensor, b: Tensor, dim: int = -1) -> Tensor:
    """Hamilton product a * b of quaternions wxyz along ``dim`` (size 4); rotation b first,
    then a. Shapes broadcast."""
    aw, ax, ay, az = a.unbind(dim)
    bw, bx, by, bz = b.unbind(dim)
    return torch.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        dim=dim,
    )


def quat_to_rotmat(q: Tensor) -> Tensor:
    """(..., 4) quaternions wxyz (normalised here) -> (..., 3, 3) rotation matrices."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        (
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ),
        dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def rotmat_to_quat(R: Tensor) -> Tensor:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions wxyz with w >= 0.

    Shepperd's method: of the four candidate formulas, each element uses the one with the
    largest (hence best conditioned) denominator, so it is stable and differentiable for every
    rotation.
    """
    m00, m01, m02 = R[..., 0, 0], R[..., 0, 1], R[..., 0, 2]
    m10, m11, m12 = R[..., 1, 0], R[..., 1, 1], R[..., 1, 2]
    m20, m21, m22 = R[..., 2, 0], R[..., 2, 1], R[..., 2, 2]
    # Squared magnitudes (times 4) of w, x, y, z.
    diag = torch.stack(
        (
            1 + m00 + m11 + m22,
            1 + m00 - m11 - m22,
            1 - m00 + m11 - m22,
            1 - m00 - m11 + m22,
        ),
        dim=-1,
    )
    best = diag.argmax(dim=-1, keepdim=True)
    # Each row is 4 * q_i * q, for i = w, x, y, z.
    rows = torch.stack(
        (
            torch.stack((diag[..., 0], m21 - m12, m02 - m20, m10 - m01), dim=-1),
            torch.stack((m21 - m12, diag[..., 1], m10 + m01, m02 + m20), dim=-1),
            torch.stack((m02 - m20, m10 + m01, diag[..., 2], m21 + m12), dim=-1),
            torch.stack((m10 - m01, m02 + m20, m21 + m12, diag[..., 3]), dim=-1),
        ),
        dim=-2,
    )
    index = best[..., None].expand(best.shape[:-1] + (1, 4))
    chosen = torch.gather(rows, -2, index).squeeze(-2)
    q = chosen / chosen.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def axis_angle_to_rotmat(rotvec: Tensor) -> Tensor:
    """(..., 3) rotation vectors (axis * angle, radians) -> (..., 3, 3) (Rodrigues).

    Written on the unnormalised skew matrix S of ``rotvec``: R = I + sin(t)/t S +
    (1 - cos t)/t^2 S^2 with t = |rotvec|, the two factors as sinc functions, which are smooth
    at t = 0; so the gradient at the zero rotation is the true one (dR = dS there).
    """
    angle = torch.linalg.vector_norm(rotvec, dim=-1)[..., None, None]
    x, y, z = rotvec.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack((zero, -z, y, z, zero, -x, -y, x, zero), dim=-1).reshape(
        rotvec.shape[:-1] + (3, 3)
    )
    # torch.sinc(u) = sin(pi u) / (pi u); (1 - cos t) / t^2 = sinc(t / 2)^2 / 2 in radians.
    a = torch.sinc(angle / math.pi)
    b = 0.5 * torch.sinc(angle / (2 * math.pi)) ** 2
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device).expand_as(skew)
    return eye + a * skew + b * (skew @ skew)
