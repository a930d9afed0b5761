"""The avatar's pose correction in Blender: kept on the avatar's data, evaluated from the rig.

An avatar the network made carries a pose correction (``core.avatar.pose_correction``): an
MLP of the pose and the expression whose offsets are added to the binding in the triangle
frame. The import stores it on the avatar object's data (a custom property, ``lca_correction``:
the MLP's arrays, each Gaussian's anchors, and the bone and expression names it reads), so it
is saved in the `.blend` and survives a conversion to native splats.

The live link (live_link.py: the 4.2-5.2 viewport drawing and the render engine) applies it
through ``core.posing.pose_correction``, the function ``lca render`` uses: the pose comes from
the armature's evaluated pose bones (``core.rig.core_bone_rotations``) and the expression from
the body mesh's evaluated shape keys. Blender 5.3's native splats (Geometry Nodes, no torch)
cannot evaluate the MLP: :data:`NATIVE_WARNING` says so where such an avatar becomes native.

Letters: J bones, E expressions, N Gaussians.
"""

import bpy
import numpy as np

from ..core.errors import LcaError

PROPERTY = "lca_correction"
"""The custom property of the avatar's data that holds the correction."""
_FLOATS = ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "anchor_weight")
NATIVE_WARNING = (
    "The avatar's pose correction (learned pose and expression offsets) is not applied by "
    "Blender's native splats in the viewport, Cycles and EEVEE, while the extension's live "
    "preview and the LCA render engine apply it."
)


def write_correction(data: bpy.types.ID, correction, bone_names, expression_names) -> None:
    """Store ``correction`` (``PoseCorrection`` or ``lca_numpy.CorrectionArrays``: the same
    fields, torch or numpy) on ``data`` with the rig's ``bone_names`` (J) and
    ``expression_names`` (E) it reads. LcaError if the rig does not match it."""
    if (correction.bones, correction.expressions) != (len(bone_names), len(expression_names)):
        raise LcaError(
            f"The avatar's pose correction was made for {correction.bones} bones and "
            f"{correction.expressions} expressions but its rig has {len(bone_names)} and "
            f"{len(expression_names)}; create the avatar again with `lca create`."
        )
    index = np.asarray(correction.anchor_index)
    stored = {name: np.asarray(getattr(correction, name), dtype=np.float32) for name in _FLOATS}
    data[PROPERTY] = {
        "bone_names": list(bone_names),
        "expression_names": list(expression_names),
        "fc1_shape": list(stored["fc1_weight"].shape),
        "fc2_shape": list(stored["fc2_weight"].shape),
        "anchor_shape": list(index.shape),
        "anchor_index": index.astype(np.int32).ravel(),
        **{name: array.ravel() for name, array in stored.items()},
    }


def has_correction(data: bpy.types.ID | None) -> bool:
    """Whether ``data`` (an avatar object's data) holds a pose correction."""
    return data is not None and PROPERTY in data


def read_correction(data: bpy.types.ID):
    """(``core.avatar.pose_correction.PoseCorrection``, bone names, expression names) stored
    on ``data``, or None where it holds none. LcaError if the stored arrays are damaged."""
    import torch

    from ..core.avatar.pose_correction import PoseCorrection

    if not has_correction(data):
        return None
    group = data[PROPERTY]
    try:
        bones, expressions = list(group["bone_names"]), list(group["expression_names"])
        shapes = {
            "fc1_weight": tuple(group["fc1_shape"]),
            "fc1_bias": (tuple(group["fc1_shape"])[0],),
            "fc2_weight": tuple(group["fc2_shape"]),
            "fc2_bias": (tuple(group["fc2_shape"])[0],),
            "anchor_weight": tuple(group["anchor_shape"]),
        }
        arrays = {
            name: torch.from_numpy(np.array(group[name], dtype=np.float32).reshape(shape))
            for name, shape in shapes.items()
        }
        index = np.array(group["anchor_index"], dtype=np.int64).reshape(shapes["anchor_weight"])
        correction = PoseCorrection(
            bones=len(bones),
            expressions=len(expressions),
            anchor_index=torch.from_numpy(index),
            **arrays,
        )
    except (KeyError, TypeError, ValueError, LcaError):
        raise LcaError(
            f"The pose correction stored on '{data.name}' is damaged; import the avatar again."
        ) from None
    return correction, bones, expressions


def blender_pose(
    avatar: bpy.types.Object, depsgraph: bpy.types.Depsgraph, bones: list, expressions: list
) -> tuple:
    """(1, J, 3) rotation vectors (canonical axes, radians) of the avatar's armature's
    evaluated pose bones named ``bones``, and (1, E) the values of its body mesh's evaluated
    shape keys named ``expressions`` (a missing bone or key counts as rest)."""
    import torch

    from ..core.avatar.lca_rig import axes_to_blender
    from ..core.rig import core_bone_rotations

    props = avatar.lca_avatar
    armature, body = props.armature, props.body_mesh
    rest = np.tile(np.eye(4, dtype=np.float32), (len(bones), 1, 1))
    quaternions = np.tile(np.array([1.0, 0.0, 0.0, 0.0], np.float32), (len(bones), 1))
    if armature is not None and armature.type == "ARMATURE":
        posed = armature.evaluated_get(depsgraph).pose
        for j, name in enumerate(bones):
            bone, pose_bone = armature.data.bones.get(name), posed.bones.get(name)
            if bone is not None and pose_bone is not None:
                rest[j] = np.array(bone.matrix_local, dtype=np.float32)
                quaternions[j] = tuple(pose_bone.matrix_basis.to_quaternion())
    values = np.zeros(len(expressions), np.float32)
    keys = body.data.shape_keys if body is not None and body.type == "MESH" else None
    if keys is not None:
        blocks = keys.evaluated_get(depsgraph).key_blocks
        for e, name in enumerate(expressions):
            block = blocks.get(name)
            values[e] = 0.0 if block is None else block.value
    axes = torch.from_numpy(axes_to_blender(props.up_axis if props.up_axis in ("Y", "Z") else "Z"))
    rotations = core_bone_rotations(torch.from_numpy(rest), axes, torch.from_numpy(quaternions))
    return rotations[None], torch.from_numpy(values)[None]


def avatar_correction(avatar: bpy.types.Object, depsgraph: bpy.types.Depsgraph, stored=None):
    """(1, N, 3) the avatar's pose correction in its rig's evaluated pose and expression
    (``core.posing.pose_correction``), or None where it carries none. ``stored``: what
    :func:`read_correction` returned for it (read here if None)."""
    from ..core.posing import pose_correction

    stored = read_correction(avatar.data) if stored is None else stored
    if stored is None:
        return None
    correction, bones, expressions = stored
    rotations, expression = blender_pose(avatar, depsgraph, bones, expressions)
    return pose_correction(correction, rotations, expression)
