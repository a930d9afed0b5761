"""Rig data for Blender from an avatar and its body model: bones, mesh, shape keys (no bpy).

``lca_addon`` turns a :class:`Rig` into an armature, a skinned body mesh and shape keys; the
math lives here so that it is tested without Blender.

Letters: J bones, V vertices, F triangles, E expressions, K body-shape keys, B batch.

Axes. Everything in a Rig is in Blender's axes (Z-up, the body faces -Y), converted from the
body's canonical frame by :func:`axes_to_blender`, the one conversion (Anny: identity;
SMPL-X, Y-up facing +Z: a quarter turn about X).

Bones. ``bone_matrices[j]`` is bone j's rest matrix in armature space, as Blender's
``Bone.matrix_local``: the head at the bone's position in the avatar's canonical pose
(``body.forward`` at zero pose and the avatar's shape) and the bone's axes, Y along the bone.
Bodies whose bones carry orientations keep them (Anny's come from a Blender rig, so the
rolls are the rig's own); bodies with bare joints (identity orientations, SMPL-X) get Y
aimed at the mean of the children's heads (the parent's direction for a leaf) and roll 0,
Blender's smallest rotation from +Y. Lengths: up to a child's head when one lies on the
bone's axis, else to the far end of the vertices the bone moves most, else half the parent's.

Posing. A core pose is one rotation vector per bone relative to its parent, in canonical
world axes. Blender's pose chain is ``pose_c = pose_p @ rest_p^-1 @ rest_c @ basis_c``; with
``rest`` the canonical bone matrices above it reproduces the body's bone transforms exactly
when ``basis_c`` is the rotation vector expressed in bone c's rest axes
(:func:`blender_bone_pose`, checked by :func:`posed_bone_matrices`, which composes the chain
with :func:`core.deform.skinning.forward_kinematics`).

Skinning. Blender's Armature modifier skins the canonical mesh with ``pose_j @ rest_j^-1``
(:func:`skin_canonical` is its twin, through :func:`core.deform.skinning.skin_to_pose`, the
same maths :func:`core.posing.posed_vertices` poses avatars with, so ``lca render`` and Blender
agree to float precision). The body model's own posed vertices differ slightly (Anny skins its
own rest mesh, whose bone orientations differ from the canonical ones by a few degrees: under
4 mm at most, 0.04 mm on average, for the arm raised 105 degrees with curled fingers); the
bones themselves, the rest pose, and every expression and body-shape key at the rest pose are
exact.

Shape keys. Expressions: one key per expression (ARKit names for Anny), delta =
``forward(expression=one-hot) - forward()`` at the rest pose and the avatar's shape; the
expressions are linear blendshapes, so keys at any values match the body model at the rest
pose. Body shape: a linearisation;
for each shape parameter, a key towards its maximum (``body_<name>_max``) and one towards
its minimum (``body_<name>_min``), delta = ``forward(shape with the parameter at that end) -
forward(avatar's shape)``. A key at 1 is exact at the rest pose; values in between move the
vertices linearly (the body model itself is not linear in its shape parameters), and the
bones stay at the avatar's shape, so a posed mesh with a shape key is an approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .avatar.avatar import Avatar
from .avatar.lca_rig import RigArrays
from .avatar.lca_rig import ShapeKeyTarget as ShapeKeyTarget  # its home is the file module
from .body.model import BodyModel
from .deform.skinning import forward_kinematics, skin_to_pose
from .errors import LcaError
from .posing import avatar_shape
from .quaternion import axis_angle_to_rotmat, quat_to_rotmat, rotmat_to_quat

CANONICAL_MATCH_TOLERANCE = 1e-3
"""Metres: how far the avatar's canonical mesh may be from the body model's at its shape."""

_ALIGNED_DEGREES = 10.0
"""A child's head within this angle of a bone's Y axis ends the bone (its tail)."""

_MIN_LENGTH = 1e-3


@dataclass(frozen=True)
class Rig:
    """An avatar's rig in Blender's axes (see the module docstring).

    bone_names, bone_parents: J names and parent indices (-1 for the root), parents first.
    bone_matrices: (J, 4, 4) rest matrices in armature space (head, axes, Y along the bone).
    bone_lengths: (J,) metres.
    vertices: (V, 3) the avatar's canonical mesh.
    faces: (F, 3) int64 triangles.
    uvs: (F, 3, 2) texture coordinates of each triangle corner, or None.
    skinning_weights: (V, J), rows sum to 1.
    expression_names: E shape-key names (the 52 ARKit names for Anny).
    expression_deltas: (E, V, 3) vertex offsets of each expression at value 1.
    shape_keys: K body-shape keys; shape_deltas: (K, V, 3) their offsets at value 1.
    axes: (3, 3) the canonical frame -> Blender rotation.
    """

    bone_names: tuple[str, ...]
    bone_parents: tuple[int, ...]
    bone_matrices: Tensor
    bone_lengths: Tensor
    vertices: Tensor
    faces: Tensor
    uvs: Tensor | None
    skinning_weights: Tensor
    expression_names: tuple[str, ...]
    expression_deltas: Tensor
    shape_keys: tuple[ShapeKeyTarget, ...]
    shape_deltas: Tensor
    axes: Tensor

    @property
    def tails(self) -> Tensor:
        """(J, 3) bone tails: head + length * Y axis."""
        return (
            self.bone_matrices[:, :3, 3] + self.bone_lengths[:, None] * self.bone_matrices[:, :3, 1]
        )


def axes_to_blender(up_axis: str) -> Tensor:
    """(3, 3) rotation from a canonical frame with ``up_axis`` ("Z" or "Y") to Blender's axes.

    Z-up frames (Anny, facing -Y) are Blender's already; Y-up frames (SMPL-X, facing +Z)
    turn a quarter about X: (x, y, z) -> (x, -z, y), so up becomes +Z and the front -Y.
    """
    if up_axis == "Z":
        return torch.eye(3)
    if up_axis == "Y":
        return torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    raise ValueError(f"up_axis must be 'Z' or 'Y', got {up_axis!r}.")


def build_rig(body: BodyModel, avatar: Avatar) -> Rig:
    """The rig of ``avatar`` on ``body`` at the avatar's shape, in Blender's axes.

    Raises LcaError (one sentence) when the avatar does not fit the body model.
    """
    shape = avatar_shape(avatar, body)  # checks the model name
    V = avatar.canonical_vertices.shape[0]
    if body.skinning_weights.shape[0] != V or not torch.equal(
        body.triangles.cpu(), avatar.faces.cpu()
    ):
        raise LcaError(
            f"The avatar's body mesh ({V} vertices) does not match the '{body.name}' body "
            f"model's; the avatar needs the body model version it was made with "
            f"({avatar.body.model_version})."
        )
    A = axes_to_blender(body.up_axis)
    with torch.no_grad():
        neutral = body.forward(shape)
        canonical = neutral.vertices[0].float().cpu()
        gap = float((canonical - avatar.canonical_vertices.float()).abs().max())
        if gap > CANONICAL_MATCH_TOLERANCE:
            raise LcaError(
                f"The avatar's canonical mesh is {gap * 1000:.1f} mm away from the "
                f"'{body.name}' body model's at the avatar's shape; the avatar needs the body "
                f"model version it was made with ({avatar.body.model_version})."
            )
        E = len(body.expression_names)
        expressions = body.forward(shape.expand(E, -1), expression=torch.eye(E)).vertices
        expression_deltas = (expressions.float().cpu() - canonical) @ A.T
        shape_keys, shape_values = _shape_key_targets(body, shape[0])
        if shape_keys:
            shaped = body.forward(shape_values).vertices.float().cpu()
            shape_deltas = (shaped - canonical) @ A.T
        else:
            shape_deltas = torch.zeros(0, V, 3)

    vertices = avatar.canonical_vertices.float().cpu() @ A.T
    weights = body.skinning_weights.float().cpu()
    transforms = neutral.bone_transforms[0].float().cpu()
    heads = transforms[:, :3, 3] @ A.T
    body_axes = transforms[:, :3, :3]
    if bool((body_axes - torch.eye(3)).abs().amax() < 1e-6):
        rotations = aimed_bone_axes(heads, body.bone_parents)
    else:
        rotations = A @ body_axes
    matrices = torch.eye(4).repeat(len(body.bone_names), 1, 1)
    matrices[:, :3, :3] = rotations
    matrices[:, :3, 3] = heads
    lengths = bone_lengths(matrices, body.bone_parents, weights, vertices)
    return Rig(
        bone_names=tuple(body.bone_names),
        bone_parents=tuple(body.bone_parents),
        bone_matrices=matrices,
        bone_lengths=lengths,
        vertices=vertices,
        faces=avatar.faces.cpu(),
        uvs=None if body.uvs is None else body.uvs.float().cpu(),
        skinning_weights=weights,
        expression_names=tuple(body.expression_names),
        expression_deltas=expression_deltas,
        shape_keys=shape_keys,
        shape_deltas=shape_deltas,
        axes=A,
    )


def avatar_rig(avatar: Avatar, body: BodyModel | None = None) -> Rig:
    """:func:`build_rig` on ``body``, or on the avatar's own body model (loaded by name)."""
    if body is None:
        from .body.registry import load_body_model

        body = load_body_model(avatar.body.model)
    return build_rig(body, avatar)


