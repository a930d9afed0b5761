"""An avatar imported by the gpu-drawn path (bpy 5.0.1) in a .blend, opened in Blender 5.3:
it converts to a native splat avatar on request (lca.convert_to_splats), in one undo step."""

import numpy as np
import pytest

from tests.blender53.fixtures import evaluated_body, evaluated_splats, torch_side

bpy = pytest.importorskip("bpy")


def counts() -> dict[str, int]:
    kinds = ("objects", "meshes", "pointclouds", "node_groups")
    return {kind: len(getattr(bpy.data, kind)) for kind in kinds}


def test_an_older_avatar_converts_in_one_undo_step(addon, prepared, legacy_blend, tmp_path):
    bpy.ops.wm.open_mainfile(filepath=str(legacy_blend))
    old = bpy.data.objects["small"]
    assert old.type == "MESH" and old.lca_avatar.is_avatar and old.lca_avatar.gpu_drawn
    panels = addon.module("lca_addon.panels")
    layout = RecordingLayout()
    panels.draw_native_state(layout, bpy.context, old)
    assert "lca.convert_to_splats" in layout.texts

    bpy.context.view_layer.objects.active = old
    bpy.ops.ed.undo_push(message="before")  # background mode starts without an undo stack
    before = counts()
    assert bpy.ops.lca.convert_to_splats("EXEC_DEFAULT", True) == {"FINISHED"}
    avatar = bpy.data.objects["small"]
    assert avatar.type == "POINTCLOUD" and avatar.data.type == "GAUSSIAN_SPLAT"
    props = avatar.lca_avatar
    assert props.is_avatar and not props.gpu_drawn and props.body_mesh.name == "small_body"
    assert len(props.part_names) > 0 and props.body_model == "anny"
    assert avatar.parent == props.armature and not avatar.hide_render
    stored = addon.module("lca_addon.binding_attributes").read_binding_arrays(avatar.data)
    arrays = addon.module("core.avatar.lca_numpy").load_lca_arrays(prepared.lca)
    assert np.array_equal(stored.rotation, arrays.binding.rotation)
    assert np.array_equal(stored.sh, arrays.binding.sh)

    # It follows the body as core.deform does.
    np.savez(tmp_path / "vertices.npz", vertices=evaluated_body(props.body_mesh)[None])
    torch_side("deform", prepared.lca, tmp_path / "vertices.npz", tmp_path / "core.npz")
    got, expected = evaluated_splats(avatar), np.load(tmp_path / "core.npz")
    assert np.abs(got["means"] - expected["means"][0]).max() <= 1e-5

    bpy.ops.ed.undo()
    assert counts() == before
    assert bpy.data.objects["small"].type == "MESH"


def test_a_native_avatar_offers_no_conversion(addon, legacy_blend):
    bpy.ops.wm.open_mainfile(filepath=str(legacy_blend))
    bpy.context.view_layer.objects.active = bpy.data.objects["small"]
    assert bpy.ops.lca.convert_to_splats() == {"FINISHED"}
    assert not bpy.ops.lca.convert_to_splats.poll()


class RecordingLayout:
    """Stands in for a UILayout: records label texts and operator ids."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def box(self):
        return self

    def label(self, text="", icon="NONE"):
        self.texts.append(text)

    def operator(self, idname, text="", icon="NONE"):
        self.texts.append(idname)
