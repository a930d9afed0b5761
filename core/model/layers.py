"""Building blocks of the network (after dinov2's ``layers/``): attention, MLP, pre-norm
blocks, and the Fourier encoding of positions. Modules hold parameters; the work is torch's.

Letters: B batch, T query tokens, S key tokens, C channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F_nn
from torch import Tensor, nn


def fourier_features(x: Tensor, bands: int) -> Tensor:
    """(..., D) -> (..., D (1 + 2 bands)): x, sin and cos of x at frequencies pi 2^0 ..
    pi 2^(bands - 1) (x in roughly -1..1)."""
    freqs = math.pi * 2.0 ** torch.arange(bands, dtype=x.dtype, device=x.device)
    angles = x[..., None] * freqs  # (..., D, bands)
    parts = (x, angles.sin().flatten(-2), angles.cos().flatten(-2))
    return torch.cat(parts, dim=-1)


def fourier_width(dims: int, bands: int) -> int:
    """Channels of :func:`fourier_features` of ``dims`` coordinates."""
    return dims * (1 + 2 * bands)


class Mlp(nn.Module):
    """Linear -> GELU -> Linear."""

    def __init__(self, width: int, hidden: int, out: int | None = None):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width if out is None else out)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F_nn.gelu(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head attention of queries x (B, T, C) over keys and values y (B, S, C); y None
    is self-attention."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = x if y is None else y
        B, T, C = x.shape
        S = y.shape[1]
        h = self.heads
        q = self.q(x).view(B, T, h, C // h).transpose(1, 2)  # (B, h, T, C/h)
        k, v = self.kv(y).view(B, S, 2, h, C // h).permute(2, 0, 3, 1, 4)  # 2 x (B, h, S, C/h)
        out = F_nn.scaled_dot_product_attention(q, k, v)  # (B, h, T, C/h)
        return self.proj(out.transpose(1, 2).reshape(B, T, C))


class SelfBlock(nn.Module):
    """Pre-norm transformer block: x + attn(norm x), then x + mlp(norm x)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = Mlp(width, int(width * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossBlock(nn.Module):
    """Cross-attention from queries x (T, C) to each of B token sets y (B, S, C), the B
    updates averaged (so any number of photos works), then an MLP."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm_q = nn.LayerNorm(width)
        self.norm_kv = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = Mlp(width, int(width * mlp_ratio))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """x: (T, C) queries; y: (B, S, C) one token set per photo. Returns (T, C)."""
        q = self.norm_q(x)[None].expand(y.shape[0], -1, -1)
        x = x + self.attn(q, self.norm_kv(y)).mean(0)
        return x + self.mlp(self.norm2(x))
