"""Masked image scores (core.recon.losses): SSIM and PSNR inside a person mask."""

import math

import torch

from core.recon.losses import masked_psnr, masked_ssim


def _images():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(24, 20, 3, generator=g)
    mask = torch.zeros(24, 20, dtype=torch.bool)
    mask[4:20, 5:15] = True
    return a, mask, g


def test_ssim_is_one_for_equal_images_and_in_0_1_otherwise():
    a, mask, g = _images()
    assert masked_ssim(a, a.clone(), mask) == 1.0
    b = (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    score = masked_ssim(a, b, mask)
    assert 0.0 <= score < 0.95
    assert masked_ssim(a, (a + 0.02).clamp(0, 1), mask) > score


def test_only_the_inside_of_the_mask_counts():
    a, mask, g = _images()
    b = a.clone()
    b[~mask] = torch.rand(int((~mask).sum()), 3, generator=g)  # another background
    assert masked_ssim(a, b, mask) == 1.0
    assert masked_psnr(a, b, mask) == math.inf
    b[mask] = 1 - b[mask]
    assert masked_ssim(a, b, mask) < 0.5


def test_an_empty_mask_scores_nan():
    a, mask, _ = _images()
    assert math.isnan(masked_ssim(a, a, torch.zeros_like(mask)))
