"""FBX motion through Blender's own importer, into the neutral clip (``core.motion.clip``).

``bpy.ops.import_scene.fbx`` (io_scene_fbx, bundled with Blender) reads the file into a
temporary scene, so the user's scene, its frame rate and its selection are not touched and
only the imported armature is evaluated frame by frame. Without a window (``blender -b``)
it imports into the current scene and puts back its frame rate, frame and selection. The
armature with the most bones becomes a :class:`~core.motion.clip.Clip` in BVH's convention,
in Blender's world axes and metres:

- offsets: the bones' rest heads (``matrix_world @ Bone.matrix_local``), each from its
  parent's (the root's: its rest position);
- rotations: each bone's world rotation relative to its rest world rotation,
  ``G_j(t) = rot(matrix_world(t) @ PoseBone.matrix(t)) @ rot(rest_j)^T``, composed down the
  chain: ``rotations[t, j] = G_parent(t)^T @ G_j(t)``;
- root positions: the root bone's head in the world, every frame of the action's range;
- fps: the file's (the importer sets the temporary scene's).

Everything the import made (the scene, objects, armatures, meshes, actions, materials ...:
every datablock that was not in ``bpy.data`` before) is removed afterwards, whatever happens.
A file Blender cannot read is one sentence (LcaError).
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np
import torch

from ..core.errors import PATH_LIMIT, LcaError, quoted
from ..core.motion.clip import Clip, Skeleton

MAX_FRAMES = 100_000
"""A longer animation is refused (about 28 minutes at 60 fps)."""


def read_fbx_clip(context: bpy.types.Context, path: Path) -> Clip:
    """The animation of the FBX file ``path``'s main armature as a clip (module docstring);
    LcaError (one sentence) when Blender cannot read it, or it has no animated armature."""
    name = quoted(str(path), PATH_LIMIT)
    if not path.is_file():
        raise LcaError(f"Motion file {name} does not exist; give a .bvh or .fbx file.")
    if path.stat().st_size == 0:
        raise LcaError(f"Motion file {name} is empty.")
    before = _datablocks()
    window = context.window or next(iter(context.window_manager.windows), None)
    if window is None:  # `blender -b -c`: no window to show a temporary scene in
        return _read_in_place(context, path, name, before)
    original = window.scene
    scene = bpy.data.scenes.new("lca_fbx_import")
    try:
        window.scene = scene
        _import(path, name)
        return _clip(scene, name)
    finally:
        window.scene = original
        _remove_new(before)


def _read_in_place(context: bpy.types.Context, path: Path, name: str, before: dict) -> Clip:
    """Import into the current scene (no window to switch scenes in), then put back its
    frame rate, current frame, active object and selection."""
    scene, layer = context.scene, context.view_layer
    kept = (scene.render.fps, scene.render.fps_base, scene.frame_current)
    active, selected = layer.objects.active, [obj for obj in layer.objects if obj.select_get()]
    try:
        _import(path, name)
        return _clip(scene, name)
    finally:
        _remove_new(before)
        scene.render.fps, scene.render.fps_base = kept[:2]
        scene.frame_set(kept[2])
        for obj in layer.objects:
            obj.select_set(obj in selected)
        layer.objects.active = active


def _import(path: Path, name: str) -> None:
    try:
        result = bpy.ops.import_scene.fbx(
            filepath=str(path), use_anim=True, ignore_leaf_bones=False
        )
    except RuntimeError as err:
        raise LcaError(
            f"Motion file {name} could not be read as FBX ({_reason(err, path)}); export it "
            "again as binary FBX."
        ) from None
    if result != {"FINISHED"}:
        raise LcaError(f"Motion file {name} could not be read as FBX; export it again.")


def _reason(err: BaseException, path: Path) -> str:
    """The importer's error as a clause: its last line, without 'Error:', the file's name
    and full stops."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = (lines[-1] if lines else "unknown error").replace("Error:", "")
    text = " ".join(text.replace(f"'{path}'", "").replace(str(path), "").split())
    text = text.replace("Couldn't open file (", "").rstrip(").")
    return text.replace(". ", "; ")[:160] or "unknown error"


