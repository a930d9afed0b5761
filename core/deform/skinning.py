"""Skinning: bone transforms -> vertices, and bone chains -> bone transforms.

Linear blend skinning as Blender's Armature modifier does it, the inverse of rigid
transforms, and forward kinematics batched by depth in the bone tree (every bone of one depth
composed with its parent in one batched matmul). The pure-torch twins, bone by bone, are in
``core.deform._reference``.

Letters: B batch, V vertices, J bones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def linear_blend_skinning(vertices: Tensor, weights: Tensor, transforms: Tensor) -> Tensor:
    """Linear blend skinning, as Blender's Armature modifier does it.

    vertices: (B, V, 3) rest-pose vertices (shape keys applied).
    weights: (V, J) skinning weights, rows summing to 1.
    transforms: (B, J, 4, 4) each bone's posed transform relative to the rest pose
        (``posed_j @ rest_j^-1``).
    Returns (B, V, 3): v' = sum_j w_vj (transforms_j @ [v, 1]).
    """
    B, V = vertices.shape[:2]
    if vertices.shape != (B, V, 3) or weights.shape[0] != V:
        raise ValueError(
            f"vertices must be (B, V, 3) with V = {weights.shape[0]} (the weights' rows), "
            f"got {tuple(vertices.shape)}."
        )
    if transforms.shape != (B, weights.shape[1], 4, 4):
        raise ValueError(
            f"transforms must be ({B}, {weights.shape[1]}, 4, 4), got {tuple(transforms.shape)}."
        )
    weights = weights.to(vertices)
    # (V, J) x (B, J, 3, 4) -> (B, V, 3, 4): blend the 3x4 blocks, then apply them to [v, 1].
    blended = torch.einsum("vj,bjrc->bvrc", weights, transforms[:, :, :3, :].to(vertices))
    return (blended[..., :3] @ vertices[..., None])[..., 0] + blended[..., 3]


def rigid_inverse(matrices: Tensor) -> Tensor:
    """(..., 4, 4) inverses of rigid transforms [R | t] (R orthonormal): [R^T | -R^T t]."""
    rotation_t = matrices[..., :3, :3].transpose(-1, -2)
    inverse = torch.zeros_like(matrices)
    inverse[..., :3, :3] = rotation_t
    inverse[..., :3, 3] = -(rotation_t @ matrices[..., :3, 3:4])[..., 0]
    inverse[..., 3, 3] = 1.0
    return inverse


def skin_to_pose(vertices: Tensor, weights: Tensor, posed: Tensor, rest: Tensor) -> Tensor:
    """Skin rest-pose vertices with bones moved from ``rest`` to ``posed``.

    vertices: (B, V, 3) rest-pose vertices (shape keys applied).
    weights: (V, J) skinning weights, rows summing to 1.
    posed: (B, J, 4, 4) posed bone transforms; rest: (J, 4, 4) or (B|1, J, 4, 4) rigid rest
        bone transforms, both in the same (world or armature) space.
    Returns (B, V, 3): v' = sum_j w_vj (posed_j @ rest_j^-1 @ [v, 1]).
    """
    return linear_blend_skinning(vertices, weights, posed @ rigid_inverse(rest))


def depth_levels(parents: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """The bones grouped by depth in their tree: roots first, then their children, ...

    parents: J parent indices, -1 for a root, each parent listed before its children.
    """
    depth: list[int] = []
    for j, parent in enumerate(parents):
        if parent >= j:
            raise ValueError(f"bone {j}'s parent {parent} must come before it.")
        depth.append(0 if parent < 0 else depth[parent] + 1)
    levels: list[list[int]] = [[] for _ in range(max(depth, default=-1) + 1)]
    for j, d in enumerate(depth):
        levels[d].append(j)
    return tuple(tuple(level) for level in levels)


def forward_kinematics(local: Tensor, parents: Sequence[int]) -> Tensor:
    """Compose bone transforms down the tree: ``world_j = world_parent(j) @ local_j``.

    local: (..., J, 4, 4) each bone's transform relative to its parent's (a root's: to the
        world or armature space).
    parents: J parent indices, -1 for a root, each parent listed before its children.
    Returns (..., J, 4, 4). One batched matmul per depth level of the tree, not one per bone.
    """
    if local.ndim < 3 or local.shape[-3:] != (len(parents), 4, 4):
        raise ValueError(f"local must be (..., {len(parents)}, 4, 4), got {tuple(local.shape)}.")
    world = local.clone()  # the roots' transforms are their own
    for level in depth_levels(parents)[1:]:
        bones = torch.tensor(level, device=local.device)
        parent_bones = torch.tensor([parents[j] for j in level], device=local.device)
        # (..., L, 4, 4) @ (..., L, 4, 4): every bone of this level after its parent.
        world[..., bones, :, :] = world[..., parent_bones, :, :] @ local[..., bones, :, :]
    return world
