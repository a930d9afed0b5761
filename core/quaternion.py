"""Rotation helpers: quaternions (wxyz order), matrices and rotation vectors.

Shapes: any leading batch shape ``...``; quaternions ``(..., 4)``, matrices ``(..., 3, 3)``,
rotation vectors ``(..., 3)`` (axis * angle, radians). The batched helpers are
differentiable; the single-rotation helpers at the end (one (3,) or (3, 3) at a time, for
setting up fits) are not meant to be differentiated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def quat_multiply(a: Tensor, b: Tensor, dim: int = -1) -> Tensor:
    """Hamilton product a * b of quaternions wxyz along ``dim`` (size 4); rotation b first,
    then a. Shapes broadcast."""
    return torch.stack(quat_multiply_parts(a.unbind(dim), b.unbind(dim)), dim=dim)


def quat_multiply_parts(
    a: Sequence[Tensor], b: Sequence[Tensor]
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """quat_multiply on components: ``a`` and ``b`` are (w, x, y, z), the components of each
    of one shape, the two shapes broadcasting; returns the (w, x, y, z) of a * b. On contiguous
    components every step is one vectorised pass (core.deform keeps its quaternions
    component-major for that)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    w = (aw * bw).addcmul_(ax, bx, value=-1).addcmul_(ay, by, value=-1).addcmul_(az, bz, value=-1)
    x = (aw * bx).addcmul_(ax, bw).addcmul_(ay, bz).addcmul_(az, by, value=-1)
    y = (aw * by).addcmul_(ax, bz, value=-1).addcmul_(ay, bw).addcmul_(az, bx)
    z = (aw * bz).addcmul_(ax, by).addcmul_(ay, bx, value=-1).addcmul_(az, bw)
    return w, x, y, z


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
    q = rotmat_to_quat_parts([row.unbind(-1) for row in R.unbind(-2)], dim=0)  # (4, ...)
    return q.movedim(0, -1).contiguous()


def rotmat_to_quat_parts(m: Sequence[Sequence[Tensor]], dim: int) -> Tensor:
    """rotmat_to_quat on entries: ``m[i][j]`` is the tensor of the (i, j) entries, all of one
    shape S; returns the quaternions with w, x, y, z stacked at ``dim`` >= 0 (S with a 4 put in
    at ``dim``). On contiguous entries (component-major, as core.deform holds its triangle
    frames) every step is one vectorised pass."""
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = m
    # Squared magnitudes (times 4) of w, x, y, z.
    d0 = 1 + m00 + m11 + m22
    d1 = 1 + m00 - m11 - m22
    d2 = 1 - m00 + m11 - m22
    d3 = 1 - m00 - m11 + m22
    # Candidate i is 4 * q_i * q, for i = w, x, y, z; each element takes the one with the
    # largest d_i, the first on ties as argmax would (comparisons and one gather: on CPU
    # several times faster than argmax, or torch.where, across rows).
    rx, ry, rz = m21 - m12, m02 - m20, m10 - m01
    sxy, sxz, syz = m10 + m01, m02 + m20, m21 + m12
    candidates = torch.stack(
        (d0, rx, ry, rz, rx, d1, sxy, sxz, ry, sxy, d2, syz, rz, sxz, syz, d3), dim=dim
    ).unflatten(dim, (4, 4))
    x_over_w = (d1 > d0).long()
    z_over_y = (d3 > d2).long()
    yz_over_wx = (torch.maximum(d2, d3) > torch.maximum(d0, d1)).long()
    best = x_over_w + yz_over_wx * (2 + z_over_y - x_over_w)  # 0, 1, 2, 3 = w, x, y, z
    shape = candidates.shape[:dim] + (1,) + candidates.shape[dim + 1 :]
    chosen = torch.gather(candidates, dim, best.unsqueeze(dim).unsqueeze(dim).expand(shape))
    chosen = chosen.squeeze(dim)
    norm = torch.sqrt((chosen * chosen).sum(dim, keepdim=True))
    return chosen / torch.where(chosen.narrow(dim, 0, 1) < 0, -norm, norm)  # so that w >= 0


def axis_rotations(angles: Tensor, axis: int) -> Tensor:
    """(...) angles (radians) about coordinate axis 0 (X), 1 (Y) or 2 (Z) -> (..., 3, 3)."""
    c, s = torch.cos(angles), torch.sin(angles)
    R = torch.zeros(*angles.shape, 3, 3, dtype=angles.dtype, device=angles.device)
    i, k = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1.0
    R[..., i, i], R[..., i, k], R[..., k, i], R[..., k, k] = c, -s, s, c
    return R


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


# -- single rotations ---------------------------------------------------------------------


def rotmat_to_rotvec(rotation: Tensor) -> Tensor:
    """(3, 3) rotation -> (3,) rotation vector (axis * angle, angle in [0, pi])."""
    q = rotmat_to_quat(rotation)
    sin_half = q[1:].norm()
    angle = 2 * torch.atan2(sin_half, q[0])
    return q[1:] * (angle / sin_half) if sin_half > 1e-8 else 2 * q[1:]


def smallest_rotation(a: Tensor, b: Tensor) -> Tensor:
    """(3, 3) the smallest rotation turning direction a (3,) to direction b (3,); the
    identity when they are (anti)parallel."""
    a, b = F.normalize(a, dim=0), F.normalize(b, dim=0)
    axis = torch.linalg.cross(a, b)
    sine, cosine = axis.norm(), a @ b
    if sine < 1e-6:
        return torch.eye(3)  # (anti)parallel: leave it to the optimiser
    return axis_angle_to_rotmat(axis / sine * torch.atan2(sine, cosine))


def orthonormal_frame(direction: Tensor, towards: Tensor) -> Tensor:
    """(3, 3) orthonormal columns: ``direction`` (3,), ``towards`` (3,) made orthogonal to
    it, their cross product."""
    x = F.normalize(direction, dim=0)
    y = F.normalize(towards - (towards @ x) * x, dim=0)
    return torch.stack((x, y, torch.linalg.cross(x, y)), dim=1)


def heading_rotation(rotation: Tensor) -> Tensor:
    """(3, 3) the rotation about +Z that turns -Y towards where ``rotation`` (3, 3) turns it:
    the heading of a Z-up body facing -Y (docs/conventions.md), without its tilt."""
    forward = rotation @ torch.tensor([0.0, -1.0, 0.0])
    angle = math.atan2(float(forward[0]), float(-forward[1]))
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def angle_about_axis(axis: Tensor, rest: Tensor, target: Tensor) -> float:
    """The angle (radians) about the unit ``axis`` (3,) that best turns ``rest`` (3,) towards
    ``target`` (3,): the angle between their parts orthogonal to the axis."""
    rest = rest - (rest @ axis) * axis
    target = target - (target @ axis) * axis
    return math.atan2(float(torch.linalg.cross(rest, target) @ axis), float(rest @ target))
