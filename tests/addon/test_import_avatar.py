"""LCA_OT_import_avatar: File > Import > LCA Avatar (.lca) and the Sidebar > Avatar panel."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.addon.util import BPY_MISSING, PACKAGE, scene_counts
from tests.synthetic import tiny_avatar

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and ". " not in message


def test_import_builds_the_avatar_scene(addon, avatar_file):
    assert bpy.ops.lca.import_avatar(filepath=str(avatar_file)) == {"FINISHED"}
    avatar = bpy.data.objects["small"]
    assert avatar.lca_avatar.is_avatar and len(avatar.data.vertices) == 2000
    assert avatar.lca_avatar.source_path == str(avatar_file)
    assert {"small_rig", "small_body"} <= set(bpy.data.objects.keys())
    assert len(bpy.data.objects["small_body"].data.shape_keys.key_blocks) == 1 + 52 + 12


def test_operator_menu_and_panel_are_registered(addon):
    operator = bpy.types.LCA_OT_import_avatar
    assert operator.bl_options == {"REGISTER", "UNDO"}
    menu = bpy.types.TOPBAR_MT_file_import.draw._draw_funcs
    assert any(f.__module__ == f"{PACKAGE}.lca_addon.import_avatar" for f in menu)
    panel = bpy.types.LCA_PT_avatar
    assert (panel.bl_space_type, panel.bl_region_type, panel.bl_category) == (
        "VIEW_3D",
        "UI",
        "Avatar",
    )


class LayoutRecorder:
    """Stands in for a UILayout (there is no UI headless): records every call."""

    def __init__(self, calls: list):
        self.calls = calls

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return self

        return record


def test_panel_shows_the_avatar_of_the_active_rig_or_body(addon, avatar_file):
    calls = []
    panel = SimpleNamespace(layout=LayoutRecorder(calls))
    bpy.types.LCA_PT_avatar.draw(panel, bpy.context)  # nothing imported yet: the buttons only
    assert [c[0] for c in calls] == ["operator", "operator"]
    assert calls[0][1] == ("lca.import_avatar",) and calls[1][1] == ("lca.create_avatar",)

    bpy.ops.lca.import_avatar(filepath=str(avatar_file))
    find_avatar = addon.module("lca_addon.properties").find_avatar
    avatar = bpy.data.objects["small"]
    for name in ("small", "small_rig", "small_body"):
        assert find_avatar(bpy.context.scene, bpy.data.objects[name]) == avatar
    bpy.ops.mesh.primitive_cube_add()
    assert find_avatar(bpy.context.scene, bpy.context.active_object) is None
    bpy.context.view_layer.objects.active = bpy.data.objects["small_rig"]
    calls.clear()
    bpy.types.LCA_PT_avatar.draw(panel, bpy.context)
    labels = [c[2].get("text") for c in calls if c[0] == "label"]
    assert "2,000 Gaussians" in labels


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", ["missing", "png", "truncated", "other-mesh", "smplx"])
def test_bad_input_is_one_sentence_and_leaves_the_scene_unchanged(
    addon, avatar_file, tmp_path, case
):
    from core.avatar.lca_file import save_lca

    if case == "missing":
        path = tmp_path / "missing.lca"
    elif case == "png":
        path = _write(tmp_path / "photo.lca", b"\x89PNG\r\n\x1a\n" + bytes(64))
    elif case == "truncated":
        data = avatar_file.read_bytes()
        path = _write(tmp_path / "truncated.lca", data[: len(data) // 2])
    elif case == "other-mesh":  # an Anny avatar bound to another mesh: refused by build_rig
        path = tmp_path / "octahedron.lca"
        save_lca(tiny_avatar(), path)
    else:
        import dataclasses

        path = tmp_path / "smplx.lca"
        small = tiny_avatar()
        save_lca(
            dataclasses.replace(small, body=dataclasses.replace(small.body, model="smplx")), path
        )
    bpy.ops.mesh.primitive_cube_add()
    before = scene_counts()
    with pytest.raises(RuntimeError) as raised:  # bpy.ops raises on an ERROR report
        bpy.ops.lca.import_avatar(filepath=str(path))
    message = str(raised.value).removeprefix("Error: ").strip()
    assert one_sentence(message.replace(str(path), "PATH")), message
    assert scene_counts() == before
    assert bpy.context.mode == "OBJECT"


def test_without_torch_the_extension_registers_and_the_operator_says_so(extension_zip, tmp_path):
    script = f"""
import json, sys
sys.modules["torch"] = None  # `import torch` now raises ImportError
import bpy, addon_utils
bpy.ops.extensions.package_install_files(
    repo="user_default", filepath={str(extension_zip)!r}, enable_on_install=True)
try:
    bpy.ops.lca.import_avatar(filepath={str(tmp_path / "any.lca")!r})
    message = None
except RuntimeError as err:
    message = str(err)
print("RESULT", json.dumps({{"enabled": addon_utils.check({PACKAGE!r})[1], "message": message}}))
"""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["enabled"] is True
    message = result["message"].removeprefix("Error: ").strip()
    assert "needs torch" in message and one_sentence(message), message


def test_a_file_with_its_rig_imports_without_the_body_model(addon, rigged_file, monkeypatch):
    """The stored rig is used as it is: neither the body model nor build_rig runs."""
    import core.rig

    def refuse(*args, **kwargs):
        raise AssertionError("the rig was computed although the file holds one")

    for module in (core.rig, addon.module("core.rig")):
        monkeypatch.setattr(module, "build_rig", refuse)
    import_avatar = addon.module("lca_addon.import_avatar")
    monkeypatch.setattr(import_avatar, "avatar_rig", refuse)
    assert bpy.ops.lca.import_avatar(filepath=str(rigged_file)) == {"FINISHED"}
    body = bpy.data.objects["small_body"]
    assert len(body.data.shape_keys.key_blocks) == 1 + 52 + 12
    assert len(body.vertex_groups) == 104
