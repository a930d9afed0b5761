"""Face curves as a body's motion: head and eye rotations, and curves at another frame rate.

Head and eye angles (``FaceCurves.head``: yaw, pitch, roll of the head, then of the left and
the right eye, radians) become rotations in the body's canonical axes (Z up, facing -Y, the
person's left +X) in the convention of ``core.motion.face_fit.head_angles``, which face
capture writes: ``R = Rz(yaw) Rx(pitch) Ry(roll)``; yaw > 0 turns the face to the person's
left, pitch > 0 nods it down, roll > 0 tilts the top of the head to the person's left.

Letters: T frames, K curves.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..quaternion import axis_rotations

HEAD_BONES = ("head", "eye.L", "eye.R")
"""The body bones (Anny's names) the three yaw/pitch/roll triples of ``FaceCurves.head``
turn, in that order."""


def head_rotations(head: Tensor) -> Tensor:
    """(T, 9) yaw, pitch, roll of head, left eye, right eye (radians) -> (T, 3, 3, 3)
    rotations of :data:`HEAD_BONES` in canonical axes: ``Rz(yaw) Rx(pitch) Ry(roll)``."""
    if head.ndim != 2 or head.shape[1] != 9:
        raise ValueError(f"head must be (T, 9), got {tuple(head.shape)}.")
    angles = head.reshape(-1, 3, 3)  # (T, bone, yaw/pitch/roll)
    return (
        axis_rotations(angles[..., 0], 2)
        @ axis_rotations(angles[..., 1], 0)
        @ axis_rotations(angles[..., 2], 1)
    )


def resample_curves(values: Tensor, fps: float, to_fps: float) -> Tensor:
    """(T, K) curves sampled at ``fps`` -> (T', K) at ``to_fps``, same duration, linear
    between neighbouring frames (``core.motion.clip.resample``'s frame count)."""
    if abs(fps - to_fps) < 1e-9:
        return values
    T = values.shape[0]
    count = max(1, int(round((T - 1) / fps * to_fps)) + 1)
    t = (torch.arange(count, dtype=torch.float64) * (fps / to_fps)).clamp(max=T - 1)
    lo = t.floor().long()
    hi = (lo + 1).clamp(max=T - 1)
    w = (t - lo).to(values.dtype)[:, None]
    return values[lo] * (1 - w) + values[hi] * w
