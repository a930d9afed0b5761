"""What the LCA_GAUSSIAN render engine writes into Blender, computed without bpy.

:func:`merge_scenes` puts the Gaussians of every avatar in a Blender scene into one
:class:`SplatScene` (so splats of different avatars sort and blend together), and
:func:`blender_passes` turns one :class:`RenderResult` into Blender's render passes: flat
float32 buffers, rows bottom-up, ready for ``RenderPass.rect.foreach_set``.

The passes (docs/conventions.md):

- Combined (RGBA): scene-linear and premultiplied. The splats are composited over black in
  sRGB encoding (as 3DGS does), then ``srgb_to_linear`` gives the RGB and the accumulated
  opacity is A; so Blender's alpha-over onto black shows exactly what ``lca render`` shows
  on black. With a ``background`` (scene-linear RGB, a film that is not transparent) the
  pass is that colour behind the splats, ``rgb + (1 - A) background``, with A = 1.
- Depth (Z): camera-space depth along the view axis (OpenCV z, Blender's -z), the splats'
  expected depth sum(w z) / A; ``BACKGROUND_DEPTH`` where nothing was hit, as Blender does.
- Normal (XYZ): world-space unit normal; 0 where nothing was hit.
- BodyPart (X): the part index (into the avatar's ``part_names``) of the splat with the
  largest blend weight, as a float; ``BACKGROUND_PART`` (-1) where nothing was hit.

Letters: N Gaussians, K spherical-harmonics coefficients, H x W pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .color import srgb_to_linear
from .types import RenderResult, SplatScene

BACKGROUND_DEPTH = 1.0e10
"""Depth where nothing was hit (Blender's Z pass uses 1e10 for the background)."""

BACKGROUND_PART = -1.0
"""BodyPart where nothing was hit."""

PASSES = (("Depth", 1, "Z", "VALUE"), ("Normal", 3, "XYZ", "VECTOR"), ("BodyPart", 1, "X", "VALUE"))
"""(name, channels, channel ids, kind) of the passes besides Combined, as Blender registers
them."""


@dataclass(frozen=True)
class BlenderPasses:
    """Flat float32 buffers of an H x W render, rows bottom-up (Blender's order).

    combined: (H * W * 4,) RGBA; depth: (H * W,); normal: (H * W * 3,); part: (H * W,).
    """

    width: int
    height: int
    combined: np.ndarray
    depth: np.ndarray
    normal: np.ndarray
    part: np.ndarray

    def by_name(self) -> dict[str, np.ndarray]:
        """Pass name (as Blender names it) -> its buffer."""
        return {
            "Combined": self.combined,
            "Depth": self.depth,
            "Normal": self.normal,
            "BodyPart": self.part,
        }


def combined_linear(result: RenderResult, background: Sequence[float] | None = None) -> Tensor:
    """(H, W, 4) the scene-linear, premultiplied Combined pass, rows top-down.

    ``result`` must be rendered over black (sRGB-encoded ``rgb`` then holds the splats'
    premultiplied colour). background: (3,) scene-linear RGB behind the splats, or None for a
    transparent film.
    """
    rgb = srgb_to_linear(result.rgb)
    alpha = result.alpha
    if background is not None:
        back = torch.as_tensor(background, dtype=rgb.dtype, device=rgb.device)
        rgb = rgb + (1.0 - alpha)[..., None] * back
        alpha = torch.ones_like(alpha)
    return torch.cat((rgb, alpha[..., None]), dim=-1)


def blender_passes(
    result: RenderResult, background: Sequence[float] | None = None
) -> BlenderPasses:
    """Blender's passes of ``result`` (rendered over black; see the module docstring)."""
    hit = result.alpha > 0
    depth = torch.where(hit, result.depth, torch.full_like(result.depth, BACKGROUND_DEPTH))
    part = torch.where(result.part >= 0, result.part.to(depth.dtype), BACKGROUND_PART)
    height, width = result.alpha.shape
    return BlenderPasses(
        width=width,
        height=height,
        combined=_bottom_up(combined_linear(result, background)),
        depth=_bottom_up(depth),
        normal=_bottom_up(result.normal),
        part=_bottom_up(part),
    )


def _bottom_up(image: Tensor) -> np.ndarray:
    """(H, W[, C]) rows top-down -> flat float32, rows bottom-up."""
    array = image.detach().flip(0).to(torch.float32).cpu().numpy()
    return np.ascontiguousarray(array).ravel()


def merge_scenes(scenes: Sequence[SplatScene]) -> SplatScene:
    """One scene holding the Gaussians of all ``scenes`` (at least one), in order.

    Spherical harmonics are padded with zeros to the highest degree among them; parts are
    kept (each an index into its own avatar's part names), or -1 for a scene without parts.
    """
    if not scenes:
        raise ValueError("merge_scenes needs at least one scene.")
    if len(scenes) == 1:
        return scenes[0]
    K = max(scene.sh.shape[1] for scene in scenes)

    def padded_sh(scene: SplatScene) -> Tensor:
        extra = K - scene.sh.shape[1]
        return torch.nn.functional.pad(scene.sh, (0, 0, 0, extra)) if extra else scene.sh

    def parts(scene: SplatScene) -> Tensor:
        if scene.parts is not None:
            return scene.parts
        return torch.full((scene.count,), -1, dtype=torch.int64, device=scene.means.device)

    return SplatScene(
        means=torch.cat([s.means for s in scenes]),
        quats=torch.cat([s.quats for s in scenes]),
        scales=torch.cat([s.scales for s in scenes]),
        opacities=torch.cat([s.opacities for s in scenes]),
        sh=torch.cat([padded_sh(s) for s in scenes]),
        parts=torch.cat([parts(s) for s in scenes]),
    )
