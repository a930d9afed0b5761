"""Spherical harmonics: the 3DGS / gsplat basis, its normalisation and the colour rule."""

from __future__ import annotations

import math

import pytest
import torch

from core.render.sh import eval_sh, sh_basis, sh_colors


def _fibonacci_sphere(n: int) -> torch.Tensor:
    """(n, 3) nearly uniform unit directions (float64)."""
    i = torch.arange(n, dtype=torch.float64) + 0.5
    z = 1 - 2 * i / n
    r = (1 - z * z).sqrt()
    phi = i * math.pi * (3 - math.sqrt(5))
    return torch.stack((r * torch.cos(phi), r * torch.sin(phi), z), dim=-1)


def test_basis_is_orthonormal_on_the_sphere():
    dirs = _fibonacci_sphere(40000)
    basis = sh_basis(dirs, 16)
    gram = basis.T @ basis * (4 * math.pi / len(dirs))
    torch.testing.assert_close(gram, torch.eye(16, dtype=torch.float64), atol=2e-3, rtol=0)


def test_basis_signs_match_3dgs():
    # 3DGS: Y1 = -C1 y, Y2 = C1 z, Y3 = -C1 x; Y4 = C2 xy; Y6 = C2' (2z^2 - x^2 - y^2); ...
    c0, c1 = 0.28209479177387814, 0.4886025119029199
    x, y, z = 0.48, 0.6, 0.64  # a unit vector
    basis = sh_basis(torch.tensor([[x, y, z]], dtype=torch.float64), 16)[0]
    expected = {
        0: c0,
        1: -c1 * y,
        2: c1 * z,
        3: -c1 * x,
        4: 1.0925484305920792 * x * y,
        5: -1.0925484305920792 * y * z,
        6: 0.31539156525252005 * (2 * z * z - x * x - y * y),
        7: -1.0925484305920792 * x * z,
        8: 0.5462742152960396 * (x * x - y * y),
        9: -0.5900435899266435 * y * (3 * x * x - y * y),
        10: 2.890611442640554 * x * y * z,
        12: 0.3731763325901154 * z * (2 * z * z - 3 * x * x - 3 * y * y),
        15: -0.5900435899266435 * x * (x * x - 3 * y * y),
    }
    for k, value in expected.items():
        assert float(basis[k]) == pytest.approx(value, abs=1e-12), k


@pytest.mark.parametrize("k", [1, 4, 9, 16])
def test_lower_degrees_are_prefixes(k):
    dirs = _fibonacci_sphere(10)
    torch.testing.assert_close(sh_basis(dirs, k), sh_basis(dirs, 16)[:, :k])


def test_bad_coefficient_count():
    with pytest.raises(ValueError, match="1, 4, 9 or 16"):
        sh_basis(torch.zeros(1, 3), 5)


def test_colors_follow_view_direction_and_clamp():
    means = torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.0, -5.0]], dtype=torch.float64)
    camera = torch.zeros(3, dtype=torch.float64)
    sh = torch.zeros(2, 4, 3, dtype=torch.float64)
    sh[:, 0] = torch.tensor([0.3, 0.2, -5.0]) / 0.28209479177387814  # DC: 0.8, 0.7, clamped
    sh[:, 2, 1] = 1.0  # the z-linear term, in green only
    colors = sh_colors(sh, means, camera)
    c1 = 0.4886025119029199
    # Direction (0, 0, 1) for the first, (0, 0, -1) for the second: green +/- C1.
    expected = torch.tensor([[0.8, 0.7 + c1, 0.0], [0.8, 0.7 - c1, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(colors, expected)
    # Only the direction matters, not the distance.
    torch.testing.assert_close(sh_colors(sh, 3 * means, camera), colors)


def test_degree_zero_ignores_direction_and_eval_sh_has_no_offset():
    g = torch.Generator().manual_seed(0)
    sh = torch.randn(5, 1, 3, generator=g, dtype=torch.float64)
    means = torch.randn(5, 3, generator=g, dtype=torch.float64)
    dirs = means / means.norm(dim=-1, keepdim=True)
    colors = sh_colors(sh, means, torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(colors, (eval_sh(sh, dirs) + 0.5).clamp_min(0))
    torch.testing.assert_close(eval_sh(sh, dirs), 0.28209479177387814 * sh[:, 0])


def test_colors_are_differentiable():
    g = torch.Generator().manual_seed(1)
    sh = (0.2 * torch.randn(3, 16, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    means = torch.randn(3, 3, generator=g, dtype=torch.float64).requires_grad_(True)
    camera = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda s, m: sh_colors(s, m, camera), (sh, means))
