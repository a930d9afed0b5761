import math

import pytest
import torch

from core.quaternion import (
    angle_about_axis,
    axis_angle_to_rotmat,
    heading_rotation,
    orthonormal_frame,
    quat_multiply,
    quat_multiply_parts,
    quat_to_rotmat,
    rotmat_to_quat,
    rotmat_to_quat_parts,
    rotmat_to_rotvec,
    smallest_rotation,
)


def test_round_trip_random_rotations():
    g = torch.Generator().manual_seed(1)
    q = torch.randn(500, 4, generator=g, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True)
    q = torch.where(q[:, :1] < 0, -q, q)
    assert torch.allclose(rotmat_to_quat(quat_to_rotmat(q)), q, atol=1e-10)


def test_round_trip_near_180_degrees():
    rotvec = torch.tensor(
        [[3.14159, 0, 0], [0, 3.1415, 0.001], [0, 0, -3.14159]], dtype=torch.float64
    )
    R = axis_angle_to_rotmat(rotvec)
    assert torch.allclose(quat_to_rotmat(rotmat_to_quat(R)), R, atol=1e-9)


def test_multiply_composes_rotations():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(2, 20, 4, generator=g, dtype=torch.float64)
    Ra, Rb = quat_to_rotmat(a), quat_to_rotmat(b)
    assert torch.allclose(quat_to_rotmat(quat_multiply(a, b)), Ra @ Rb, atol=1e-10)


def test_axis_angle_quarter_turn_about_z():
    R = axis_angle_to_rotmat(torch.tensor([0, 0, torch.pi / 2], dtype=torch.float64))
    assert torch.allclose(
        R @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
        torch.tensor([0.0, 1, 0], dtype=torch.float64),
        atol=1e-12,
    )


def _generators() -> torch.Tensor:
    """(3, 3, 3) E_k = d skew(v) / d v_k: the rotation generators about x, y and z."""
    E = torch.zeros(3, 3, 3, dtype=torch.float64)
    E[0, 2, 1], E[0, 1, 2] = 1, -1
    E[1, 0, 2], E[1, 2, 0] = 1, -1
    E[2, 1, 0], E[2, 0, 1] = 1, -1
    return E


@pytest.mark.parametrize("scale", [0.0, 1e-4])
def test_axis_angle_jacobian_at_and_near_zero_is_the_analytic_one(scale):
    # R(v) = I + S + S^2 / 2 + O(|v|^3) with S = skew(v), so dR/dv_k = E_k + (E_k S + S E_k) / 2
    # + O(|v|^2): the generators themselves at v = 0 (the O(|v|^2) rest is 5e-9 at 1e-4).
    v = scale * torch.tensor([0.6, -0.8, 0.3], dtype=torch.float64)
    E = _generators()
    S = torch.einsum("k,kij->ij", v, E)  # S_ij = sum_k v_k E_kij
    expected = E + 0.5 * (E @ S + S @ E)  # (k, i, j)
    jacobian = torch.autograd.functional.jacobian(axis_angle_to_rotmat, v)  # (i, j, k)
    torch.testing.assert_close(jacobian.permute(2, 0, 1), expected, atol=1e-8, rtol=0)


@pytest.mark.parametrize("scale", [0.0, 1e-9, 1e-4, 1.0, 3.1])
def test_axis_angle_gradcheck(scale):
    v = scale * torch.tensor([0.6, -0.8, 0.3], dtype=torch.float64)
    assert torch.autograd.gradcheck(axis_angle_to_rotmat, (v.requires_grad_(),))


def test_axis_angle_matches_the_quaternion_of_the_same_rotation():
    g = torch.Generator().manual_seed(3)
    rotvec = torch.randn(200, 3, generator=g, dtype=torch.float64)
    rotvec[:50] *= 1e-6  # tiny angles too
    angle = rotvec.norm(dim=-1, keepdim=True)
    q = torch.cat((torch.cos(angle / 2), torch.sin(angle / 2) * rotvec / angle), dim=-1)
    torch.testing.assert_close(axis_angle_to_rotmat(rotvec), quat_to_rotmat(q), atol=1e-14, rtol=0)


def _one_per_branch() -> torch.Tensor:
    """(4, 4) unit quaternions, w >= 0, whose largest component is w, x, y, z in turn (each
    takes a different one of Shepperd's four formulas)."""
    q = torch.full((4, 4), 0.2, dtype=torch.float64) + 0.8 * torch.eye(4, dtype=torch.float64)
    q[:, 2] *= -1  # some negative components too
    q[2, 2] = 1.0
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[:, :1] < 0, -q, q)


