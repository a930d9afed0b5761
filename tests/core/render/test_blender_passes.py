"""core/render/blender_passes.py: the passes the render engine writes, without Blender."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.render.blender_passes import (
    BACKGROUND_DEPTH,
    BACKGROUND_PART,
    blender_passes,
    combined_linear,
    merge_scenes,
)
from core.render.color import srgb_to_linear
from core.render.types import RenderResult, SplatScene


def result_2x3() -> RenderResult:
    """A 2 x 3 render: row 0 (top) hit, row 1 (bottom) half hit."""
    alpha = torch.tensor([[1.0, 0.5, 0.25], [0.0, 0.0, 0.8]])
    hit = alpha > 0
    return RenderResult(
        rgb=torch.rand(2, 3, 3) * alpha[..., None],
        alpha=alpha,
        depth=torch.where(hit, torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]), 0.0),
        normal=torch.where(hit[..., None], torch.tensor([0.0, 0.0, 1.0]), 0.0),
        part=torch.where(hit, torch.tensor([[0, 1, 2], [-1, -1, 5]]), -1),
    )


def top_down(flat: np.ndarray, height: int, width: int) -> np.ndarray:
    """A flat bottom-up buffer back to (H, W, C) rows top-down."""
    return flat.reshape(height, width, -1)[::-1]


def test_passes_are_flat_float32_and_bottom_up():
    result = result_2x3()
    passes = blender_passes(result)
    assert (passes.width, passes.height) == (3, 2)
    sizes = {"Combined": 24, "Depth": 6, "Normal": 18, "BodyPart": 6}
    for name, buffer in passes.by_name().items():
        assert buffer.dtype == np.float32 and buffer.shape == (sizes[name],), name
        assert buffer.flags.c_contiguous
    depth = top_down(passes.depth, 2, 3)[..., 0]
    np.testing.assert_array_equal(depth[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(depth[1], [BACKGROUND_DEPTH, BACKGROUND_DEPTH, 6.0])
    part = top_down(passes.part, 2, 3)[..., 0]
    np.testing.assert_array_equal(part, [[0, 1, 2], [BACKGROUND_PART, BACKGROUND_PART, 5]])
    np.testing.assert_array_equal(top_down(passes.normal, 2, 3), result.normal.numpy())


def test_combined_is_scene_linear_premultiplied_over_black():
    result = result_2x3()
    rgba = top_down(blender_passes(result).combined, 2, 3)
    np.testing.assert_allclose(rgba[..., :3], srgb_to_linear(result.rgb).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(rgba[..., 3], result.alpha.numpy())
    assert np.all(rgba[..., :3] <= rgba[..., 3:] + 1e-6)  # premultiplied: colour <= alpha


def test_an_opaque_film_puts_the_background_behind():
    result = result_2x3()
    background = (0.2, 0.1, 0.05)
    rgba = combined_linear(result, background)
    expected = srgb_to_linear(result.rgb) + (1 - result.alpha)[..., None] * torch.tensor(background)
    torch.testing.assert_close(rgba[..., :3], expected)
    assert bool((rgba[..., 3] == 1).all())
    torch.testing.assert_close(rgba[1, 0, :3], torch.tensor(background))  # nothing hit


def scene(count: int, K: int, parts: bool = True) -> SplatScene:
    g = torch.Generator().manual_seed(count * 10 + K)
    return SplatScene(
        means=torch.randn(count, 3, generator=g),
        quats=torch.nn.functional.normalize(torch.randn(count, 4, generator=g), dim=-1),
        scales=torch.rand(count, 3, generator=g),
        opacities=torch.rand(count, generator=g),
        sh=torch.randn(count, K, 3, generator=g),
        parts=torch.arange(count) if parts else None,
    )


def test_merge_pads_sh_and_keeps_parts():
    a, b, c = scene(3, 1), scene(2, 4), scene(1, 1, parts=False)
    merged = merge_scenes([a, b, c])
    assert merged.count == 6 and merged.sh.shape == (6, 4, 3)
    torch.testing.assert_close(merged.sh[:3, :1], a.sh)
    assert bool((merged.sh[:3, 1:] == 0).all()) and bool((merged.sh[5, 1:] == 0).all())
    torch.testing.assert_close(merged.sh[3:5], b.sh)
    assert merged.parts.tolist() == [0, 1, 2, 0, 1, -1]
    torch.testing.assert_close(merged.means, torch.cat((a.means, b.means, c.means)))
    assert merge_scenes([a]) is a
    with pytest.raises(ValueError, match="at least one"):
        merge_scenes([])