def rig_to_arrays(rig: Rig) -> RigArrays:
    """``rig`` on numpy (``core.avatar.lca_rig.RigArrays``, what the `.lca` rig section holds)."""
    return RigArrays(
        bone_names=rig.bone_names,
        bone_parents=rig.bone_parents,
        bone_matrices=rig.bone_matrices.float().numpy(),
        bone_lengths=rig.bone_lengths.float().numpy(),
        vertices=rig.vertices.float().numpy(),
        faces=rig.faces.to(torch.int64).numpy(),
        uvs=None if rig.uvs is None else rig.uvs.float().numpy(),
        skinning_weights=rig.skinning_weights.float().numpy(),
        expression_names=rig.expression_names,
        expression_deltas=rig.expression_deltas.float().numpy(),
        shape_keys=rig.shape_keys,
        shape_deltas=rig.shape_deltas.float().numpy(),
        axes=rig.axes.float().numpy(),
    )


def rig_from_arrays(arrays: RigArrays) -> Rig:
    """The Rig of ``arrays`` (as ``core.avatar.lca_file.load_lca_with_rig`` reads a file)."""

    def tensor(a):
        return torch.from_numpy(a.copy())

    return Rig(
        bone_names=tuple(arrays.bone_names),
        bone_parents=tuple(arrays.bone_parents),
        bone_matrices=tensor(arrays.bone_matrices),
        bone_lengths=tensor(arrays.bone_lengths),
        vertices=tensor(arrays.vertices),
        faces=tensor(arrays.faces),
        uvs=None if arrays.uvs is None else tensor(arrays.uvs),
        skinning_weights=tensor(arrays.skinning_weights),
        expression_names=tuple(arrays.expression_names),
        expression_deltas=tensor(arrays.expression_deltas),
        shape_keys=tuple(arrays.shape_keys),
        shape_deltas=tensor(arrays.shape_deltas),
        axes=tensor(arrays.axes),
    )


