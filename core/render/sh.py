"""Real spherical harmonics, degree 0..3, with the constants and signs of 3DGS and gsplat.

Letters: N Gaussians, K coefficients per channel ((degree + 1) ** 2: 1, 4, 9 or 16).
A Gaussian's colour seen from a camera is ``max(SH(dir) + 0.5, 0)``, sRGB-encoded, with
``dir = normalise(mean - camera centre)``.
"""

from __future__ import annotations

from types import MappingProxyType

import torch
from torch import Tensor

SH_COUNTS = (1, 4, 9, 16)
"""K, the coefficients per channel, of each SH degree: ``SH_COUNTS[d] == (d + 1) ** 2``."""
SH_DEGREES = MappingProxyType({k: degree for degree, k in enumerate(SH_COUNTS)})
"""The SH degree of each coefficient count K (the inverse of ``SH_COUNTS``)."""

SH_C0 = 0.28209479177387814
"""Degree-0 SH constant: colour = SH_C0 * dc + 0.5."""
SH_C1 = 0.4886025119029199
SH_C2 = (
    1.0925484305920792,
    -1.0925484305920792,
    0.31539156525252005,
    -1.0925484305920792,
    0.5462742152960396,
)
SH_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)


def sh_basis(dirs: Tensor, k: int) -> Tensor:
    """The first ``k`` real SH basis functions at unit directions.

    dirs: (..., 3) unit vectors; k: 1, 4, 9 or 16. Returns (..., k).
    """
    if k not in SH_COUNTS:
        raise ValueError(f"The number of SH coefficients must be 1, 4, 9 or 16, got {k}.")
    x, y, z = dirs.unbind(-1)
    terms = [torch.full_like(x, SH_C0)]
    if k > 1:
        terms += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if k > 4:
        xx, yy, zz = x * x, y * y, z * z
        terms += [
            SH_C2[0] * x * y,
            SH_C2[1] * y * z,
            SH_C2[2] * (2 * zz - xx - yy),
            SH_C2[3] * x * z,
            SH_C2[4] * (xx - yy),
        ]
    if k > 9:
        terms += [
            SH_C3[0] * y * (3 * xx - yy),
            SH_C3[1] * x * y * z,
            SH_C3[2] * y * (4 * zz - xx - yy),
            SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            SH_C3[4] * x * (4 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy),
            SH_C3[6] * x * (xx - 3 * yy),
        ]
    return torch.stack(terms, dim=-1)


def eval_sh(sh: Tensor, dirs: Tensor) -> Tensor:
    """Sum of SH coefficients times basis (without the +0.5 offset).

    sh: (N, K, 3) coefficients; dirs: (N, 3) unit directions. Returns (N, 3).
    """
    basis = sh_basis(dirs, sh.shape[-2])
    # nk,nkc->nc : weight each coefficient by its basis function.
    return torch.einsum("nk,nkc->nc", basis, sh)


def sh_colors(sh: Tensor, means: Tensor, camera_position: Tensor) -> Tensor:
    """View-dependent sRGB-encoded colours, as 3DGS and gsplat compute them.

    sh: (N, K, 3); means: (N, 3) world positions; camera_position: (3,) world camera centre.
    Returns (N, 3) ``max(SH(normalise(mean - camera)) + 0.5, 0)``.
    """
    if sh.shape[-2] == 1:  # view-independent: skip the directions (and their gradients)
        return (SH_C0 * sh[:, 0] + 0.5).clamp_min(0.0)
    offset = means - camera_position
    norm = offset.norm(dim=-1, keepdim=True)
    dirs = offset / torch.where(norm > 0, norm, torch.ones_like(norm))
    return (eval_sh(sh, dirs) + 0.5).clamp_min(0.0)
