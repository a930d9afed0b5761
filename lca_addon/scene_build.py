"""Scene building: an avatar and its rig -> an armature, a skinned body mesh, the avatar object.

Everything here writes what ``core.rig.build_rig`` computed (bones, mesh, weights, shape-key
deltas, already in Blender's axes); no geometry is computed here. The three objects go into a
new collection named after the avatar:

- ``<name>_rig``: an armature whose bones are the body's bones (names kept), at rest in the
  avatar's canonical pose;
- ``<name>_body``: the canonical body mesh with UVs, one vertex group per bone (non-zero
  weights only), an Armature modifier, and shape keys: Basis, one per expression (the 52
  ARKit names for Anny), and the body-shape keys (``body_<parameter>_max`` / ``_min``);
- ``<name>``: the avatar object holding the binding, with links to the armature and the
  body mesh in ``Object.lca_avatar``: on Blender 5.3+ a native ``GAUSSIAN_SPLAT`` point
  cloud bound by Geometry Nodes (splat_object.py), on 4.2-5.2 a mesh of points that the
  extension draws (avatar_object.py). Its data keeps the avatar's pose correction, if it has
  one (pose_correction.py); the canonical means need none (it is zero at rest), the live link
  applies it when posed, and native splats cannot (pose_correction.NATIVE_WARNING).

Nothing here imports torch at module level: the rig's and the avatar's arrays may be torch
tensors (CPU) or numpy arrays; only the 4.2-5.2 avatar object computes with ``core.deform``.

Both meshes are children of the armature. If building fails half-way, what was made is
removed, so the scene is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import bpy
import numpy as np
from mathutils import Matrix

from .pose_correction import write_correction
from .properties import write_header
from .splat_object import bind_to_body, build_splat_data, native_splats_supported

if TYPE_CHECKING:
    from ..core.avatar.avatar import Avatar
    from ..core.rig import Rig


@dataclass(frozen=True)
class AvatarObjects:
    """What :func:`build_avatar_scene` made."""

    collection: bpy.types.Collection
    armature: bpy.types.Object
    body: bpy.types.Object
    avatar: bpy.types.Object


def build_avatar_scene(
    context: bpy.types.Context, avatar: Avatar, rig: Rig, name: str, source_path: str = ""
) -> AvatarObjects:
    """Create the avatar's collection and objects in ``context.scene``; return them."""
    made: list[bpy.types.ID] = []
    try:
        collection = _keep(made, bpy.data.collections.new(name))
        context.scene.collection.children.link(collection)
        armature = _armature(context, collection, rig, f"{name}_rig", made)
        body = _body(collection, rig, armature, f"{name}_body", made)
        gaussians = _avatar(collection, avatar, rig, armature, body, name, source_path, made)
    except BaseException:
        _remove(made)
        raise
    for obj in context.view_layer.objects:
        obj.select_set(False)
    armature.select_set(True)
    context.view_layer.objects.active = armature
    return AvatarObjects(collection, armature, body, gaussians)


def _keep(made: list, datablock):
    made.append(datablock)
    return datablock


def _remove(made: list) -> None:
    """Remove what a failed build made, newest first."""
    if bpy.context.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    for datablock in reversed(made):
        collection = {
            bpy.types.Object: bpy.data.objects,
            bpy.types.Mesh: bpy.data.meshes,
            bpy.types.Armature: bpy.data.armatures,
            bpy.types.Collection: bpy.data.collections,
            bpy.types.PointCloud: bpy.data.pointclouds,
        }[type(datablock)]
        collection.remove(datablock)


