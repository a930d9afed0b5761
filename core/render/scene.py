"""Assemble a renderable scene from an avatar's binding and its deformed Gaussians."""

from __future__ import annotations

import torch

from ..avatar.avatar import GaussianBinding
from ..deform.binding import WorldGaussians
from .types import SplatScene


def splat_scene(binding: GaussianBinding, world: WorldGaussians, index: int = 0) -> SplatScene:
    """The SplatScene of batch element ``index`` of ``world`` (shapes in core.render.types)."""
    dtype = world.means.dtype
    return SplatScene(
        means=world.means[index],
        quats=world.quats[index],
        scales=world.scales[index],
        opacities=torch.sigmoid(binding.opacity_logit.to(dtype)),
        sh=binding.sh.to(dtype),
        parts=binding.part,
    )
