"""Pose an avatar: its canonical mesh, expression offsets and bone transforms -> Gaussians,
and from them a renderable scene or a 3DGS PLY.

This is the one deformation path of DESIGN.md section 3 on the `core` side, and it is the
path Blender takes: the avatar's canonical mesh plus the expression offsets (Blender's shape
keys) is skinned with the posed bone transforms relative to the canonical pose (Blender's
Armature modifier on a rest pose that is the canonical pose; core.deform.skinning), then
:func:`core.deform.deform_gaussians` evaluates the bindings. So ``lca render`` and a render
of the same pose in Blender agree to float precision.

The body model gives the bones (its posed and canonical bone transforms at the avatar's
shape) and the expression offsets (its vertices with and without the expression, at the
canonical pose); its own posed vertices are not used. For Anny they differ from these by
under 4 mm (0.04 mm on average) for an arm raised 105 degrees with curled fingers: Anny
skins its own rest mesh, whose bone orientations differ from the canonical pose's by a few
degrees, and linear blend skinning does not compose.

An avatar the network made carries a pose correction (core.avatar.pose_correction): given
the pose, :func:`pose_gaussians`, :func:`avatar_scene` and :func:`export_avatar_ply` add it
to the binding's offsets (the ``correction`` of ``deform_gaussians``, in the triangle frame,
never a second skinning); it is exactly zero at the canonical pose, and an avatar without one
poses as before. Blender's live link calls :func:`pose_correction` with the armature's pose
(``core.rig.core_bone_rotations``) and the expression shape keys' values.

Letters: B batch, V vertices, J bones, E expressions.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .avatar.avatar import Avatar, GaussianBinding
from .avatar.ply import export_ply
from .avatar.pose_correction import PoseCorrection, correction_offsets
from .body.model import BodyModel
from .body.poses import Pose, stack_poses
from .deform.binding import WorldGaussians, deform_gaussians
from .deform.skinning import skin_to_pose
from .errors import LcaError
from .render.types import SplatScene


def avatar_shape(avatar: Avatar, body: BodyModel) -> Tensor:
    """(1, S) the avatar's shape values in ``body``'s parameter order."""
    if avatar.body.model != body.name:
        raise LcaError(
            f"The avatar is bound to the '{avatar.body.model}' body but the '{body.name}' "
            "body was given; use the body model the avatar was made with."
        )
    values = [avatar.body.shape.get(p.name, p.default) for p in body.shape_parameters]
    return torch.tensor([values], dtype=torch.float32)


def posed_vertices(avatar: Avatar, body: BodyModel, poses: list[Pose]) -> Tensor:
    """(B, V, 3) body-mesh vertices of the avatar in each of the B poses (module docstring).

    Each vertex is the avatar's canonical vertex plus the expression's offset at the
    canonical pose, skinned with ``body``'s skinning weights and the bone transforms
    ``posed_j @ canonical_j^-1`` at the avatar's shape: exactly what Blender computes from
    the imported rig, shape keys and Armature modifier.
    """
    canonical = avatar.canonical_vertices
    V = canonical.shape[0]
    if body.skinning_weights.shape[0] != V:
        raise LcaError(
            f"The body model has {body.skinning_weights.shape[0]} vertices but the avatar was "
            f"bound to {V}; the avatar needs its own body model version."
        )
    rotations, expression, translation = stack_poses(poses)
    B = len(poses)
    shape = avatar_shape(avatar, body)
    with torch.no_grad():
        rest = body.forward(shape)
        posed = body.forward(shape.expand(B, -1), rotations, expression, translation)
        vertices = canonical.to(rest.vertices)[None].expand(B, -1, -1)
        if bool(expression.any()):
            expressed = body.forward(shape.expand(B, -1), expression=expression).vertices
            vertices = vertices + (expressed - rest.vertices)
        skinned = skin_to_pose(
            vertices, body.skinning_weights, posed.bone_transforms, rest.bone_transforms
        )
    return skinned.float()


def pose_correction(
    c: PoseCorrection | None, rotations: Tensor, expression: Tensor
) -> Tensor | None:
    """(B, N, 3) an avatar's pose correction ``c`` (``Avatar.correction``; triangle frame,
    triangle sizes) in poses ``rotations`` (B, J, 3) radians with expressions ``expression``
    (B, E), or None where ``c`` is None. No gradients. LcaError if the pose is for another
    skeleton."""
    if c is None:
        return None
    if tuple(rotations.shape[1:]) != (c.bones, 3) or tuple(expression.shape[1:]) != (
        c.expressions,
    ):
        raise LcaError(
            f"The avatar's pose correction was made for {c.bones} bones and {c.expressions} "
            f"expressions but the pose has {rotations.shape[1]} and {expression.shape[-1]}; "
            "pose it with the body model it was made with."
        )
    with torch.no_grad():
        return correction_offsets(c, rotations, expression)


def poses_correction(avatar: Avatar, poses: list[Pose] | None) -> Tensor | None:
    """:func:`pose_correction` of B ``poses`` (None, or an avatar without one: None)."""
    if avatar.correction is None or poses is None:
        return None
    rotations, expression, _ = stack_poses(poses)
    return pose_correction(avatar.correction, rotations, expression)


def pose_gaussians(
    avatar: Avatar, vertices: Tensor, poses: list[Pose] | None = None
) -> WorldGaussians:
    """World Gaussians of the avatar on posed vertices (B, V, 3); with the B ``poses`` the
    vertices are in, the avatar's pose correction is added (module docstring)."""
    correction = poses_correction(avatar, poses)
    if correction is not None:
        correction = correction.to(vertices.device)
    return deform_gaussians(vertices, avatar.faces, avatar.binding, correction)


