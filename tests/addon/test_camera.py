"""lca_addon/camera.py: a Blender camera as an OpenCV camera, checked against Blender's own
projection (``bpy_extras.object_utils.world_to_camera_view``).

world_to_camera_view measures the frame with the unrounded ``resolution * percentage``,
while a render has ``resolution * percentage // 100`` whole pixels (which the conversion
follows), so these checks use percentages that give whole pixels.
"""

import itertools
import math

import numpy as np
import pytest
import torch

from tests.addon.util import BPY_MISSING, one_sentence

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

SETTINGS = list(
    itertools.product(
        ("AUTO", "HORIZONTAL", "VERTICAL"),
        ((64, 48, 100), (48, 64, 50), (30, 70, 100)),  # landscape, portrait at 50 %, tall
        ((1.0, 1.0), (2.0, 1.0), (1.0, 3.0)),  # pixel aspect
        ((0.0, 0.0), (0.13, -0.07)),  # shift
    )
)


@pytest.fixture
def camera(addon):
    scene = bpy.context.scene
    obj = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(obj)
    scene.camera = obj
    obj.location = (0.5, -3.0, 1.2)
    obj.rotation_euler = (1.4, 0.1, 0.3)
    obj.scale = (1.5, 0.7, 2.0)  # a camera's scale does not change its view
    obj.data.lens, obj.data.sensor_width, obj.data.sensor_height = 35.0, 36.0, 20.0
    return obj


def points_in_view(camera, count: int = 40) -> np.ndarray:
    """(P, 3) world points in front of the camera, spread over and beyond its frame."""
    rng = np.random.default_rng(0)
    local = np.c_[rng.uniform(-1.5, 1.5, (count, 2)), -rng.uniform(1.0, 6.0, count)]
    matrix = np.array(camera.matrix_world.normalized())
    return local @ matrix[:3, :3].T + matrix[:3, 3]


def test_projection_matches_world_to_camera_view(addon, camera):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    to_opencv = addon.module("lca_addon.camera").opencv_camera
    scene, data, render = bpy.context.scene, camera.data, bpy.context.scene.render
    points = points_in_view(camera)
    worst = 0.0
    for fit, (rx, ry, percentage), (ax, ay), (sx, sy) in SETTINGS:
        data.sensor_fit, data.shift_x, data.shift_y = fit, sx, sy
        render.resolution_x, render.resolution_y = rx, ry
        render.resolution_percentage = percentage
        render.pixel_aspect_x, render.pixel_aspect_y = ax, ay
        view = to_opencv(camera, scene)
        assert (view.width, view.height) == (rx * percentage // 100, ry * percentage // 100)

        w2c = view.world_to_camera.double().numpy()
        local = points @ w2c[:3, :3].T + w2c[:3, 3]
        uv = local @ view.K.double().numpy().T
        uv = uv[:, :2] / uv[:, 2:]
        ndc = np.array([list(world_to_camera_view(scene, camera, Vector(p))) for p in points])
        expected = np.c_[ndc[:, 0] * view.width, (1.0 - ndc[:, 1]) * view.height]
        error = float(np.abs(uv - expected).max())
        worst = max(worst, error)
        assert error < 1e-3, (fit, rx, ry, percentage, ax, ay, sx, sy, error)
        assert np.abs(local[:, 2] - ndc[:, 2]).max() < 1e-5  # depth along the view axis
    assert worst < 1e-3


def test_clip_distances_are_near_and_far(addon, camera):
    camera.data.clip_start, camera.data.clip_end = 0.25, 40.0
    view = addon.module("lca_addon.camera").opencv_camera(camera, bpy.context.scene)
    assert (view.near, view.far) == pytest.approx((0.25, 40.0))


def test_place_camera_sees_what_an_opencv_camera_sees(addon, camera):
    from core.render.camera import orbit_camera

    module = addon.module("lca_addon.camera")
    Camera = addon.module("core.render.types").Camera
    view = orbit_camera((0.0, 0.0, 1.0), 3.0, 20.0, 10.0, 80, 60, fov_y_deg=30.0)
    view = Camera(K=view.K, world_to_camera=view.world_to_camera, width=80, height=60)
    module.place_camera(camera, bpy.context.scene, view)
    back = module.opencv_camera(camera, bpy.context.scene)
    assert (back.width, back.height) == (80, 60)
    torch.testing.assert_close(back.K, view.K, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(back.world_to_camera, view.world_to_camera, atol=1e-5, rtol=0)
    fov_y = 2 * math.degrees(math.atan(30 / float(back.K[1, 1])))
    assert fov_y == pytest.approx(30.0, abs=1e-3)


@pytest.mark.parametrize("kind", ["ORTHO", "PANO", "EMPTY"])
def test_what_is_not_a_perspective_camera_is_refused(addon, camera, kind):
    errors = addon.module("core.errors")
    if kind == "EMPTY":
        camera = bpy.data.objects.new("empty", None)
        bpy.context.scene.collection.objects.link(camera)
    else:
        camera.data.type = kind
    with pytest.raises(errors.LcaError) as raised:
        addon.module("lca_addon.camera").opencv_camera(camera, bpy.context.scene)
    assert one_sentence(str(raised.value)), str(raised.value)