def test_round_trip_in_every_branch():
    q = _one_per_branch()
    assert sorted(q.abs().argmax(-1).tolist()) == [0, 1, 2, 3]
    torch.testing.assert_close(rotmat_to_quat(quat_to_rotmat(q)), q, atol=1e-12, rtol=0)


def test_gradcheck_rotmat_to_quat_in_every_branch():
    R = quat_to_rotmat(_one_per_branch()).requires_grad_(True)
    assert torch.autograd.gradcheck(rotmat_to_quat, (R,))


def test_parts_on_a_component_major_layout_match():
    g = torch.Generator().manual_seed(4)
    q = torch.randn(2, 50, 4, generator=g, dtype=torch.float64)
    q = torch.cat((q, _one_per_branch().expand(2, 4, 4)), dim=1)  # (B, N, 4)
    R = quat_to_rotmat(q)  # (B, N, 3, 3)
    entries = [[R[..., i, j] for j in range(3)] for i in range(3)]  # each (B, N)
    torch.testing.assert_close(
        rotmat_to_quat_parts(entries, dim=1), rotmat_to_quat(R).transpose(1, 2), atol=0, rtol=0
    )
    p = torch.randn(50 + 4, 4, generator=g, dtype=torch.float64)  # broadcasts against (B, N)
    parts = quat_multiply_parts(q.unbind(-1), p.unbind(-1))
    torch.testing.assert_close(torch.stack(parts, -1), quat_multiply(q, p), atol=0, rtol=0)
    torch.testing.assert_close(
        quat_multiply(q.transpose(1, 2), p.T[None], dim=1), quat_multiply(q, p).transpose(1, 2)
    )


def test_rotmat_to_rotvec_inverts_axis_angle():
    g = torch.Generator().manual_seed(2)
    for _ in range(20):
        axis = torch.nn.functional.normalize(torch.randn(3, generator=g), dim=0)
        angle = float(torch.rand(1, generator=g)) * 3.0 + 0.05
        rotvec = rotmat_to_rotvec(axis_angle_to_rotmat(axis * angle))
        assert rotvec.shape == (3,)
        assert torch.allclose(rotvec, axis * angle, atol=1e-5)
    assert torch.allclose(rotmat_to_rotvec(torch.eye(3)), torch.zeros(3))


def test_smallest_rotation_turns_a_to_b_about_their_normal():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 2.0, 0.0])
    R = smallest_rotation(a, b)
    assert R.shape == (3, 3)
    assert torch.allclose(R @ a, torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    assert torch.allclose(R @ torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.equal(smallest_rotation(a, -a), torch.eye(3))  # antiparallel: left alone


def test_orthonormal_frame_keeps_the_direction_and_the_plane():
    frame = orthonormal_frame(torch.tensor([0.0, 0.0, 3.0]), torch.tensor([1.0, 0.0, 1.0]))
    assert torch.allclose(frame.T @ frame, torch.eye(3), atol=1e-6)
    assert torch.allclose(torch.linalg.det(frame), torch.tensor(1.0))
    assert torch.allclose(frame[:, 0], torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(frame[:, 1], torch.tensor([1.0, 0.0, 0.0]))


def test_heading_rotation_keeps_the_turn_about_z_only():
    turn = axis_angle_to_rotmat(torch.tensor([0.0, 0.0, 0.7]))
    tilt = axis_angle_to_rotmat(torch.tensor([0.2, 0.0, 0.0]))
    heading = heading_rotation(turn @ tilt)
    assert heading.shape == (3, 3)
    assert torch.allclose(heading, turn, atol=1e-5)
    assert torch.allclose(heading_rotation(torch.eye(3)), torch.eye(3))


def test_angle_about_axis_ignores_the_part_along_the_axis():
    axis = torch.tensor([0.0, 0.0, 1.0])
    rest, target = torch.tensor([1.0, 0.0, 5.0]), torch.tensor([0.0, 2.0, -1.0])
    assert math.isclose(angle_about_axis(axis, rest, target), math.pi / 2, rel_tol=1e-6)
    assert math.isclose(angle_about_axis(axis, target, rest), -math.pi / 2, rel_tol=1e-6)
