"""Body fitting's parameters and where they start.

:class:`BodyParams` holds what body fitting optimises, over B views. Each view starts with
the root placed from the torso of MediaPipe's world landmarks and the person's size in
pixels (:func:`initial_placement`, for the fixed fitting camera ``FIT_CAMERA`` at the
origin), and each arm and leg pointed along the world landmarks (:func:`initial_limbs`);
the shape starts at the average and the expressions at neutral. No randomness.
Letters: B views, J bones, S shape parameters, E fitted expressions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..body.model import BodyModel
from ..quaternion import (
    angle_about_axis,
    axis_angle_to_rotmat,
    orthonormal_frame,
    rotmat_to_rotvec,
    smallest_rotation,
)
from .body_targets import FIT_CAMERA, SEGMENTS, BodyTargets

#: Limbs for the initial pose: upper bone, hinge bone, end bone, Pose landmarks of the joints.
LIMBS = tuple(
    (f"upper{limb}01.{s}", f"lower{limb}01.{s}", f"{end}.{s}", joints)
    for limb, end, left in (("arm", "wrist", (11, 13, 15)), ("leg", "foot", (23, 25, 27)))
    for s, joints in (("L", left), ("R", tuple(i + 1 for i in left)))
)
#: Initial bone rotations (radians about (1, 1, 1)): small but away from zero.
NUDGE = 1e-3 / math.sqrt(3)

Hinge = tuple[int, Tensor, float, float]
"""A hinge joint: (bone index, flexion axis (3,), lowest and highest flexion in radians)."""


@dataclass(frozen=True)
class BodyParams:
    """What body fitting optimises (leaf tensors, changed in place by the optimiser).

    root: (B, 3) root rotation vectors; translation: (B, 3) root translations, metres;
    bones: (B, J, 3) bone rotation vectors (the root's row unused); shape: (1, S) in [0, 1];
    expression: (B, E) the fitted expressions (body_fit.FITTED_EXPRESSIONS) in [0, 1].
    """

    root: Tensor
    translation: Tensor
    bones: Tensor
    shape: Tensor
    expression: Tensor


def initial_parameters(
    body: BodyModel,
    targets: BodyTargets,
    free: Tensor,
    rest_heads: Tensor,
    hinges: Sequence[Hinge],
    expressions: int,
) -> BodyParams:
    """The starting parameters, requiring gradients, for ``targets`` (B views).

    free: (B, J, 1) 1 for the bones fitted in each view; rest_heads: (J, 3) bone heads in
    the rest pose; hinges: the hinge joints (for the limbs' bending axes); expressions: E.
    """
    views = targets.body.shape[0]
    roots, translations = [], []
    for v in range(views):
        rotation, translation = initial_placement(
            targets.body[v], targets.body_weight[v], targets.world[v], targets.K[v]
        )
        roots.append(rotation)
        translations.append(translation)
    # a tiny start off zero, from when axis_angle_to_rotmat had no gradient there; the
    # fit results in docs/recon.md were measured with it, so it stays
    bones = torch.full((views, len(body.bone_names), 3), NUDGE) * free
    for v in range(views):
        initial_limbs(
            bones[v],
            axis_angle_to_rotmat(roots[v]),
            targets.world[v],
            body.bone_names,
            rest_heads,
            hinges,
        )
    params = BodyParams(
        root=torch.stack(roots),
        translation=torch.stack(translations),
        bones=bones,
        shape=body.default_shape(1).detach().clone().float(),
        expression=torch.zeros(views, expressions),
    )
    for field in dataclasses.fields(params):
        getattr(params, field.name).requires_grad_(True)
    return params


def initial_placement(
    pixels: Tensor, weight: Tensor, world: Tensor, K: Tensor
) -> tuple[Tensor, Tensor]:
    """Root rotation vector (3,) and translation (3,) from the torso of the world landmarks
    (33, 3) and the person's size in pixels (33, 2) (trust ``weight`` (33,)), for the fixed
    camera at the origin with intrinsics K (3, 3)."""
    left = (world[11] - world[12]) + (world[23] - world[24])
    up = (world[11] + world[12] - world[23] - world[24]) / 2
    if left.norm() < 1e-6 or up.norm() < 1e-6:  # no world landmarks: facing the camera
        left, up = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, -1.0, 0.0])
    left = F.normalize(left, dim=0)
    up = F.normalize(up - (up @ left) * left, dim=0)
    body_to_camera = torch.stack((left, torch.linalg.cross(up, left), up), dim=1)
    root = rotmat_to_rotvec(FIT_CAMERA.T @ body_to_camera)
    a, b = zip(*SEGMENTS, strict=True)
    trust = torch.minimum(weight[list(a)], weight[list(b)]) + 1e-3
    metres = ((world[list(a)] - world[list(b)])[:, :2].norm(dim=-1) * trust).sum()
    pixels_long = ((pixels[list(a)] - pixels[list(b)]).norm(dim=-1) * trust).sum()
    focal = float(K[0, 0])
    depth = focal * float(metres) / max(float(pixels_long), 1e-3)
    depth = depth if depth > 0.2 else 3.0
    hips = (pixels[23] + pixels[24]) / 2
    x, y = (hips - K[:2, 2]) * depth / focal
    local = torch.stack((x, y, torch.tensor(depth)))
    return root, FIT_CAMERA.T @ local


def initial_limbs(
    bones: Tensor,
    root: Tensor,
    world: Tensor,
    bone_names: Sequence[str],
    rest_heads: Tensor,
    hinges: Sequence[Hinge],
) -> None:
    """Point each arm and leg (in ``bones`` (J, 3), in place) along MediaPipe's world
    landmarks (33, 3) (camera axes), given the root rotation (3, 3): the upper bone turns so
    that the limb's hinge axis faces the way the limb bends, the hinge bone then bends about
    that axis only. rest_heads: (J, 3) bone heads at rest."""
    names = bone_names
    heads = rest_heads
    axes = {bone: axis for bone, axis, _, _ in hinges}
    for upper, hinge, end, (a, b, c) in LIMBS:
        i, j, k = names.index(upper), names.index(hinge), names.index(end)
        # in the rest frame: target and rest directions of both segments
        near = root.T @ FIT_CAMERA.T @ (world[b] - world[a])
        far = root.T @ FIT_CAMERA.T @ (world[c] - world[b])
        if near.norm() < 1e-6 or far.norm() < 1e-6:
            continue
        first = aligning_rotation(heads[j] - heads[i], axes[j], near, far)
        rest_far = heads[k] - heads[j]
        bend = angle_about_axis(axes[j], rest_far, first.T @ far)
        bones[i] = rotmat_to_rotvec(first) + NUDGE
        bones[j] = axes[j] * bend + NUDGE


def aligning_rotation(rest: Tensor, axis: Tensor, near: Tensor, far: Tensor) -> Tensor:
    """(3, 3) the rotation that turns the ``rest`` direction of a limb's upper segment to
    ``near`` and its hinge ``axis`` to the normal of (near, far), the plane the limb bends in
    (all (3,)); just the smallest rotation to ``near`` when the limb is nearly straight."""
    normal = torch.linalg.cross(near, far)
    if normal.norm() < 0.17 * near.norm() * far.norm():  # bent less than 10 degrees
        return smallest_rotation(rest, near)
    source = orthonormal_frame(rest, axis)
    target = orthonormal_frame(near, normal)
    return target @ source.T
