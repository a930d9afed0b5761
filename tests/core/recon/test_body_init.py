"""Where body fitting starts (core/recon/body_init.py)."""

from __future__ import annotations

import torch

from core.quaternion import axis_angle_to_rotmat
from core.recon.body_init import aligning_rotation, initial_placement
from core.recon.body_targets import FIT_CAMERA
from core.render.camera import intrinsics


def test_initial_placement_of_a_person_facing_the_camera():
    """World landmarks of an upright person facing the camera (camera axes: y down), 1 m
    between the hips and shoulders, seen 250 px tall by a 500 px focal length: 2 m away."""
    world = torch.zeros(33, 3)
    for i, (x, y) in {11: (0.2, -1.0), 12: (-0.2, -1.0), 23: (0.1, 0.0), 24: (-0.1, 0.0)}.items():
        world[i] = torch.tensor([x, y, 0.0])
    K = intrinsics(400, 400, focal_px=500.0)
    pixels = world[:, :2] * 250.0 + torch.tensor([200.0, 300.0])
    weight = torch.zeros(33)
    weight[[11, 12, 23, 24]] = 1.0
    root, translation = initial_placement(pixels, weight, world, K)
    body_to_camera = FIT_CAMERA @ axis_angle_to_rotmat(root)
    # The body's left (+X) is the camera's +x, its up (+Z) the camera's -y.
    assert torch.allclose(body_to_camera[:, 0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-5)
    assert torch.allclose(body_to_camera[:, 2], torch.tensor([0.0, -1.0, 0.0]), atol=1e-5)
    local = FIT_CAMERA @ translation
    assert abs(float(local[2]) - 2.0) < 1e-4  # depth = focal * metres / pixels
    assert torch.allclose(local[:2], torch.tensor([0.0, 0.4]), atol=1e-4)  # hips 100 px low


def test_aligning_rotation_turns_the_segment_and_the_hinge_axis():
    rest, axis = torch.tensor([0.0, 0.0, -1.0]), torch.tensor([1.0, 0.0, 0.0])
    near, far = torch.tensor([0.0, -1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0])
    R = aligning_rotation(rest, axis, near, far)
    assert torch.allclose(R @ rest, near, atol=1e-6)
    normal = torch.linalg.cross(near, far)
    assert torch.allclose(R @ axis, normal / normal.norm(), atol=1e-6)
    straight = aligning_rotation(rest, axis, near, 2 * near)  # nearly straight: smallest turn
    assert torch.allclose(straight @ rest, near, atol=1e-6)
