"""Body fitting's loss terms: robust reprojection, 3D limb directions, the pose prior.

docs/recon.md has the weights (``core.recon.body_fit``) and why. Letters: B views, P points,
J bones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .body_init import Hinge
from .body_targets import SEGMENTS

#: Hinges: (bone, Pose landmarks of the three joints around it).
HINGES = (("lowerarm01.L", (11, 13, 15)), ("lowerarm01.R", (12, 14, 16)),
          ("lowerleg01.L", (23, 25, 27)), ("lowerleg01.R", (24, 26, 28)))  # fmt: skip
#: The hinges' flexion range (radians): from 6 degrees past straight to 150 degrees bent.
FLEXION = (-0.1, 2.6)


def reprojection(pixels: Tensor, target: Tensor, weight: Tensor, scale: Tensor) -> Tensor:
    """Robust (pseudo-Huber) distances: pixels, target (B, P, 2), weight (B, P), scale (B,)
    -> (B, P) weighted sqrt(1 + (d / scale)^2) - 1."""
    distance2 = ((pixels - target) ** 2).sum(-1) / scale[:, None] ** 2
    return weight * (torch.sqrt(1 + distance2) - 1)


def direction_loss(points: Tensor, world: Tensor, weight: Tensor) -> Tensor:
    """1 - cos between the fitted and MediaPipe's 3D segment directions (SEGMENTS), both in
    camera axes: points, world (B, 33, 3), weight (B, 33) -> a scalar."""
    a, b = zip(*SEGMENTS, strict=True)
    fitted = F.normalize(points[:, list(b)] - points[:, list(a)], dim=-1)
    seen = F.normalize(world[:, list(b)] - world[:, list(a)], dim=-1)
    trust = torch.minimum(weight[:, list(a)], weight[:, list(b)])
    return (trust * (1 - (fitted * seen).sum(-1))).sum() / (len(SEGMENTS) * points.shape[0])


def hinge(joints: Tensor, bone: str) -> tuple[Tensor, float, float]:
    """A hinge's flexion axis (3,) and its range of rotation about it (radians) from the rest
    pose, given its three joints (3, 3) at rest. A positive rotation about the axis bends the
    limb: knees about +X (the shin goes back), elbows about the normal of the arm's plane (the
    rest pose's elbows are already bent about 40 degrees)."""
    upper, lower = joints[1] - joints[0], joints[2] - joints[1]
    if bone.startswith("lowerleg"):
        axis = torch.tensor([1.0, 0.0, 0.0])
    else:
        axis = F.normalize(torch.linalg.cross(upper, lower), dim=0)
    bent = math.atan2(float(torch.linalg.cross(upper, lower) @ axis), float(upper @ lower))
    low, high = FLEXION
    return axis, low - bent, high - bent


def pose_prior(
    pose: Tensor,
    weights: Tensor,
    hinges: Sequence[Hinge],
    views: int,
    limit_weight: float,
    hinge_weight: float,
) -> Tensor:
    """Pull of the pose (B, J, 3) (root first) towards the canonical pose, ``weights`` (J,)
    per radian^2; elbows and knees bend about their hinge axis only (``hinge_weight`` per
    radian^2 off it), from straight (a little past) to fully bent (``limit_weight`` per
    radian^2 outside). Summed, divided by B = ``views``."""
    bones = pose[:, 1:]
    total = (weights[1:, None] * bones**2).sum() / views
    for bone, axis, low, high in hinges:
        rotation = pose[:, bone]
        flexion = rotation @ axis
        off_axis = rotation - flexion[:, None] * axis
        limit = F.relu(low - flexion) ** 2 + F.relu(flexion - high) ** 2
        total = total + (limit_weight * limit + hinge_weight * (off_axis**2).sum(-1)).sum() / views
    return total