def _armature(
    context: bpy.types.Context,
    collection: bpy.types.Collection,
    rig: Rig,
    name: str,
    made: list,
) -> bpy.types.Object:
    """The armature object, its bones at the rig's rest matrices (edit mode is needed to
    add bones)."""
    data = _keep(made, bpy.data.armatures.new(name))
    obj = _keep(made, bpy.data.objects.new(name, data))
    collection.objects.link(obj)
    obj.show_in_front = True
    context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    bones = []
    for bone_name, matrix, length in zip(
        rig.bone_names, rig.bone_matrices.tolist(), rig.bone_lengths.tolist(), strict=True
    ):
        bone = data.edit_bones.new(bone_name)
        bone.head, bone.tail = (0.0, 0.0, 0.0), (0.0, length, 0.0)
        bone.matrix = Matrix(matrix)  # head, direction and roll; keeps the length
        bones.append(bone)
    for bone, parent in zip(bones, rig.bone_parents, strict=True):
        if parent >= 0:
            bone.parent = bones[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    for index, pose_bone in enumerate(obj.pose.bones):
        pose_bone.rotation_mode = "QUATERNION"
        # The body model moves only its root; the other bones rotate about their heads.
        pose_bone.lock_location = (rig.bone_parents[index] >= 0,) * 3
    return obj


def _body(
    collection: bpy.types.Collection,
    rig: Rig,
    armature: bpy.types.Object,
    name: str,
    made: list,
) -> bpy.types.Object:
    """The canonical body mesh: UVs, vertex groups, Armature modifier, shape keys."""
    mesh = _keep(made, bpy.data.meshes.new(name))
    vertices = np.asarray(rig.vertices, dtype=np.float32)
    faces = np.asarray(rig.faces, dtype=np.int32)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    if rig.uvs is not None:
        uv_layer = mesh.uv_layers.new(name="UVMap")
        uv_layer.uv.foreach_set("vector", np.asarray(rig.uvs, dtype=np.float32).ravel())
    mesh.update(calc_edges=True)
    mesh.shade_smooth()

    obj = _keep(made, bpy.data.objects.new(name, mesh))
    collection.objects.link(obj)
    obj.parent = armature
    weights = np.asarray(rig.skinning_weights)
    for index, bone_name in enumerate(rig.bone_names):
        group = obj.vertex_groups.new(name=bone_name)
        column = weights[:, index]
        for vertex in np.flatnonzero(column > 0.0).tolist():
            group.add((vertex,), float(column[vertex]), "REPLACE")
    modifier = obj.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature
    modifier.use_vertex_groups = True
    modifier.use_bone_envelopes = False
    modifier.use_deform_preserve_volume = False

    obj.shape_key_add(name="Basis", from_mix=False)
    names = rig.expression_names + tuple(target.name for target in rig.shape_keys)
    deltas = np.concatenate(
        (np.asarray(rig.expression_deltas), np.asarray(rig.shape_deltas))
    ).astype(np.float32)
    for key_name, delta in zip(names, deltas, strict=True):
        key = obj.shape_key_add(name=key_name, from_mix=False)
        key.data.foreach_set("co", (vertices + delta).ravel())
        key.slider_min, key.slider_max, key.value = 0.0, 1.0, 0.0
    return obj


def _avatar(
    collection: bpy.types.Collection,
    avatar: Avatar,
    rig: Rig,
    armature: bpy.types.Object,
    body: bpy.types.Object,
    name: str,
    source_path: str,
    made: list,
) -> bpy.types.Object:
    """The avatar object: the binding as point attributes, the header as properties; native
    splats bound by Geometry Nodes where Blender draws them (5.3+)."""
    if native_splats_supported():
        data = _keep(
            made, build_splat_data(f"{name}_splats", avatar.binding, rig.vertices, rig.faces)
        )
    else:
        data = _keep(made, _gaussian_mesh(avatar, rig, f"{name}_gaussians"))
    obj = _keep(made, bpy.data.objects.new(name, data))
    collection.objects.link(obj)
    obj.parent = armature
    # 4.2-5.2: the splats are drawn from the body mesh, not these points
    obj.hide_render = not native_splats_supported()
    write_header(obj, avatar, source_path)
    if getattr(avatar, "correction", None) is not None:
        write_correction(data, avatar.correction, rig.bone_names, rig.expression_names)
    props = obj.lca_avatar
    props.armature, props.body_mesh = armature, body
    props.body_vertex_count = len(body.data.vertices)
    if native_splats_supported():
        bind_to_body(obj, body)
    for target in rig.shape_keys:
        item = props.shape_keys.add()
        item.name, item.parameter = target.name, target.parameter
        item.value_from, item.value_to = target.value_from, target.value_to
    return obj


def _gaussian_mesh(avatar: Avatar, rig: Rig, name: str) -> bpy.types.Mesh:
    """The 4.2-5.2 avatar data: a mesh of points at the canonical means (core.deform)."""
    import torch

    from ..core.deform.binding import deform_gaussians
    from .avatar_object import write_gaussians

    mesh = bpy.data.meshes.new(name)
    try:
        vertices = torch.as_tensor(np.asarray(rig.vertices, dtype=np.float32))
        faces = torch.as_tensor(np.asarray(rig.faces, dtype=np.int64))
        with torch.no_grad():
            means = deform_gaussians(vertices[None], faces, avatar.binding).means[0]
        write_gaussians(mesh, avatar.binding, means)
    except BaseException:
        bpy.data.meshes.remove(mesh)
        raise
    return mesh