def _shape_key_targets(body: BodyModel, shape: Tensor) -> tuple[tuple[ShapeKeyTarget, ...], Tensor]:
    """The body-shape keys of a body at ``shape`` (S,) and the (K, S) shapes they reach."""
    keys, values = [], []
    for i, parameter in enumerate(body.shape_parameters):
        current = float(shape[i])
        span = parameter.maximum - parameter.minimum
        for end, target in (("max", parameter.maximum), ("min", parameter.minimum)):
            if abs(target - current) <= 1e-3 * span:
                continue
            keys.append(
                ShapeKeyTarget(f"body_{parameter.name}_{end}", parameter.name, current, target)
            )
            reached = shape.clone()
            reached[i] = target
            values.append(reached)
    return tuple(keys), (torch.stack(values) if values else shape[None, :0])


def aimed_bone_axes(heads: Tensor, parents: tuple[int, ...]) -> Tensor:
    """(J, 3, 3) bone axes for bare joints: Y towards the mean of the children's heads (the
    parent's direction for a leaf, +Z for a lone root), roll 0 (the smallest rotation that
    takes +Y there, as Blender's roll 0)."""
    J = heads.shape[0]
    directions = torch.zeros(J, 3)
    for j in range(J):
        children = [c for c in range(J) if parents[c] == j]
        d = heads[children].mean(0) - heads[j] if children else torch.zeros(3)
        if float(d.norm()) > 1e-6:
            directions[j] = d / d.norm()
        elif parents[j] >= 0:
            directions[j] = directions[parents[j]]
        else:
            directions[j] = torch.tensor([0.0, 0.0, 1.0])
    return _rotation_from_y(directions)


