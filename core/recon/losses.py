"""Image losses and scores for fitting an avatar to photos.

Letters: H x W pixels, C channels. Images are (H, W, C) floats in [0, 1], sRGB-encoded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F_nn
from torch import Tensor

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = 0.01**2
_C2 = 0.03**2


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """(size,) normalised 1D Gaussian."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _blur(x: Tensor, window: Tensor) -> Tensor:
    """Separable Gaussian blur of (B, C, H, W) with zero padding (as 3DGS's SSIM)."""
    channels = x.shape[1]
    size = window.shape[0]
    row = window.view(1, 1, 1, size).expand(channels, 1, 1, size)
    col = window.view(1, 1, size, 1).expand(channels, 1, size, 1)
    x = F_nn.conv2d(x, row, padding=(0, size // 2), groups=channels)
    return F_nn.conv2d(x, col, padding=(size // 2, 0), groups=channels)


def ssim(a: Tensor, b: Tensor, window: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> Tensor:
    """Mean structural similarity of two images (a scalar, 1 for equal images).

    a, b: (H, W, C) in [0, 1]. Local statistics come from a separable Gaussian window
    (``window`` pixels, standard deviation ``sigma``) with zero padding, as in 3DGS.
    """
    return ssim_map(a, b, window, sigma).mean()


def ssim_map(a: Tensor, b: Tensor, window: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> Tensor:
    """(H, W) structural similarity per pixel (mean over channels); see :func:`ssim`."""
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            f"ssim needs two (H, W, C) images, got {tuple(a.shape)}, {tuple(b.shape)}."
        )
    x = a.permute(2, 0, 1)[None]
    y = b.permute(2, 0, 1)[None]
    w = _gaussian_window(window, sigma, a.dtype, a.device)
    mu_x, mu_y = _blur(x, w), _blur(y, w)
    var_x = _blur(x * x, w) - mu_x * mu_x
    var_y = _blur(y * y, w) - mu_y * mu_y
    cov = _blur(x * y, w) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
    denominator = (mu_x * mu_x + mu_y * mu_y + _C1) * (var_x + var_y + _C2)
    return (numerator / denominator)[0].mean(dim=0)


def masked_ssim(a: Tensor, b: Tensor, mask: Tensor) -> float:
    """Mean structural similarity of (H, W, C) images ``a`` and ``b`` over the pixels where
    ``mask`` (H, W) is true, both blacked out outside it first (so that what lies outside the
    mask, such as a photo's background, does not count); 1 where they agree there, nan where
    the mask is empty."""
    mask = mask.bool()
    if not bool(mask.any()):
        return math.nan
    keep = mask[..., None].to(a.dtype)
    return float(ssim_map(a * keep, b * keep)[mask].mean())


def masked_psnr(a: Tensor, b: Tensor, mask: Tensor) -> float:
    """PSNR in dB of (H, W, C) images ``a`` against ``b`` over the pixels where ``mask``
    (H, W) is true; inf where they agree exactly, nan where the mask is empty."""
    mask = mask.bool()
    if not bool(mask.any()):
        return math.nan
    mse = float(((a - b) ** 2)[mask].mean())
    return math.inf if mse == 0 else -10.0 * math.log10(mse)
