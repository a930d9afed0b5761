"""Sidebar > Avatar > Motion: a BVH or FBX clip retargeted onto the avatar's armature as a
new action.

Three calls, as the avatar import: read (BVH through ``core.motion.bvh.read_bvh``, FBX through
Blender's importer, ``fbx_motion.read_fbx_clip``), retarget (the clip resampled to the scene's
frame rate, then ``core.motion.retarget.retarget_to_body`` at the avatar's shape: both formats
share it), create (``core.rig.blender_bone_poses`` turns the clip into pose-bone quaternions
and the root's location, written as one linear key per frame and channel by
``action_keys.NewAction``). Everything that can refuse the input runs before the file is
touched, so an error leaves the armature's animation as it was. The new action replaces the
armature's active one; a replaced action left without users gets a fake user (kept on save).
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

MOTION_SUFFIXES = (".bvh", ".fbx")
_SHOWN_UNMAPPED = 8
"""How many source joints without a home the report names before 'and N more'."""


@dataclass(frozen=True)
class MotionResult:
    """What :func:`apply_motion` did: the new action on ``armature``, the frames it keys,
    the skeleton family found, the source joints that drove no bone, and notes from the
    reader."""

    action: bpy.types.Action
    armature: bpy.types.Object
    first_frame: int
    last_frame: int
    fps: float
    family: str
    unmapped: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def message(self) -> str:
        """One line for the operator's report and the command line."""
        text = (
            f"Keyed '{self.action.name}' on '{self.armature.name}': frames {self.first_frame}"
            f"-{self.last_frame} at {self.fps:g} fps from a {self.family} skeleton"
        )
        if self.unmapped:
            shown = ", ".join(self.unmapped[:_SHOWN_UNMAPPED])
            more = len(self.unmapped) - _SHOWN_UNMAPPED
            text += f"; no home for {shown}" + (f" and {more} more" if more > 0 else "")
        return text + "."


def read_motion(context: bpy.types.Context, path: Path):
    """(clip, notes) of a .bvh or .fbx file; LcaError (one sentence) otherwise."""
    from ..core.motion.bvh import read_bvh
    from .fbx_motion import read_fbx_clip

    suffix = path.suffix.lower()
    if suffix == ".bvh":
        bvh = read_bvh(path)
        return bvh.clip, bvh.notes
    if suffix == ".fbx":
        return read_fbx_clip(context, path), ()
    raise LcaError(f"'{path.name}' is not a .bvh or .fbx file; give a BVH or FBX motion clip.")


def avatar_body(avatar: bpy.types.Object, body=None):
    """(body model, (1, S) shape) of an avatar object: its body model (``body`` if given, to
    spare loading it again) at the avatar's shape values."""
    import torch

    from ..core.body.registry import load_body_model

    props = avatar.lca_avatar
    if body is None:
        body = load_body_model(props.body_model)
    elif body.name != props.body_model:
        raise LcaError(f"The avatar '{avatar.name}' needs the '{props.body_model}' body model.")
    values = {item.name: item.value for item in props.body_shape}
    shape = [values.get(p.name, p.default) for p in body.shape_parameters]
    return body, torch.tensor([shape], dtype=torch.float32)


def bone_keys(armature: bpy.types.Object, axes, clip):
    """A clip on the body's skeleton as pose-bone values at the armature's own rest bones:
    (T, J, 4) wxyz quaternions and (T, 3) the root's location; ``axes`` (3, 3) canonical ->
    Blender."""
    import torch

    from ..core.rig import blender_bone_poses

    bones = armature.data.bones
    missing = [name for name in clip.skeleton.names if bones.get(name) is None]
    if missing:
        raise LcaError(
            f"The armature '{armature.name}' has no bone '{missing[0]}'; import the avatar again."
        )
    rest = torch.from_numpy(np.array([bones[name].matrix_local for name in clip.skeleton.names]))
    translations = clip.root_positions - clip.skeleton.offsets[0]
    return blender_bone_poses(rest, axes, clip.rotations, translations)


