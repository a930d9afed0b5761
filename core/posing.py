"""Pose an avatar: body model forward with the avatar's shape -> mesh -> Gaussians.

This is the one deformation path of DESIGN.md section 3 on the `core` side: body model ->
posed vertices -> :func:`core.deform.deform_gaussians`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .avatar.avatar import Avatar
from .body.model import BodyModel
from .body.poses import Pose, stack_poses
from .deform.binding import WorldGaussians, deform_gaussians
from .errors import LcaError
from .render.scene import splat_scene
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
    """(B, V, 3) body-mesh vertices of the avatar in each of the B poses."""
    rotations, expression, translation = stack_poses(poses)
    shape = avatar_shape(avatar, body).expand(len(poses), -1)
    with torch.no_grad():
        vertices = body.forward(shape, rotations, expression, translation).vertices
    if vertices.shape[1] != avatar.canonical_vertices.shape[0]:
        raise LcaError(
            f"The body model has {vertices.shape[1]} vertices but the avatar was bound to "
            f"{avatar.canonical_vertices.shape[0]}; the avatar needs its own body model version."
        )
    return vertices.float()


def pose_gaussians(avatar: Avatar, vertices: Tensor) -> WorldGaussians:
    """World Gaussians of the avatar on posed vertices (B, V, 3)."""
    return deform_gaussians(vertices, avatar.faces, avatar.binding)


def avatar_scene(avatar: Avatar, vertices: Tensor | None = None) -> SplatScene:
    """The renderable scene of the avatar on one posed mesh (V, 3); canonical if None."""
    if vertices is None:
        vertices = avatar.canonical_vertices
    world = pose_gaussians(avatar, vertices[None])
    return splat_scene(avatar.binding, world)
