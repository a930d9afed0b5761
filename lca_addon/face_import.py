"""Sidebar > Avatar > Motion > Face Curves: ARKit weights (Live Link Face CSV, or JSON) as
shape-key animation on the avatar's body mesh, head and eye rotations on their bones.

Read (``core.motion.face_curves.read_face_curves``), check (the body mesh's shape keys, the
armature's ``head``, ``eye.L``, ``eye.R``), create:

- the weights, resampled to the scene's frame rate, become a new action on the body mesh's
  shape keys (its Key datablock): one linear key per frame on ``key_blocks["NAME"].value``
  for each of the file's ARKit curves whose shape key exists (scene_build names them with
  the ARKit camelCase names; curves without a key are reported);
- the head and eye rotations (``core.motion.head_pose.head_rotations``) go *on top* of the
  armature's animation: where the armature plays an action (body motion, or hand keys) the
  three bones' ``rotation_quaternion`` curves are replaced by the action's own rotation
  times the face's, keyed at every frame of either; where it plays none, a new action keys
  the three bones alone. So importing body motion first and face curves second gives a head
  that follows the body and turns as the face recording turns; the other order replaces
  the head curves with the body's (import the face again after the body).

A file the reader refuses, or an avatar with none of the curves' shape keys, is one sentence
and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np
from bpy.props import BoolProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from ..core.errors import LcaError
from .avatar_file_operator import AvatarFileImport

_SHOWN = 6


@dataclass(frozen=True)
class FaceResult:
    """What :func:`apply_face` did: ``action`` on the body mesh's shape keys, the frames it
    keys, the curves keyed, those without a shape key, the file's unknown columns, and
    whether the head and eyes were keyed."""

    action: bpy.types.Action
    body: bpy.types.Object
    first_frame: int
    last_frame: int
    fps: float
    keyed: tuple[str, ...]
    missing: tuple[str, ...]
    unknown: tuple[str, ...]
    head: bool

    @property
    def message(self) -> str:
        text = (
            f"Keyed '{self.action.name}' on '{self.body.name}': {len(self.keyed)} shape keys, "
            f"frames {self.first_frame}-{self.last_frame} at {self.fps:g} fps"
        )
        if self.head:
            text += ", head and eyes on top of the armature's motion"
        skipped = self.missing + self.unknown
        if skipped:
            more = len(skipped) - _SHOWN
            text += f"; not imported: {', '.join(skipped[:_SHOWN])}"
            text += f" and {more} more" if more > 0 else ""
        return text + "."


def apply_face(
    context: bpy.types.Context,
    avatar: bpy.types.Object,
    path: Path,
    start_frame: int,
    head: bool = True,
) -> FaceResult:
    """Put the face curves in ``path`` on ``avatar`` from ``start_frame`` (module
    docstring); LcaError (one sentence) leaves the file as it was."""
    from ..core.motion.face_curves import read_face_curves
    from ..core.motion.head_pose import resample_curves

    props = avatar.lca_avatar
    body = props.body_mesh
    keys = body.data.shape_keys if body is not None and body.type == "MESH" else None
    if keys is None:
        raise LcaError(f"The avatar '{avatar.name}' has lost its body mesh; import it again.")
    curves = read_face_curves(path)
    keyed = tuple(name for name in curves.names if keys.key_blocks.get(name) is not None)
    if not keyed:
        raise LcaError(
            f"The body mesh '{body.name}' has none of the {len(curves.names)} ARKit shape keys "
            f"of '{path.name}'; import the avatar again to get them."
        )
    scene = context.scene
    fps = scene.render.fps / scene.render.fps_base
    weights = resample_curves(curves.weights, curves.fps, fps).numpy()
    T = weights.shape[0]
    frames = start_frame + np.arange(T, dtype=np.float64)
    head_keys = None
    armature = props.armature
    if head and curves.head is not None and armature is not None and armature.type == "ARMATURE":
        angles = resample_curves(curves.head, curves.fps, fps)
        head_keys = _head_keys(armature, props.up_axis, angles, frames)
    action = _key_shapes(keys, f"{avatar.name}_{path.stem}_face", frames, curves.names, weights)
    if head_keys is not None:
        _write_head(armature, f"{avatar.name}_{path.stem}_head", *head_keys)
    return FaceResult(
        action=action,
        body=body,
        first_frame=start_frame,
        last_frame=start_frame + T - 1,
        fps=fps,
        keyed=keyed,
        missing=tuple(name for name in curves.names if name not in keyed),
        unknown=tuple(curves.unknown),
        head=head_keys is not None,
    )


def _key_shapes(keys, name: str, frames: np.ndarray, names, weights: np.ndarray):
    from .action_keys import NewAction

    new = NewAction(keys, name)
    try:
        for k, shape in enumerate(names):
            if keys.key_blocks.get(shape) is None:
                continue
            path = f'key_blocks["{bpy.utils.escape_identifier(shape)}"].value'
            new.key(path, frames, weights[:, k : k + 1], "Face")
    except BaseException:
        new.remove()
        raise
    new.assign()
    return new.action


def _head_keys(armature: bpy.types.Object, up_axis: str, angles, frames: np.ndarray):
    """(bone names, union of keyed frames (F,), (F, 3, 4) quaternions): the face's head and
    eye rotations times the armature's own at each frame (module docstring)."""
    import torch

    from ..core.motion.head_pose import HEAD_BONES, head_rotations
    from ..core.quaternion import quat_multiply
    from ..core.rig import axes_to_blender, blender_bone_poses
    from .action_keys import NewAction

    bones = armature.data.bones
    missing = [name for name in HEAD_BONES if bones.get(name) is None]
    if missing:
        raise LcaError(
            f"The armature '{armature.name}' has no bone '{missing[0]}' for the head and eye "
            "rotations; import the avatar again or leave Head and Eyes off."
        )
    rest = torch.from_numpy(np.array([bones[name].matrix_local for name in HEAD_BONES]))
    rotations = head_rotations(angles.to(torch.float64))
    face, _ = blender_bone_poses(
        rest, axes_to_blender(up_axis), rotations, torch.zeros(rotations.shape[0], 3)
    )
    existing = NewAction.active(armature)
    paths = [_rotation_path(name) for name in HEAD_BONES]
    union = set(frames.tolist())
    if existing is not None:
        for path in paths:
            for index in range(4):
                fcurve = existing.find(path, index)
                if fcurve is not None:
                    union.update(point.co[0] for point in fcurve.keyframe_points)
    all_frames = np.array(sorted(union), dtype=np.float64)
    base = np.empty((len(all_frames), len(HEAD_BONES), 4))
    for b, name in enumerate(HEAD_BONES):
        current = tuple(armature.pose.bones[name].rotation_quaternion)
        for index in range(4):
            fcurve = existing.find(paths[b], index) if existing is not None else None
            if fcurve is None:
                base[:, b, index] = current[index]
            else:
                base[:, b, index] = [fcurve.evaluate(f) for f in all_frames]
    base /= np.linalg.norm(base, axis=-1, keepdims=True)
    on_top = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (len(all_frames), len(HEAD_BONES), 1))
    where = np.searchsorted(all_frames, frames)
    on_top[where] = face.numpy()
    result = quat_multiply(torch.from_numpy(base), torch.from_numpy(on_top)).numpy()
    return all_frames, result


