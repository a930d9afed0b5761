import pytest
import torch

from core.quaternion import axis_angle_to_rotmat, quat_multiply, quat_to_rotmat, rotmat_to_quat


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