def _rotation_from_y(directions: Tensor) -> Tensor:
    """(J, 3, 3) smallest rotations taking +Y to the unit ``directions`` (J, 3)."""
    y = torch.tensor([0.0, 1.0, 0.0]).expand_as(directions)
    axis = torch.linalg.cross(y, directions)
    sin = axis.norm(dim=-1, keepdim=True)
    cos = (directions * y).sum(-1, keepdim=True)
    angle = torch.atan2(sin, cos)
    axis = torch.where(sin > 1e-8, axis / sin.clamp_min(1e-12), torch.tensor([0.0, 0.0, 1.0]))
    return axis_angle_to_rotmat(axis * angle)


def bone_lengths(
    matrices: Tensor, parents: tuple[int, ...], weights: Tensor, vertices: Tensor
) -> Tensor:
    """(J,) bone lengths (see the module docstring).

    matrices: (J, 4, 4) rest matrices; weights: (V, J); vertices: (V, 3).
    """
    J = matrices.shape[0]
    heads, y_axes = matrices[:, :3, 3], matrices[:, :3, 1]
    dominant = weights.argmax(dim=1)
    cos_aligned = math.cos(math.radians(_ALIGNED_DEGREES))
    height = float((vertices.max(0).values - vertices.min(0).values).max())
    lengths = torch.zeros(J)
    for j in range(J):
        offsets = heads[[c for c in range(J) if parents[c] == j]] - heads[j]
        along = offsets @ y_axes[j]
        aligned = (along > _MIN_LENGTH) & (along >= cos_aligned * offsets.norm(dim=-1))
        if bool(aligned.any()):
            lengths[j] = along[aligned].min()
            continue
        owned = vertices[dominant == j]
        reach = float(((owned - heads[j]) @ y_axes[j]).max()) if owned.shape[0] else 0.0
        if reach > _MIN_LENGTH:
            lengths[j] = reach
        elif parents[j] >= 0:
            lengths[j] = max(0.5 * float(lengths[parents[j]]), _MIN_LENGTH)
        else:
            lengths[j] = 0.1 * height
    return lengths


def blender_bone_pose(
    rig: Rig, rotations: Tensor, translation: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """A core pose as Blender pose-bone values.

    rotations: (J, 3) rotation vectors, radians, relative to the parent, canonical axes.
    translation: (3,) root translation, metres, canonical axes.
    Returns (J, 4) ``rotation_quaternion`` (wxyz) of each pose bone, in its rest axes, and
    (3,) the root pose bone's ``location``.
    """
    if rotations.shape != (len(rig.bone_names), 3):
        raise ValueError(f"rotations must be ({len(rig.bone_names)}, 3), got {rotations.shape}.")
    rest = rig.bone_matrices[:, :3, :3]
    world = rotations.float() @ rig.axes.T  # rotation vectors in Blender's axes
    local = (rest.transpose(-1, -2) @ world[..., None])[..., 0]
    quaternions = rotmat_to_quat(axis_angle_to_rotmat(local))
    location = torch.zeros(3) if translation is None else rest[0].T @ (rig.axes @ translation)
    return quaternions, location


def core_bone_rotations(bone_matrices: Tensor, axes: Tensor, quaternions: Tensor) -> Tensor:
    """Blender pose-bone rotations as a core pose: the inverse of :func:`blender_bone_pose`
    (what the pose correction takes from a Blender armature).

    bone_matrices: (J, 4, 4) rest matrices in armature space; axes: (3, 3) canonical ->
    Blender; quaternions: (J, 4) wxyz pose-bone rotations in their rest axes.
    Returns (J, 3) rotation vectors, radians, relative to the parent, canonical axes, each of
    angle at most pi (a quaternion keeps no more turns).
    """
    J = bone_matrices.shape[0]
    if tuple(bone_matrices.shape) != (J, 4, 4) or tuple(quaternions.shape) != (J, 4):
        raise ValueError(
            f"bone_matrices (J, 4, 4) and quaternions (J, 4) must agree, got "
            f"{tuple(bone_matrices.shape)} and {tuple(quaternions.shape)}."
        )
    rest = bone_matrices[:, :3, :3].float()
    q = quaternions.float() / quaternions.float().norm(dim=-1, keepdim=True)
    q = torch.where(q[:, :1] < 0, -q, q)  # the short way: angle in [0, pi]
    sin_half = q[:, 1:].norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[:, :1])
    scale = torch.where(
        sin_half > 1e-8, angle / sin_half.clamp_min(1e-8), torch.full_like(angle, 2.0)
    )
    local = q[:, 1:] * scale  # (J, 3) rotation vectors in each bone's rest axes
    # r_j = A^T rest_j local_j: the rotation vector back in the canonical axes.
    return (rest @ local[..., None])[..., 0] @ axes.float()


