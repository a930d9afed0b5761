"""The Gaussian decoder: per-Gaussian features -> corrections of the template's Gaussians.

Each template Gaussian gets the features of its nearest anchors (core.model.anchors), a
Fourier encoding of its canonical position and the photos' colour where they see it; a
shared MLP decodes colour, offset, scale, rotation and opacity corrections. The last layer
starts at zero, so an untrained network returns the template with the photos' colours where
they see it. Every output is bounded, so the binding is always valid (core.avatar.values):

    colour       = clamp(base + d_colour, 0, 1)   base: the photos' colour where seen, else
                                                  the template's
    offset       = template + OFFSET_LIMIT tanh(d_offset)          (triangle sizes)
    log_scale    = template + SCALE_LIMIT tanh(d_scale)
    rotation     = template * normalise(1, d_rotation / 2)
    opacity      = template + OPACITY_LIMIT tanh(d_opacity)       (logit)

Letters: N Gaussians, C channels.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from ..avatar.avatar import GaussianBinding
from ..quaternion import quat_multiply
from ..render.sh import SH_C0
from .layers import Mlp

OUTPUTS = 13
"""d_colour (3), d_offset (3), d_scale (3), d_rotation (3), d_opacity (1)."""
OFFSET_LIMIT = 3.0
SCALE_LIMIT = 1.5
OPACITY_LIMIT = 6.0


class GaussianDecoder(nn.Module):
    """(N, inputs) per-Gaussian features -> (N, OUTPUTS) corrections, zero when untrained."""

    def __init__(self, inputs: int, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(inputs)
        self.mlp = Mlp(inputs, hidden, OUTPUTS)
        nn.init.zeros_(self.mlp.fc2.weight)
        nn.init.zeros_(self.mlp.fc2.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.norm(x))


def decode_binding(template: GaussianBinding, out: Tensor, base: Tensor) -> GaussianBinding:
    """The template's binding with the decoder's corrections ``out`` (N, OUTPUTS) applied
    (module docstring); base: (N, 3) sRGB colours the colour correction starts from."""
    d_colour, d_offset, d_scale, d_rotation, d_opacity = out.split((3, 3, 3, 3, 1), dim=-1)
    dtype = out.dtype
    colour = (base + d_colour).clamp(0, 1)
    sh = template.sh.to(dtype).clone()
    sh = torch.cat((((colour - 0.5) / SH_C0)[:, None], sh[:, 1:]), dim=1)
    turn = torch.cat((torch.ones_like(d_opacity), 0.5 * d_rotation), dim=-1)
    turn = turn / turn.norm(dim=-1, keepdim=True)
    rotation = quat_multiply(template.rotation.to(dtype), turn)
    return dataclasses.replace(
        template,
        sh=sh,
        offset=template.offset.to(dtype) + OFFSET_LIMIT * torch.tanh(d_offset),
        log_scale=template.log_scale.to(dtype) + SCALE_LIMIT * torch.tanh(d_scale),
        rotation=rotation,
        opacity_logit=template.opacity_logit.to(dtype)
        + OPACITY_LIMIT * torch.tanh(d_opacity[:, 0]),
    )
