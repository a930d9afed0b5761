"""lca_addon/avatar_object.py: the binding kept in a .blend, and read back bit for bit."""

import numpy as np
import pytest

from tests.addon.util import BPY_MISSING

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)


def build(addon, avatar, rig):
    scene_build = addon.module("lca_addon.scene_build")
    return scene_build.build_avatar_scene(bpy.context, avatar, rig, "small", "/tmp/small.lca")


def test_the_binding_is_stored_as_point_attributes(addon, avatar, rig):
    from core.deform import deform_gaussians

    obj = build(addon, avatar, rig).avatar
    mesh = obj.data
    assert len(mesh.vertices) == avatar.count == 2000
    kinds = {a.name: (a.data_type, a.domain) for a in mesh.attributes if a.name.startswith("lca_")}
    assert kinds["lca_rotation"] == ("QUATERNION", "POINT")
    assert kinds["lca_triangle"] == ("INT", "POINT") and "lca_sh_0" in kinds
    co = np.empty(avatar.count * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    means = deform_gaussians(avatar.canonical_vertices[None], avatar.faces, avatar.binding).means
    assert np.abs(co.reshape(-1, 3) - means[0].numpy()).max() < 1e-6
    props = obj.lca_avatar
    assert props.is_avatar and props.body_model == "anny" and props.source_path == "/tmp/small.lca"
    assert props.armature.name == "small_rig" and props.body_mesh.name == "small_body"
    assert obj.hide_render


def test_read_avatar_gives_the_same_file_bytes(addon, avatar, rig):
    from core.avatar.lca_file import lca_bytes

    obj = build(addon, avatar, rig).avatar
    read_avatar = addon.module("lca_addon.avatar_object").read_avatar
    assert lca_bytes(read_avatar(obj)) == lca_bytes(avatar)


def test_the_avatar_survives_save_and_reload(addon, avatar, rig, tmp_path):
    from core.avatar.lca_file import lca_bytes

    build(addon, avatar, rig)
    path = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    assert "small" not in bpy.data.objects
    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
    obj = bpy.data.objects["small"]
    props = obj.lca_avatar
    assert props.armature == bpy.data.objects["small_rig"]
    assert props.body_mesh == bpy.data.objects["small_body"]
    assert [t.name for t in props.shape_keys] == [t.name for t in rig.shape_keys]
    read_avatar = addon.module("lca_addon.avatar_object").read_avatar
    assert lca_bytes(read_avatar(obj)) == lca_bytes(avatar)


def test_a_missing_attribute_is_reported_in_one_sentence(addon, avatar, rig):
    obj = build(addon, avatar, rig).avatar
    obj.data.attributes.remove(obj.data.attributes["lca_offset"])
    errors = addon.module("core.errors")
    with pytest.raises(errors.LcaError, match="lacks its 'lca_offset' attribute; import"):
        addon.module("lca_addon.avatar_object").read_avatar(obj)
