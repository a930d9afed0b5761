"""core/render/blender_camera.py: Blender's camera rules, without Blender.

Against Blender itself (``world_to_camera_view`` on real camera objects) in
tests/addon/test_camera.py.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from core.errors import LcaError
from core.render.blender_camera import (
    BlenderCamera,
    blender_camera,
    opencv_camera,
    render_size,
)
from core.render.camera import look_at, orbit_camera
from core.render.types import Camera


def looking_down_y(**settings) -> BlenderCamera:
    """A camera at (0, -5, 1) looking along +Y (Blender: rotated 90 degrees about X)."""
    matrix = torch.tensor(
        [[1.0, 0, 0, 0], [0, 0, -1, -5], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=torch.float64
    )
    return BlenderCamera(matrix_world=matrix, **settings)


def project(camera: Camera, points: torch.Tensor) -> torch.Tensor:
    """(P, 2) pixel positions of world points (float64)."""
    w2c = camera.world_to_camera.double()
    local = points.double() @ w2c[:3, :3].T + w2c[:3, 3]
    uv = local @ camera.K.double().T
    return uv[:, :2] / uv[:, 2:]


def test_the_default_camera():
    camera = opencv_camera(looking_down_y(resolution_x=64, resolution_y=48), torch.float64)
    f = 50.0 / 36.0 * 64
    torch.testing.assert_close(
        camera.K, torch.tensor([[f, 0, 32], [0, f, 24], [0, 0, 1]], dtype=torch.float64)
    )
    assert (camera.width, camera.height, camera.near, camera.far) == (64, 48, 0.1, 1000.0)
    # OpenCV axes: x right (+X), y down (-Z), z forward (+Y); the camera sits at (0, -5, 1).
    expected = torch.tensor(
        [[1.0, 0, 0, 0], [0, 0, -1, 1], [0, 1, 0, 5], [0, 0, 0, 1]], dtype=torch.float64
    )
    torch.testing.assert_close(camera.world_to_camera, expected)
    above = project(camera, torch.tensor([[0.0, 0.0, 1.5], [0.3, 0.0, 1.0]]))
    assert float(above[0, 1]) < 24 and float(above[1, 0]) > 32  # up is up, right is right


@pytest.mark.parametrize(
    ("fit", "width", "height", "sensor", "pixels"),
    [
        ("AUTO", 64, 48, 36.0, 64),  # landscape: the sensor width across the width
        ("AUTO", 48, 64, 36.0, 64),  # portrait: the sensor *width* across the height
        ("HORIZONTAL", 48, 64, 36.0, 48),
        ("VERTICAL", 64, 48, 24.0, 48),
    ],
)
def test_sensor_fit(fit, width, height, sensor, pixels):
    camera = opencv_camera(
        looking_down_y(sensor_fit=fit, resolution_x=width, resolution_y=height), torch.float64
    )
    assert float(camera.K[0, 0]) == pytest.approx(50.0 / sensor * pixels, rel=1e-12)
    assert float(camera.K[1, 1]) == pytest.approx(float(camera.K[0, 0]), rel=1e-12)


def test_pixel_aspect_widens_pixels_and_picks_the_fit():
    # 64x48 with pixels twice as tall as wide: 64 x 96 units, so AUTO fits vertically.
    camera = opencv_camera(
        looking_down_y(resolution_x=64, resolution_y=48, pixel_aspect_y=2.0), torch.float64
    )
    fx = 50.0 / 36.0 * 48 * 2.0  # the height spans 96 "x pixels"
    assert float(camera.K[0, 0]) == pytest.approx(fx)
    assert float(camera.K[1, 1]) == pytest.approx(fx / 2.0)  # half as many rows per metre


def test_shift_moves_the_principal_point_by_the_fitted_side():
    shifted = looking_down_y(resolution_x=64, resolution_y=48, shift_x=0.25, shift_y=0.1)
    K = opencv_camera(shifted, torch.float64).K
    assert float(K[0, 2]) == pytest.approx(32 - 0.25 * 64)
    assert float(K[1, 2]) == pytest.approx(24 + 0.1 * 64)  # shift is in widths (AUTO fit)
    vertical = dataclasses.replace(shifted, sensor_fit="VERTICAL")
    K = opencv_camera(vertical, torch.float64).K
    assert float(K[0, 2]) == pytest.approx(32 - 0.25 * 48)
    assert float(K[1, 2]) == pytest.approx(24 + 0.1 * 48)


def test_render_size_rounds_down_as_blender_does():
    assert render_size(1920, 1080, 33) == (633, 356)
    assert render_size(333, 77, 100) == (333, 77)
    camera = looking_down_y(resolution_x=64, resolution_y=48, resolution_percentage=50)
    converted = opencv_camera(camera, torch.float64)
    assert (converted.width, converted.height) == (32, 24)
    assert float(converted.K[0, 0]) == pytest.approx(50.0 / 36.0 * 32)
    with pytest.raises(LcaError, match="under one pixel"):
        render_size(64, 48, 1)


def test_scale_of_the_camera_object_is_ignored():
    plain = looking_down_y()
    scaled = dataclasses.replace(
        plain,
        matrix_world=plain.matrix_world
        @ torch.diag(torch.tensor([2.0, 3.0, 0.5, 1.0], dtype=torch.float64)),
    )
    torch.testing.assert_close(
        opencv_camera(scaled).world_to_camera, opencv_camera(plain).world_to_camera
    )


def test_opencv_to_blender_and_back():
    view = orbit_camera((0.1, 0.2, 0.9), 3.0, 30.0, 10.0, 80, 60, fov_y_deg=35.0)
    K = view.K.clone().double()
    K[0, 2], K[1, 2] = 33.0, 35.5  # an off-centre principal point becomes a shift
    view = dataclasses.replace(view, K=K, world_to_camera=view.world_to_camera.double())
    back = opencv_camera(blender_camera(view, dtype=torch.float64), torch.float64)
    torch.testing.assert_close(back.K, view.K)
    torch.testing.assert_close(back.world_to_camera, view.world_to_camera)
    assert (back.width, back.height, back.near, back.far) == (80, 60, view.near, view.far)


def test_non_square_pixels_do_not_convert_back():
    K = torch.tensor([[100.0, 0, 32], [0, 120, 24], [0, 0, 1]])
    view = Camera(K=K, world_to_camera=look_at((0, -3, 1), (0, 0, 1)), width=64, height=48)
    with pytest.raises(LcaError, match="square pixels"):
        blender_camera(view)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sensor_fit": "FILL"}, "sensor_fit"),
        ({"lens": 0.0}, "lens"),
        ({"clip_end": 0.05}, "clip_start/clip_end"),
        ({"clip_start": 0.0}, "clip_start/clip_end"),
        ({"matrix_world": torch.eye(3)}, "matrix_world"),
    ],
)
def test_bad_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(looking_down_y(), **change)


def test_a_zero_scale_is_refused():
    flat = dataclasses.replace(
        looking_down_y(), matrix_world=torch.diag(torch.tensor([1.0, 0.0, 1.0, 1.0]))
    )
    with pytest.raises(LcaError, match="zero scale"):
        opencv_camera(flat)
    assert math.isfinite(float(opencv_camera(looking_down_y()).K[0, 0]))