def blender_bone_poses(
    bone_matrices: Tensor, axes: Tensor, rotations: Tensor, translations: Tensor
) -> tuple[Tensor, Tensor]:
    """T core poses as Blender pose-bone values: :func:`blender_bone_pose` over frames.

    bone_matrices: (J, 4, 4) rest matrices in armature space (``Rig.bone_matrices``, or an
    armature's ``Bone.matrix_local``); axes: (3, 3) canonical -> Blender (``Rig.axes``).
    rotations: (T, J, 3, 3) local rotation matrices relative to the parent, canonical axes
    (a clip on the body's skeleton, ``core.motion.clip.Clip.rotations``); translations:
    (T, 3) the root's translation, metres, canonical axes.
    Returns (T, J, 4) wxyz ``rotation_quaternion``, each bone's sign kept continuous from
    frame to frame (so keys interpolate the short way), and (T, 3) the root's ``location``.
    """
    T, J = rotations.shape[:2]
    if tuple(rotations.shape) != (T, J, 3, 3) or tuple(bone_matrices.shape) != (J, 4, 4):
        raise ValueError(
            f"rotations (T, J, 3, 3) and bone_matrices (J, 4, 4) must agree, got "
            f"{tuple(rotations.shape)} and {tuple(bone_matrices.shape)}."
        )
    if tuple(translations.shape) != (T, 3):
        raise ValueError(f"translations must be ({T}, 3), got {tuple(translations.shape)}.")
    rest = bone_matrices[:, :3, :3].double()
    A = axes.double()
    # basis_j = rest_j^T A R_j A^T rest_j: the rotation in bone j's rest axes.
    frame = A.T @ rest  # (J, 3, 3)
    basis = frame.transpose(-1, -2) @ rotations.double() @ frame
    quaternions = rotmat_to_quat(basis)
    # Keep each bone's quaternion on the side of its previous frame's.
    flips = (quaternions[1:] * quaternions[:-1]).sum(-1) < 0  # (T-1, J)
    sign = 1.0 - 2.0 * (torch.cumsum(flips.to(torch.int64), dim=0) % 2).to(torch.float64)
    quaternions[1:] *= sign[..., None]
    locations = translations.double() @ A.T @ rest[0]  # rest_0^T A t, row-wise
    return quaternions, locations


def posed_bone_matrices(rig: Rig, quaternions: Tensor, location: Tensor) -> Tensor:
    """Twin of Blender's pose evaluation: (J, 4, 4) armature-space ``PoseBone.matrix``.

    quaternions: (J, 4) wxyz pose-bone rotations; location: (3,) the root's location.
    pose_c = pose_p @ rest_p^-1 @ rest_c @ basis_c, basis_c = [R(q_c) | location on the root].
    """
    rest = rig.bone_matrices
    basis = torch.eye(4).repeat(rest.shape[0], 1, 1)
    basis[:, :3, :3] = quat_to_rotmat(quaternions.float())
    basis[0, :3, 3] = location
    # Each bone relative to its parent: rest_p^-1 @ rest_c @ basis_c (a root: rest_c @ basis_c).
    parents = torch.tensor(rig.bone_parents)
    parent_inverse = torch.linalg.inv(rest)[parents.clamp_min(0)]
    parent_inverse[parents < 0] = torch.eye(4)
    return forward_kinematics(parent_inverse @ rest @ basis, rig.bone_parents)


def skin_canonical(rig: Rig, posed: Tensor) -> Tensor:
    """Twin of Blender's Armature modifier (linear blend skinning of the canonical mesh).

    posed: (B, J, 4, 4) armature-space pose-bone matrices. Returns (B, V, 3) vertices:
    v' = sum_j w_vj (posed_j @ rest_j^-1) v.
    """
    vertices = rig.vertices[None].expand(posed.shape[0], -1, -1)
    return skin_to_pose(vertices, rig.skinning_weights, posed, rig.bone_matrices)
