"""Camera helpers: OpenCV look-at, orbits around a -Y-facing body, framing points."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from core.render.camera import (
    camera_to_pixels,
    frame_points,
    intrinsics,
    look_at,
    orbit_camera,
    project_points,
)
from core.render.types import Camera


def _project(camera: Camera, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, 2) pixel positions and (P,) depths of world points (float64)."""
    w2c = camera.world_to_camera.double()
    cam = points.double() @ w2c[:3, :3].T + w2c[:3, 3]
    uv = cam @ camera.K.double().T
    return uv[:, :2] / uv[:, 2:], cam[:, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"K": torch.eye(4)}, "Camera.K must be"),
        ({"world_to_camera": torch.eye(3)}, "Camera.world_to_camera must be"),
        ({"width": 0}, "Camera size"),
        ({"K": torch.full((3, 3), float("inf"))}, "Camera.K has NaN"),
        ({"world_to_camera": torch.full((4, 4), float("nan"))}, "Camera.world_to_camera has NaN"),
        ({"near": 0.0}, "Camera near/far"),
        ({"near": 2.0, "far": 2.0}, "Camera near/far"),
        ({"far": float("nan")}, "Camera near/far"),
    ],
)
def test_camera_refuses_bad_values(change, message):
    good = Camera(K=intrinsics(64, 48, fov_y_deg=40.0), world_to_camera=torch.eye(4), width=64,
                  height=48)  # fmt: skip
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(good, **change)


def test_intrinsics():
    K = intrinsics(640, 480, fov_y_deg=90.0)
    torch.testing.assert_close(K, torch.tensor([[240.0, 0, 320], [0, 240, 240], [0, 0, 1]]))
    assert intrinsics(64, 32, focal_px=50.0, dtype=torch.float64)[0, 0] == 50.0
    with pytest.raises(ValueError, match="exactly one"):
        intrinsics(64, 32)
    with pytest.raises(ValueError, match="fov_y_deg"):
        intrinsics(64, 32, fov_y_deg=180.0)


def test_look_at_is_a_proper_rotation_and_centres_the_target():
    eye, target = (1.0, -3.0, 2.0), (0.2, 0.5, 1.0)
    w2c = look_at(eye, target, dtype=torch.float64)
    R = w2c[:3, :3]
    torch.testing.assert_close(R @ R.T, torch.eye(3, dtype=torch.float64))
    assert float(torch.linalg.det(R)) == pytest.approx(1.0, abs=1e-12)
    camera = Camera(
        K=intrinsics(100, 80, fov_y_deg=40.0), world_to_camera=w2c, width=100, height=80
    )
    torch.testing.assert_close(camera.position, torch.tensor(eye, dtype=torch.float64))
    uv, depth = _project(camera, torch.tensor([target]))
    torch.testing.assert_close(uv[0], torch.tensor([50.0, 40.0], dtype=torch.float64))
    assert float(depth[0]) == pytest.approx(math.dist(eye, target))
    # World up (+Z) points up in the image (-y); the camera's x axis is horizontal.
    above, _ = _project(camera, torch.tensor([[0.2, 0.5, 1.5]]))
    assert float(above[0, 1]) < 40.0
    assert float(R[0, 2]) == pytest.approx(0.0, abs=1e-12)