def avatar_scene(
    avatar: Avatar, vertices: Tensor | None = None, pose: Pose | None = None
) -> SplatScene:
    """The renderable scene of the avatar on one posed mesh (V, 3); canonical if None.

    pose: the pose ``vertices`` are in, for the avatar's pose correction; None: none added.
    """
    if vertices is None:
        vertices = avatar.canonical_vertices
    world = pose_gaussians(avatar, vertices[None], None if pose is None else [pose])
    return splat_scene(avatar.binding, world)


def splat_scene(binding: GaussianBinding, world: WorldGaussians, index: int = 0) -> SplatScene:
    """The SplatScene of batch element ``index`` of ``world`` (shapes in core.render.types):
    the deformed Gaussians with the binding's opacities, colours and body parts."""
    dtype = world.means.dtype
    return SplatScene(
        means=world.means[index],
        quats=world.quats[index],
        scales=world.scales[index],
        opacities=torch.sigmoid(binding.opacity_logit.to(dtype)),
        sh=binding.sh.to(dtype),
        parts=binding.part,
    )


def export_avatar_ply(
    avatar: Avatar, path: Path | str, vertices: Tensor | None = None, pose: Pose | None = None
) -> None:
    """Write ``avatar`` as a 3DGS PLY (core.avatar.ply), at rest or on a posed mesh.

    vertices: (V, 3) posed body-mesh vertices; None for the canonical (rest) pose.
    pose: the pose ``vertices`` are in, for the avatar's pose correction; None: none added.
    """
    if vertices is None:
        vertices = avatar.canonical_vertices
    if tuple(vertices.shape) != tuple(avatar.canonical_vertices.shape):
        raise ValueError(
            f"vertices must be {tuple(avatar.canonical_vertices.shape)}, got "
            f"{tuple(vertices.shape)}."
        )
    b = avatar.binding
    with torch.no_grad():
        world = pose_gaussians(
            avatar, vertices[None].to(torch.float32), None if pose is None else [pose]
        )
        opacities = torch.sigmoid(b.opacity_logit.to(torch.float32))
    export_ply(path, world.means[0], world.quats[0], world.scales[0], opacities, b.sh)
