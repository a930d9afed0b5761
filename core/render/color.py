"""sRGB <-> scene-linear: the one place colour spaces are converted (DESIGN.md section 4).

Avatar colours and rendered ``rgb`` are sRGB-encoded as in 3DGS; passes written into Blender
are scene-linear. Both functions are the exact piecewise IEC 61966-2-1 transfer functions,
work elementwise on tensors of any shape, and are differentiable. Values below 0 follow the
linear segment; values above 1 follow the power segment (no clamping).
"""

from __future__ import annotations

import torch
from torch import Tensor

_ENCODED_KNEE = 0.04045
_LINEAR_KNEE = 0.0031308
_SLOPE = 12.92
_A = 0.055
_GAMMA = 2.4


def srgb_to_linear(x: Tensor) -> Tensor:
    """sRGB-encoded values (...) -> scene-linear values (...)."""
    # Clamp inside the power branch so the branch torch.where discards yields no NaN gradient.
    power = ((x.clamp_min(_ENCODED_KNEE) + _A) / (1 + _A)) ** _GAMMA
    return torch.where(x <= _ENCODED_KNEE, x / _SLOPE, power)


def linear_to_srgb(x: Tensor) -> Tensor:
    """Scene-linear values (...) -> sRGB-encoded values (...)."""
    power = (1 + _A) * x.clamp_min(_LINEAR_KNEE) ** (1 / _GAMMA) - _A
    return torch.where(x <= _LINEAR_KNEE, x * _SLOPE, power)
