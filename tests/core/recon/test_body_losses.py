"""Body fitting's loss terms (core/recon/body_losses.py)."""

from __future__ import annotations

import math

import torch

from core.recon.body_losses import FLEXION, direction_loss, hinge, pose_prior, reprojection


def test_reprojection_is_zero_on_target_and_grows_like_distance():
    target = torch.rand(2, 5, 2, generator=torch.Generator().manual_seed(0)) * 100
    weight, scale = torch.ones(2, 5), torch.tensor([2.0, 4.0])
    assert torch.equal(reprojection(target, target, weight, scale), torch.zeros(2, 5))
    far = reprojection(target + torch.tensor([200.0, 0.0]), target, weight, scale)
    assert torch.allclose(far[0], torch.full((5,), math.sqrt(1 + 100.0**2) - 1))
    assert torch.equal(
        reprojection(target + 1, target, torch.zeros(2, 5), scale), torch.zeros(2, 5)
    )


def test_direction_loss_is_zero_for_the_same_directions_and_ignores_length():
    points = torch.randn(3, 33, 3, generator=torch.Generator().manual_seed(1))
    weight = torch.ones(3, 33)
    assert float(direction_loss(points, 2.0 * points, weight)) < 1e-6
    assert math.isclose(float(direction_loss(points, -points, weight)), 2.0, rel_tol=1e-5)


def test_knee_hinge_bends_about_x_and_prior_holds_the_range():
    straight = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    axis, low, high = hinge(straight, "lowerleg01.L")
    assert torch.equal(axis, torch.tensor([1.0, 0.0, 0.0]))
    assert (low, high) == FLEXION  # straight at rest: the range is FLEXION itself
    pose = torch.zeros(1, 3, 3)
    hinges = [(2, axis, low, high)]
    weights = torch.zeros(3)
    assert float(pose_prior(pose, weights, hinges, 1, 10.0, 0.3)) == 0.0
    pose[0, 2] = torch.tensor([high + 0.5, 0.0, 0.0])  # bent past the range
    assert math.isclose(float(pose_prior(pose, weights, hinges, 1, 10.0, 0.3)), 2.5, rel_tol=1e-6)
    pose[0, 2] = torch.tensor([1.0, 0.2, 0.0])  # within range, off the axis
    assert math.isclose(float(pose_prior(pose, weights, hinges, 1, 10.0, 0.3)), 0.012, rel_tol=1e-6)
