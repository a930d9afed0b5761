"""The dtype check shared by the avatar's in-memory types (GaussianBinding, PoseCorrection)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import LcaError


def require_dtype(owner: str, name: str, tensor: Tensor, integer: bool) -> None:
    """Raise LcaError (one sentence) unless ``tensor`` (field ``name`` of ``owner``) is an
    integer tensor (``integer``; bool and complex are not) or a floating-point one."""
    is_integer = not (
        tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool
    )
    if not (is_integer if integer else tensor.is_floating_point()):
        kind = "an integer" if integer else "a floating-point"
        raise LcaError(f"{owner}.{name} has dtype {tensor.dtype}; it must be {kind} tensor.")
