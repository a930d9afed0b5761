"""Image tokens: a ViT-style patch encoder over each photo's square person crop.

Each crop (RGB and the person mask, 4 channels) is cut into patches, embedded, given a
learned position embedding per patch and a view embedding (the camera's viewing direction
and centre relative to the body, so the network knows from where each photo was taken),
then passed through self-attention blocks, each photo on its own: 1..N photos.

Letters: B photos, C channels, P = g x g patches, S x S pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .layers import SelfBlock

VIEW_INPUTS = 6
"""Numbers describing a camera to the view embedding: its viewing direction (3) and its
centre relative to the body's centre in metres (3)."""


class PatchEncoder(nn.Module):
    """(B, 4, S, S) crops and (B, VIEW_INPUTS) camera descriptions -> tokens (B, P, C) and
    the same as a feature map (B, C, g, g)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        C, p = config.width, config.patch
        self.grid = config.grid
        self.embed = nn.Conv2d(4, C, kernel_size=p, stride=p)
        self.position = nn.Parameter(torch.randn(1, self.grid * self.grid, C) * 0.02)
        self.view = nn.Linear(VIEW_INPUTS, C)
        self.blocks = nn.ModuleList(
            SelfBlock(C, config.heads, config.mlp_ratio) for _ in range(config.encoder_depth)
        )
        self.norm = nn.LayerNorm(C)

    def forward(self, crops: Tensor, views: Tensor) -> tuple[Tensor, Tensor]:
        x = self.embed(crops * 2 - 1).flatten(2).transpose(1, 2)  # (B, P, C)
        x = x + self.position + self.view(views)[:, None]
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        B, P, C = x.shape
        return x, x.transpose(1, 2).reshape(B, C, self.grid, self.grid)
