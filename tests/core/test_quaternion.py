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
