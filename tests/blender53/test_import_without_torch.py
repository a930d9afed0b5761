"""Importing an `.lca` on Blender 5.3 without torch (lca_addon/import_avatar.py): a file with
its rig (schema 3) becomes a native splat avatar bound to the rigged body mesh, from the
file alone; posing a bone moves the splats; a file without a rig (schema 2) gives one sentence
and leaves the scene as it was; torch is never imported on the way."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.blender53.fixtures import evaluated_body, evaluated_splats, set_pose

bpy = pytest.importorskip("bpy")


def scene_counts() -> tuple[int, ...]:
    data = bpy.data
    return tuple(
        len(c)
        for c in (data.objects, data.meshes, data.armatures, data.pointclouds, data.collections)
    )


def test_the_stored_rig_is_the_rig_build_rig_computed(addon, prepared):
    rig = addon.module("core.avatar.lca_numpy").load_lca_arrays(prepared.lca).rig
    expected = prepared.rig
    for name in ("bone_names", "bone_parents", "expression_names"):
        assert getattr(rig, name) == getattr(expected, name), name
    for name in (
        "bone_matrices",
        "bone_lengths",
        "vertices",
        "faces",
        "uvs",
        "skinning_weights",
        "expression_deltas",
        "shape_deltas",
        "axes",
    ):
        assert np.array_equal(getattr(rig, name), getattr(expected, name)), name
    assert [(t.name, t.parameter, t.value_from, t.value_to) for t in rig.shape_keys] == [
        (t.name, t.parameter, t.value_from, t.value_to) for t in expected.shape_keys
    ]


def test_import_makes_a_native_avatar_bound_to_the_rigged_body(addon, prepared):
    assert importlib.util.find_spec("torch") is None
    assert bpy.ops.lca.import_avatar(filepath=str(prepared.lca)) == {"FINISHED"}
    objects = bpy.data.objects
    armature, body, avatar = objects["small_rig"], objects["small_body"], objects["small"]
    assert avatar.type == "POINTCLOUD" and avatar.data.type == "GAUSSIAN_SPLAT"
    assert avatar.lca_avatar.armature == armature and avatar.lca_avatar.body_mesh == body
    inputs = addon.module("lca_addon.splat_object").modifier_inputs(avatar)
    assert inputs["Body"] == body and inputs["Body Vertices"] == 13718
    assert len(armature.data.bones) == 104 and len(body.vertex_groups) == 104
    assert body.modifiers["Armature"].object == armature
    assert len(body.data.shape_keys.key_blocks) == 1 + 52 + 12
    weights = prepared.rig.skinning_weights
    entries = sum(len(v.groups) for v in body.data.vertices)
    assert entries == int((weights > 0).sum())

    rest_splats, rest_body = evaluated_splats(avatar)["means"], evaluated_body(body)
    set_pose(armature, prepared)
    posed_splats, posed_body = evaluated_splats(avatar)["means"], evaluated_body(body)
    moved = np.linalg.norm(posed_splats - rest_splats, axis=1)
    assert moved.max() > 0.1 and np.linalg.norm(posed_body - rest_body, axis=1).max() > 0.1
    assert (moved < 1e-6).sum() > 100  # the legs stay where they were
    set_pose(armature, prepared, weight=0.0)
    assert np.abs(evaluated_splats(avatar)["means"] - rest_splats).max() < 1e-5


def test_a_file_without_a_rig_gives_one_sentence_and_changes_nothing(addon, prepared):
    before = scene_counts()
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.lca.import_avatar(filepath=str(prepared.old_lca))
    message = str(raised.value).removeprefix("Error: ").strip()
    rest = message.replace(str(prepared.old_lca), "PATH")
    assert rest.startswith("'PATH' has no rig (files made before `.lca` schema 3"), message
    assert "lca upgrade" in rest and rest.endswith(".") and ". " not in rest, message
    assert "\n" not in rest
    assert scene_counts() == before


def test_importing_and_building_never_imports_torch(extension_zip, prepared, tmp_path):
    """A fresh Blender 5.3 process: every attempt to import torch is recorded (and fails)."""
    script = f"""
import json, sys
attempts = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            attempts.append(name)
            raise ImportError("torch is watched")
        return None
sys.meta_path.insert(0, Watch())
import bpy, addon_utils
bpy.ops.extensions.package_install_files(
    repo="user_default", filepath={str(extension_zip)!r}, enable_on_install=True)
bpy.ops.wm.read_homefile(use_empty=True)
result = bpy.ops.lca.import_avatar(filepath={str(prepared.lca)!r})
avatar = bpy.data.objects["small"]
depsgraph = bpy.context.evaluated_depsgraph_get()
points = len(avatar.evaluated_get(depsgraph).data.points)
print("RESULT", json.dumps({{"result": sorted(result), "attempts": attempts, "points": points,
    "torch": "torch" in sys.modules, "type": avatar.data.type}}))
"""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result == {
        "result": ["FINISHED"],
        "attempts": [],
        "points": 2000,
        "torch": False,
        "type": "GAUSSIAN_SPLAT",
    }


def test_create_in_a_worker_needs_no_torch_here_to_import_the_result(addon):
    """The worker's file holds its rig, so on 5.3 the route asks only for the lca environment."""
    from pathlib import Path

    prefs = addon.module("lca_addon.preferences").addon_preferences()
    create_worker = addon.module("lca_addon.create_worker")
    assert addon.module("lca_addon.dependencies").missing_dependency() is not None  # no torch
    prefs.lca_environment = str(Path(__file__).resolve().parents[2] / ".venv")
    try:
        route = create_worker.create_route(prefs)
        assert route.in_worker and route.problem is None, route.problem
    finally:
        prefs.lca_environment = ""


def test_a_pose_correction_imports_and_native_splats_say_they_do_not_apply_it(
    addon, prepared, tmp_path
):
    from tests.blender53.fixtures import torch_side

    torch_side("corrected", prepared.lca, tmp_path / "fixed.lca")
    arrays = addon.module("core.avatar.lca_numpy").load_lca_arrays(tmp_path / "fixed.lca")
    assert arrays.correction is not None and arrays.correction.anchor_index.shape[0] == 2000
    assert bpy.ops.lca.import_avatar(filepath=str(tmp_path / "fixed.lca")) == {"FINISHED"}
    avatar = bpy.data.objects["fixed"]
    correction = addon.module("lca_addon.pose_correction")
    assert correction.has_correction(avatar.data)
    warning = addon.module("lca_addon.import_avatar").native_correction_warning(avatar)
    assert warning == correction.NATIVE_WARNING
    assert warning.endswith(".") and ". " not in warning and "not applied" in warning
    plain = bpy.data.objects.get("small")
    if plain is not None:
        assert addon.module("lca_addon.import_avatar").native_correction_warning(plain) is None
    assert importlib.util.find_spec("torch") is None