def test_look_at_rejects_degenerate_input():
    with pytest.raises(ValueError, match="up vector"):
        look_at((0.0, 0.0, 5.0), (0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="differ"):
        look_at((1.0, 1.0, 1.0), (1.0, 1.0, 1.0))


def test_orbit_azimuth_zero_is_the_front_and_turns_counter_clockwise():
    target = (0.0, 0.0, 1.0)
    front = orbit_camera(target, 3.0, 0.0, 0.0, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(front.position, torch.tensor([0.0, -3.0, 1.0], dtype=torch.float64))
    # Seen from the front, the body's left (+X, it faces -Y) is on the image's right.
    uv, _ = _project(front, torch.tensor([[0.5, 0.0, 1.0]]))
    assert float(uv[0, 0]) > 32
    side = orbit_camera(target, 3.0, 90.0, 0.0, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(side.position, torch.tensor([3.0, 0.0, 1.0], dtype=torch.float64))
    back = orbit_camera(target, 3.0, 180.0, 0.0, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(back.position, torch.tensor([0.0, 3.0, 1.0], dtype=torch.float64))
    high = orbit_camera(target, 3.0, 0.0, 30.0, 64, 64, dtype=torch.float64)
    assert float(high.position[2]) == pytest.approx(1.0 + 1.5)
    for camera in (front, side, back, high):
        uv, _ = _project(camera, torch.tensor([target]))
        torch.testing.assert_close(uv[0], torch.tensor([32.0, 32.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="elevation"):
        orbit_camera(target, 3.0, 0.0, 90.0, 64, 64)


def test_orbit_with_y_up_faces_plus_z():
    camera = orbit_camera((0.0, 1.0, 0.0), 2.0, 0.0, 0.0, 32, 32, up="Y", dtype=torch.float64)
    torch.testing.assert_close(camera.position, torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64))
    above, _ = _project(camera, torch.tensor([[0.0, 1.5, 0.0]]))
    assert float(above[0, 1]) < 16
    with pytest.raises(ValueError, match="up"):
        orbit_camera((0.0, 0.0, 0.0), 2.0, 0.0, 0.0, 32, 32, up="X")


@pytest.mark.parametrize(("azimuth", "elevation"), [(0.0, 0.0), (35.0, 20.0), (200.0, -15.0)])
def test_frame_points_fits_every_point(azimuth, elevation):
    g = torch.Generator().manual_seed(0)
    # A body-like cloud: 0.5 m wide, 0.3 m deep, 1.7 m tall, standing on Z = 0.
    points = torch.rand(2000, 3, generator=g) * torch.tensor([0.5, 0.3, 1.7]) - torch.tensor(
        [0.25, 0.15, 0.0]
    )
    width, height, margin = 160, 90, 1.1
    camera = frame_points(points, azimuth, elevation, width, height, fov_y_deg=30.0, margin=margin)
    assert camera.K.dtype == torch.float32
    uv, depth = _project(camera, points)
    assert (depth > camera.near).all()
    assert (uv[:, 0] >= 0).all() and (uv[:, 0] <= width).all()
    assert (uv[:, 1] >= 0).all() and (uv[:, 1] <= height).all()
    # Tight: some point reaches the margin in the limiting direction.
    reach = torch.maximum(
        (uv[:, 0] - width / 2).abs() / width, (uv[:, 1] - height / 2).abs() / height
    )
    assert float(reach.max()) == pytest.approx(0.5 / margin, abs=1e-4)


def test_frame_points_rejects_bad_input():
    with pytest.raises(ValueError, match="points"):
        frame_points(torch.zeros(0, 3), 0.0, 0.0, 10, 10)
    with pytest.raises(ValueError, match="margin"):
        frame_points(torch.zeros(4, 3), 0.0, 0.0, 10, 10, margin=0.5)


def test_project_points_matches_the_float64_reference():
    camera = orbit_camera((0.0, 0.0, 1.0), 3.0, 30.0, 10.0, 64, 48)
    points = torch.rand(50, 3, generator=torch.Generator().manual_seed(1)) - 0.5
    pixels, depth = project_points(camera, points)
    expected, expected_depth = _project(camera, points)
    assert pixels.dtype == torch.float32 and pixels.shape == (50, 2) and depth.shape == (50,)
    assert torch.allclose(pixels.double(), expected, atol=1e-3)
    assert torch.allclose(depth.double(), expected_depth, atol=1e-5)
    assert project_points(camera, points.double())[0].dtype == torch.float64


def test_camera_to_pixels_batches_and_clamps_the_depth():
    K = torch.stack((intrinsics(64, 48, focal_px=50.0), intrinsics(32, 32, focal_px=20.0)))
    local = torch.tensor([[[0.1, -0.2, 2.0], [0.0, 0.0, -1.0]], [[0.3, 0.1, 1.0], [0, 0, 0.0]]])
    pixels = camera_to_pixels(K, local, min_depth=0.5)
    assert pixels.shape == (2, 2, 2)
    assert torch.allclose(pixels[0, 0], torch.tensor([32 + 50 * 0.05, 24 - 50 * 0.1]))
    assert torch.allclose(pixels[0, 1], torch.tensor([-64.0, -48.0]))  # K p / 0.5
    assert torch.allclose(pixels[1, 0], torch.tensor([16 + 20 * 0.3, 16 + 20 * 0.1]))
