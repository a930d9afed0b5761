"""Cycles renders the native avatar as `lca render` does (the same pose and camera): the
silhouettes agree (IoU >= 0.95; the mean colour difference is printed), and a saved .blend
renders the same image in a fresh Blender 5.3 process without the extension."""

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from tests.blender53.fixtures import open_native, set_pose, torch_side
from tests.blender53.render_setup import (
    add_camera,
    camera_fields,
    cycles,
    read_png,
    render_png,
    silhouette_iou,
)

bpy = pytest.importorskip("bpy")

FRESH = """
import sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
assert "bl_ext.user_default.lca_avatar" not in bpy.context.preferences.addons
scene = bpy.context.scene
scene.render.filepath = sys.argv[2]
assert bpy.ops.render.render(write_still=True) == {"FINISHED"}
"""


@pytest.fixture
def posed_shot(addon, prepared, native_blend, tmp_path):
    """The avatar in torch_side.POSE (jawOpen on), a camera, Cycles; saved as shot.blend."""
    objects = open_native(native_blend)
    set_pose(objects.armature, prepared)
    objects.body.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    scene = bpy.context.scene
    camera = add_camera(scene)
    cycles(scene)
    blend = tmp_path / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return scene, camera, blend


def test_cycles_matches_lca_render(prepared, posed_shot, tmp_path):
    scene, camera, _ = posed_shot
    image = render_png(scene, tmp_path / "cycles.png")
    given = {"pose": np.array("arm-raise+finger-curl+jaw-open"), **camera_fields(camera, scene)}
    np.savez(tmp_path / "camera.npz", **given)
    torch_side("render", prepared.lca, tmp_path / "camera.npz", tmp_path / "core.npz")
    expected = np.load(tmp_path / "core.npz")
    assert image.shape[:2] == expected["alpha"].shape
    iou = silhouette_iou(image[..., 3], expected["alpha"])
    both = (image[..., 3] > 0.5) & (expected["alpha"] > 0.5)
    colour = float(np.abs(image[..., :3][both] - expected["rgb"][both]).mean())
    print(f"Cycles vs lca render: silhouette IoU {iou:.3f}, mean colour difference {colour:.3f}")
    assert iou >= 0.95
    assert both.sum() > 500  # the avatar fills a good part of the frame


def test_a_saved_file_renders_without_the_extension(posed_shot, tmp_path):
    scene, _, blend = posed_shot
    here = render_png(scene, tmp_path / "here.png")
    user = tempfile.mkdtemp(prefix="lca-no-extension-")
    env = dict(os.environ, BLENDER_USER_RESOURCES=user)
    there = tmp_path / "there.png"
    command = [sys.executable, "-c", FRESH, str(blend), str(there)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    image = read_png(there)
    assert (image[..., 3] > 0.5).sum() > 500
    assert np.abs(image - here).max() <= 1.0 / 255.0