def _rotation_path(bone: str) -> str:
    return f'pose.bones["{bpy.utils.escape_identifier(bone)}"].rotation_quaternion'


def _write_head(armature: bpy.types.Object, name: str, frames: np.ndarray, quaternions) -> None:
    """Replace (or create) the head and eye bones' rotation curves (module docstring)."""
    from ..core.motion.head_pose import HEAD_BONES
    from .action_keys import NewAction

    target = NewAction.active(armature)
    new = target is None
    if new:
        target = NewAction(armature, name)
    for b, bone in enumerate(HEAD_BONES):
        path = _rotation_path(bone)
        for index in range(4):
            fcurve = target.find(path, index)
            if fcurve is not None:
                target.remove_fcurve(fcurve)
        target.key(path, frames, quaternions[:, b], bone)
        armature.pose.bones[bone].rotation_mode = "QUATERNION"
    if new:
        target.assign()


class LCA_OT_import_face(AvatarFileImport, bpy.types.Operator, ImportHelper):
    """Put ARKit face curves (Live Link Face CSV or JSON) on the avatar's shape keys, and
    the head and eye rotations on its bones"""

    bl_idname = "lca.import_face"
    bl_label = "Import Face Curves"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv;*.json", options={"HIDDEN"})
    start_frame: IntProperty(
        name="Start Frame",
        description="The frame the curves' first frame lands on (default: the current frame)",
    )
    head: BoolProperty(
        name="Head and Eyes",
        description="Turn the head and eye bones as the file's rotations say, on top of the "
        "armature's motion",
        default=True,
    )

    noun = "face curves"

    def execute(self, context):
        result = self.run(
            context, lambda avatar, path, start: apply_face(context, avatar, path, start, self.head)
        )
        if result is None:
            return {"CANCELLED"}
        self.report({"INFO"}, result.message)
        return {"FINISHED"}
