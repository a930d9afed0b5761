"""core/deform/skinning.py: linear blend skinning, rigid inverses and forward kinematics by
depth level, against their bone-by-bone twins in core/deform/_reference.py (values, and
gradients from random cotangents)."""

import pytest
import torch

from core.deform._reference import (
    _forward_kinematics,
    _linear_blend_skinning,
    _rigid_inverse,
)
from core.deform.skinning import (
    depth_levels,
    forward_kinematics,
    linear_blend_skinning,
    rigid_inverse,
    skin_to_pose,
)
from core.quaternion import axis_angle_to_rotmat

TREES = {
    "chain": (-1, 0, 1, 2),
    "branches": (-1, 0, 1, 1, 0, 4, 2, 6, 3),
    "two roots": (-1, 0, -1, 2, 2, 3),
}


def _rigid(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """(*shape, 4, 4) random rigid transforms, float64."""
    m = torch.eye(4, dtype=torch.float64).repeat(*shape, 1, 1)
    m[..., :3, :3] = axis_angle_to_rotmat(torch.randn(*shape, 3, generator=g, dtype=torch.float64))
    m[..., :3, 3] = torch.randn(*shape, 3, generator=g, dtype=torch.float64)
    return m


def _grads(outputs: torch.Tensor, inputs: tuple[torch.Tensor, ...], cotangent: torch.Tensor):
    return torch.autograd.grad(outputs, inputs, cotangent)


def test_linear_blend_skinning_blends_the_bone_transforms():
    vertices = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    weights = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    turn = torch.eye(4).repeat(1, 2, 1, 1)
    turn[0, 1, :3, :3] = axis_angle_to_rotmat(torch.tensor([0.0, 0.0, torch.pi / 2]))
    turn[0, 1, :3, 3] = torch.tensor([0.0, 0.0, 1.0])
    skinned = linear_blend_skinning(vertices, weights, turn)
    torch.testing.assert_close(skinned[0, 0], torch.tensor([1.0, 0.0, 0.0]))
    # half of (0, 2, 0) and half of (-2, 0, 1)
    torch.testing.assert_close(skinned[0, 1], torch.tensor([-1.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match="transforms"):
        linear_blend_skinning(vertices, weights, turn[:, :1])


def test_rigid_inverse():
    m = torch.eye(4)
    m[:3, :3] = axis_angle_to_rotmat(torch.tensor([0.3, -0.2, 0.5]))
    m[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(rigid_inverse(m) @ m, torch.eye(4))


@pytest.mark.parametrize(("B", "V", "J"), [(1, 5, 3), (3, 40, 7)])
def test_linear_blend_skinning_matches_the_reference_twin(B, V, J):
    g = torch.Generator().manual_seed(B * 100 + J)
    vertices = torch.randn(B, V, 3, generator=g, dtype=torch.float64).requires_grad_()
    weights = torch.rand(V, J, generator=g, dtype=torch.float64)
    weights = (weights / weights.sum(1, keepdim=True)).requires_grad_()
    transforms = _rigid((B, J), g).requires_grad_()
    fast = linear_blend_skinning(vertices, weights, transforms)
    reference = _linear_blend_skinning(vertices, weights, transforms)
    torch.testing.assert_close(fast, reference, atol=1e-12, rtol=1e-12)
    cotangent = torch.randn(fast.shape, generator=g, dtype=fast.dtype)
    inputs = (vertices, weights, transforms)
    for got, expected in zip(
        _grads(fast, inputs, cotangent), _grads(reference, inputs, cotangent), strict=True
    ):
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_rigid_inverse_matches_the_reference_twin(shape):
    g = torch.Generator().manual_seed(len(shape))
    m = _rigid(shape, g)
    torch.testing.assert_close(rigid_inverse(m), _rigid_inverse(m), atol=1e-12, rtol=1e-12)
    # The gradients agree along rigid motions only (rigid_inverse assumes R orthonormal), so
    # differentiate through a rigid transform made from parameters: rotation vector a,
    # translation a.
    angles = torch.randn(*shape, 3, generator=g, dtype=torch.float64).requires_grad_()
    cotangent = torch.randn(*shape, 4, 4, generator=g, dtype=torch.float64)

    def rigid(a: torch.Tensor) -> torch.Tensor:
        bottom = torch.eye(4, dtype=a.dtype)[3:].expand(*shape, 1, 4)
        top = torch.cat((axis_angle_to_rotmat(a), a[..., None]), -1)  # (..., 3, 4)
        return torch.cat((top, bottom), -2)

    (got,) = _grads(rigid_inverse(rigid(angles)), (angles,), cotangent)
    (expected,) = _grads(_rigid_inverse(rigid(angles)), (angles,), cotangent)
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-10)


def test_skin_to_pose_skins_with_posed_times_the_inverse_rest():
    g = torch.Generator().manual_seed(5)
    vertices = torch.randn(2, 30, 3, generator=g, dtype=torch.float64)
    weights = torch.rand(30, 4, generator=g, dtype=torch.float64)
    weights = weights / weights.sum(1, keepdim=True)
    posed, rest = _rigid((2, 4), g), _rigid((4,), g)
    skinned = skin_to_pose(vertices, weights, posed, rest)
    expected = _linear_blend_skinning(vertices, weights, posed @ torch.linalg.inv(rest))
    torch.testing.assert_close(skinned, expected, atol=1e-12, rtol=1e-12)
    exact = linear_blend_skinning(vertices, weights, posed @ rigid_inverse(rest))
    assert torch.equal(skinned, exact)  # the same operations, in the same order
    at_rest = skin_to_pose(vertices, weights, rest.expand(2, -1, -1, -1), rest)
    torch.testing.assert_close(at_rest, vertices, atol=1e-12, rtol=0)


def test_depth_levels_group_the_bones_by_depth():
    assert depth_levels(TREES["branches"]) == ((0,), (1, 4), (2, 3, 5), (6, 8), (7,))
    assert depth_levels(TREES["two roots"]) == ((0, 2), (1, 3, 4), (5,))
    assert depth_levels(()) == ()
    with pytest.raises(ValueError, match="must come before"):
        depth_levels((-1, 2, 0))


@pytest.mark.parametrize("tree", TREES)
@pytest.mark.parametrize("batch", [(), (3,)])
def test_forward_kinematics_matches_the_reference_twin(tree, batch):
    parents = TREES[tree]
    g = torch.Generator().manual_seed(len(parents) + len(batch))
    local = _rigid((*batch, len(parents)), g)
    local[..., :3, :] *= 1.1  # not only rigid transforms
    local.requires_grad_()
    fast = forward_kinematics(local, parents)
    reference = _forward_kinematics(local, parents)
    torch.testing.assert_close(fast, reference, atol=1e-12, rtol=1e-12)
    cotangent = torch.randn(fast.shape, generator=g, dtype=fast.dtype)
    (got,) = _grads(fast, (local,), cotangent)
    (expected,) = _grads(reference, (local,), cotangent)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-12)


def test_forward_kinematics_refuses_a_wrong_bone_count():
    with pytest.raises(ValueError, match="local must be"):
        forward_kinematics(torch.eye(4).repeat(3, 1, 1), (-1, 0))
