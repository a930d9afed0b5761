"""The native avatar on Blender 5.3 (lca_addon/splat_object.py, splat_nodes.py), without
torch: a GAUSSIAN_SPLAT point cloud whose Geometry Nodes group evaluates the binding on the
evaluated body mesh, checked against core.deform (run by .venv in a subprocess, on the very
vertices Blender evaluated); the guard (no splats, one sentence) and the conversion of an
avatar made by the gpu-drawn path."""

import importlib.util

import numpy as np
import pytest

from tests.blender53.fixtures import (
    build_native,
    evaluated_body,
    evaluated_splats,
    open_native,
    set_pose,
    torch_side,
)

bpy = pytest.importorskip("bpy")


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and ". " not in message


def quaternion_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| up to sign (q and -q are the same rotation)."""
    return np.minimum(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))


def test_a_native_avatar_is_a_gaussian_splat_point_cloud(addon, prepared):
    assert bpy.app.version >= (5, 3, 0) and importlib.util.find_spec("torch") is None
    objects = build_native(addon, prepared)
    avatar = objects.avatar
    assert avatar.type == "POINTCLOUD" and avatar.data.type == "GAUSSIAN_SPLAT"
    assert len(avatar.data.points) == 2000 and not avatar.hide_render
    names = {a.name: a.data_type for a in avatar.data.attributes}
    assert names["radiance:base"] == "FLOAT4" and names["rotation"] == "QUATERNION"
    assert names["lca_triangle"] == "INT" and names["lca_rotation"] == "QUATERNION"
    modifier = avatar.modifiers["LCA Splat Binding"]
    assert modifier.node_group.name == "LCA Splat Binding v1"
    assert (
        addon.module("lca_addon.splat_object").native_problem(
            avatar, bpy.context.evaluated_depsgraph_get()
        )
        is None
    )
    # A second avatar reuses the group; the binding reads back as the file holds it.
    second = build_native(addon, prepared, "second").avatar
    assert second.modifiers["LCA Splat Binding"].node_group == modifier.node_group
    assert len([g for g in bpy.data.node_groups if g.name.startswith("LCA Splat")]) == 1
    arrays = addon.module("core.avatar.lca_numpy").load_lca_arrays(prepared.lca)
    stored = addon.module("lca_addon.binding_attributes").read_binding_arrays(avatar.data)
    for field in ("triangle", "barycentric", "offset", "rotation", "log_scale", "sh", "part"):
        assert np.array_equal(getattr(stored, field), getattr(arrays.binding, field)), field
    assert np.array_equal(stored.opacity_logit, arrays.binding.opacity_logit)


def test_geometry_nodes_match_core_deform(addon, prepared, native_blend, tmp_path):
    """Rest; arm raise + finger curl + jawOpen; a body-shape key: positions <= 1e-5 m,
    rotations <= 1e-4, scales <= 1e-5 relative, against core.deform on the same vertices."""
    objects = open_native(native_blend)
    keys = objects.body.data.shape_keys.key_blocks
    shape_key = prepared.rig.shape_keys[0].name
    vertices, splats = [], []

    def sample():
        vertices.append(evaluated_body(objects.body))
        splats.append(evaluated_splats(objects.avatar))

    sample()  # rest
    set_pose(objects.armature, prepared)
    keys["jawOpen"].value = 1.0
    sample()
    set_pose(objects.armature, prepared, weight=0.0)
    keys["jawOpen"].value = 0.0
    keys[shape_key].value = 1.0
    sample()
    assert np.abs(vertices[1] - vertices[0]).max() > 0.3  # the arm moved
    assert np.abs(vertices[2] - vertices[0]).max() > 1e-3  # the shape changed

    np.savez(tmp_path / "vertices.npz", vertices=np.stack(vertices))
    torch_side("deform", prepared.lca, tmp_path / "vertices.npz", tmp_path / "core.npz")
    expected = np.load(tmp_path / "core.npz")
    for b, got in enumerate(splats):
        position = np.abs(got["means"] - expected["means"][b]).max()
        rotation = quaternion_distance(got["quats"], expected["quats"][b]).max()
        scale = np.abs(got["scales"] / expected["scales"][b] - 1.0).max()
        print(f"pose {b}: position {position:.1e} m, rotation {rotation:.1e}, scale {scale:.1e}")
        assert position <= 1e-5 and rotation <= 1e-4 and scale <= 1e-5


@pytest.mark.parametrize("fault", ["deleted", "subdivided", "vertex removed"])
def test_a_changed_body_gives_no_splats_and_one_sentence(addon, native_blend, fault):
    objects = open_native(native_blend)
    avatar, body = objects.avatar, objects.body
    splat_object = addon.module("lca_addon.splat_object")
    if fault == "deleted":
        bpy.data.objects.remove(body)
    elif fault == "subdivided":
        body.modifiers.new("Subdivision", "SUBSURF").levels = 1
    else:
        body.data.vertices.add(1)  # a vertex more than the avatar is bound to
        body.data.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    assert len(avatar.evaluated_get(depsgraph).data.points) == 0
    problem = splat_object.native_problem(avatar, depsgraph)
    assert problem is not None and one_sentence(problem)
    assert "shows no splats" in problem


def test_a_renamed_body_still_drives_the_splats(addon, native_blend):
    """The modifier points at the body object, not its name."""
    objects = open_native(native_blend)
    before = evaluated_splats(objects.avatar)["means"]
    objects.body.name = "renamed"
    objects.body.data.name = "renamed mesh"
    after = evaluated_splats(objects.avatar)["means"]
    assert len(after) == 2000 and np.array_equal(before, after)
    assert (
        addon.module("lca_addon.splat_object").native_problem(
            objects.avatar, bpy.context.evaluated_depsgraph_get()
        )
        is None
    )