def apply_motion(
    context: bpy.types.Context,
    avatar: bpy.types.Object,
    path: Path,
    start_frame: int,
    fit_frame_range: bool = True,
    body=None,
) -> MotionResult:
    """Put the motion in ``path`` on ``avatar``'s armature from ``start_frame`` (module
    docstring); LcaError (one sentence) leaves the file as it was."""
    from ..core.motion.clip import resample
    from ..core.motion.retarget import retarget_to_body
    from ..core.rig import axes_to_blender

    armature = avatar.lca_avatar.armature
    if armature is None or armature.type != "ARMATURE":
        raise LcaError(f"The avatar '{avatar.name}' has lost its armature; import it again.")
    clip, notes = read_motion(context, path)
    body, shape = avatar_body(avatar, body)
    scene = context.scene
    fps = scene.render.fps / scene.render.fps_base
    retargeted = retarget_to_body(resample(clip, fps), body, shape)
    quaternions, locations = bone_keys(
        armature, axes_to_blender(avatar.lca_avatar.up_axis), retargeted.clip
    )
    T = quaternions.shape[0]
    frames = start_frame + np.arange(T, dtype=np.float32)
    names = retargeted.clip.skeleton.names
    action = key_bones(
        armature, f"{avatar.name}_{path.stem}", frames, names, quaternions, locations
    )
    if fit_frame_range:
        scene.frame_start, scene.frame_end = start_frame, start_frame + T - 1
    return MotionResult(
        action=action,
        armature=armature,
        first_frame=start_frame,
        last_frame=start_frame + T - 1,
        fps=fps,
        family=retargeted.joint_map.family,
        unmapped=tuple(retargeted.joint_map.unmapped),
        notes=tuple(notes),
    )


def key_bones(
    armature: bpy.types.Object,
    name: str,
    frames: np.ndarray,
    bone_names: tuple[str, ...],
    quaternions,
    locations,
) -> bpy.types.Action:
    """A new action named ``name`` on ``armature``, made its active one: bone j's
    ``rotation_quaternion`` from ``quaternions[:, j]`` (T, J, 4) and the root's (bone 0's)
    ``location`` from ``locations`` (T, 3), one linear key per frame in ``frames`` (T,)."""
    from .action_keys import NewAction

    new = NewAction(armature, name)
    try:
        q = quaternions.numpy()
        for j, bone in enumerate(bone_names):
            path = f'pose.bones["{bpy.utils.escape_identifier(bone)}"]'
            new.key(f"{path}.rotation_quaternion", frames, q[:, j], bone)
            if j == 0:
                new.key(f"{path}.location", frames, locations.numpy(), bone)
    except BaseException:
        new.remove()
        raise
    for bone in bone_names:
        armature.pose.bones[bone].rotation_mode = "QUATERNION"
    new.assign()
    return new.action


class LCA_OT_import_motion(AvatarFileImport, bpy.types.Operator, ImportHelper):
    """Put a BVH or FBX motion clip on the avatar's armature as a new action, retargeted to
    its body"""

    bl_idname = "lca.import_motion"
    bl_label = "Import Motion"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".bvh"
    filter_glob: StringProperty(default="*.bvh;*.fbx", options={"HIDDEN"})
    start_frame: IntProperty(
        name="Start Frame",
        description="The frame the motion's first frame lands on (default: the current frame)",
    )
    fit_frame_range: BoolProperty(
        name="Fit Frame Range",
        description="Set the scene's start and end frames to the motion's",
        default=True,
    )

    noun = "motion"

    def execute(self, context):
        result = self.run(
            context,
            lambda avatar, path, start: apply_motion(
                context, avatar, path, start, self.fit_frame_range
            ),
        )
        if result is None:
            return {"CANCELLED"}
        for note in result.notes:
            self.report({"WARNING"}, note)
        self.report({"INFO"}, result.message)
        return {"FINISHED"}