def _clip(scene: bpy.types.Scene, source: str) -> Clip:
    armatures = [obj for obj in scene.objects if obj.type == "ARMATURE" and obj.data.bones]
    if not armatures:
        raise LcaError(f"Motion file {source} has no skeleton; export the armature with it.")
    armature = max(armatures, key=lambda obj: len(obj.data.bones))
    action = armature.animation_data.action if armature.animation_data else None
    if action is None:
        raise LcaError(
            f"Motion file {source} has no animation on its skeleton; export it with Bake "
            "Animation on."
        )
    first, last = action.frame_range
    frames = range(math.floor(first), math.ceil(last) + 1)
    if len(frames) > MAX_FRAMES:
        raise LcaError(
            f"Motion file {source} has {len(frames):,} frames, more than {MAX_FRAMES:,}; "
            "cut it into shorter clips."
        )
    order = _bone_order(armature.data)
    names = tuple(armature.data.bones[i].name for i in order)
    parents = tuple(
        -1 if bone.parent is None else names.index(bone.parent.name)
        for bone in (armature.data.bones[i] for i in order)
    )
    J = len(order)
    pose_index = {bone.name: i for i, bone in enumerate(armature.pose.bones)}
    pose_order = [pose_index[name] for name in names]
    bones = np.empty(len(armature.data.bones) * 16, np.float32)

    scene.frame_set(frames[0])
    armature.data.bones.foreach_get("matrix_local", bones)
    rest = _world(armature, bones)[order]  # (J, 4, 4)
    posed = np.empty((len(frames), J, 4, 4), np.float64)
    for t, frame in enumerate(frames):
        scene.frame_set(frame)
        armature.pose.bones.foreach_get("matrix", bones)
        posed[t] = _world(armature, bones)[pose_order]

    heads = torch.from_numpy(rest[:, :3, 3])
    offsets = heads.clone()
    for j, parent in enumerate(parents):
        if parent >= 0:
            offsets[j] = heads[j] - heads[parent]
    G = torch.from_numpy(_rotation(posed) @ np.swapaxes(_rotation(rest), -1, -2))  # (T, J, 3, 3)
    local = G.clone()
    for j, parent in enumerate(parents):
        if parent >= 0:
            local[:, j] = G[:, parent].transpose(-1, -2) @ G[:, j]
    fps = scene.render.fps / scene.render.fps_base
    skeleton = Skeleton(names, parents, offsets)
    return Clip(skeleton, local, torch.from_numpy(posed[:, 0, :3, 3]), fps, source)


def _bone_order(armature: bpy.types.Armature) -> list[int]:
    """Indices into ``armature.bones`` of the main root's bones (the root with the most
    bones under it), parents first."""
    index = {bone.name: i for i, bone in enumerate(armature.bones)}

    def subtree(bone) -> list[int]:
        order = [index[bone.name]]
        for child in bone.children:
            order += subtree(child)
        return order

    trees = [subtree(bone) for bone in armature.bones if bone.parent is None]
    return max(trees, key=len)


def _world(obj: bpy.types.Object, flat: np.ndarray) -> np.ndarray:
    """(N, 4, 4) world matrices of bone matrices read by ``foreach_get`` (column-major)."""
    matrices = flat.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)
    return np.array(obj.matrix_world, dtype=np.float64) @ matrices


def _rotation(matrices: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the rotations of (..., 4, 4) matrices: the nearest rotation to the upper
    3x3 (object and bone scale removed)."""
    u, _, vt = np.linalg.svd(matrices[..., :3, :3])
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, 2] *= d[..., None]
    return u @ vt


def _datablocks() -> dict[str, set]:
    return {kind: set(getattr(bpy.data, kind)) for kind in _KINDS}


_KINDS = (
    "objects",
    "scenes",
    "collections",
    "meshes",
    "armatures",
    "actions",
    "materials",
    "images",
    "textures",
    "node_groups",
    "cameras",
    "lights",
    "curves",
    "worlds",
)
"""The datablocks an FBX import can make, in the order they are removed (users first)."""


def _remove_new(before: dict[str, set]) -> None:
    """Remove every datablock that is not in ``before`` (what the import made)."""
    for kind in _KINDS:
        collection = getattr(bpy.data, kind)
        for datablock in [d for d in collection if d not in before[kind]]:
            collection.remove(datablock)
