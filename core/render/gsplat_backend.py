"""The gsplat backend: the passes of :func:`render_torch` from gsplat's CUDA rasteriser.

Letters: N Gaussians, P distinct body parts in the scene, D = 6 + P blended features,
H x W pixels.

One ``gsplat.rasterization`` call (gsplat 1.5.3) per view, with the torch reference's
conventions: pinhole camera from K and ``world_to_camera`` (OpenCV), quaternions wxyz,
``eps2d = 0.3``, the camera's near/far, ``packed=False``, ``rasterize_mode="classic"``,
``render_mode="RGB+ED"``. gsplat works in float32; the passes come back in the scene's dtype
and on the scene's device (a CPU scene is rendered on the GPU and its passes copied back).

The Gaussians' features are blended in that one call, with ``sh_degree=None``:
- rgb (3): colours from SH by :func:`core.render.sh.sh_colors`, the torch reference's own
  function (gsplat's constants and signs, ``max(SH + 0.5, 0)``); gsplat's built-in SH path
  could not carry the other features through the same call. Composited over the background
  here, as in the torch reference.
- normal (3): :func:`core.render.torch_backend._normals`, the axis of the smallest scale
  flipped to face the camera; blended, then renormalised here.
- part (P): a one-hot row per Gaussian over the part labels present in the scene, so each
  pixel receives the summed blend weight of every part; the part pass is the part with the
  largest sum (-1 where nothing was hit). See :func:`part_pass` for how this relates to the
  torch reference.
- depth: gsplat's "ED" channel, ``sum(w z) / alpha`` with z the camera-space depth; 0 where
  alpha is 0.

Out of GPU memory (``torch.cuda.OutOfMemoryError`` during the forward pass): the view is
rendered by the torch backend on the CPU instead, with one warning sentence.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..errors import LcaError
from ..quaternion import quat_to_rotmat
from .sh import sh_colors
from .torch_backend import EPS2D, _normals, render_torch
from .types import Camera, RenderResult, SplatScene

GSPLAT_TILE = 16
"""gsplat's tile edge in pixels (its kernels' default); the image does not depend on it."""

Rasterize = Callable[..., tuple[Tensor, Tensor, dict]]
"""A function with ``gsplat.rasterization``'s keyword arguments and return value."""


class GsplatUnavailableError(LcaError):
    """gsplat is missing, or its CUDA kernels could not be built on this machine."""


def load_rasterization() -> Rasterize:
    """``gsplat.rasterization`` with its CUDA kernels loaded (built on first use; minutes).

    Call only where ``torch.cuda.is_available()``: gsplat's import fails unhelpfully without it.
    """
    message = (
        "The gsplat backend could not load gsplat's CUDA kernels (install gsplat==1.5.3 and "
        "make nvcc and ninja available, see docs/gpu.md); use --backend torch."
    )
    try:
        import gsplat
        from gsplat.cuda._backend import _C  # builds the kernels on first use
    except Exception as err:  # ImportError, or the build's RuntimeError
        raise GsplatUnavailableError(message) from err
    if _C is None:  # gsplat found no CUDA toolkit and disabled itself
        raise GsplatUnavailableError(message)
    return gsplat.rasterization


def render_gsplat(scene: SplatScene, camera: Camera, background: Tensor) -> RenderResult:
    """Render the passes of one view (see :class:`RenderResult`) with gsplat, on CUDA.

    scene: N Gaussians on any device; camera: its tensors in the scene's dtype and device;
    background: (3,) sRGB-encoded. Gradients reach means, quats, scales, opacities and sh.
    """
    rasterize = load_rasterization()
    device = scene.means.device if scene.means.is_cuda else torch.device("cuda")
    return render_with(rasterize, scene, camera, background, device)


def render_with(
    rasterize: Rasterize,
    scene: SplatScene,
    camera: Camera,
    background: Tensor,
    device: torch.device,
) -> RenderResult:
    """The gsplat backend around ``rasterize`` (``gsplat.rasterization``, or a stand-in in
    tests), run on ``device``; out of CUDA memory, the torch backend on the CPU instead.

    Passes come back in the scene's dtype and on the scene's device.
    """
    try:
        return _render(rasterize, scene, camera, background, device)
    except torch.cuda.OutOfMemoryError:
        pass  # fall back outside the handler, so that the failed call's tensors are freed
    return _torch_on_cpu(scene, camera, background)


def _render(
    rasterize: Rasterize,
    scene: SplatScene,
    camera: Camera,
    background: Tensor,
    device: torch.device,
) -> RenderResult:
    work = _scene_on(scene, device, torch.float32)
    view = _camera_on(camera, device, torch.float32)
    features, labels = blend_features(work, view.position)
    colors, alphas, _ = rasterize(
        means=work.means,
        quats=work.quats,
        scales=work.scales,
        opacities=work.opacities,
        colors=features,
        viewmats=view.world_to_camera[None],
        Ks=view.K[None],
        width=view.width,
        height=view.height,
        near_plane=view.near,
        far_plane=view.far,
        eps2d=EPS2D,
        sh_degree=None,
        packed=False,
        tile_size=GSPLAT_TILE,
        render_mode="RGB+ED",
        rasterize_mode="classic",
    )
    bg = background.to(device=device, dtype=torch.float32)
    result = passes(colors[0], alphas[0, ..., 0], bg, labels)
    return _result_on(result, scene.means.device, scene.means.dtype)


def blend_features(scene: SplatScene, camera_position: Tensor) -> tuple[Tensor, Tensor | None]:
    """(N, D) per-Gaussian features to blend: rgb (3), world normal facing the camera (3),
    one-hot part (P); and (P,) int64 part labels, or None (D = 6) when the scene has no parts.

    camera_position: (3,) world camera centre in the scene's dtype and device.
    """
    rotations = quat_to_rotmat(scene.quats)
    colors = sh_colors(scene.sh, scene.means, camera_position)
    normals = _normals(rotations, scene.scales, scene.means, camera_position)
    if scene.parts is None:
        return torch.cat((colors, normals), dim=-1), None
    labels, which = torch.unique(scene.parts.long(), return_inverse=True)
    one_hot = F_nn.one_hot(which, len(labels)).to(colors.dtype)
    return torch.cat((colors, normals, one_hot), dim=-1), labels


def passes(
    colors: Tensor, alpha: Tensor, background: Tensor, labels: Tensor | None
) -> RenderResult:
    """The passes from gsplat's output for one view.

    colors: (H, W, D + 1) blended features then the expected depth (gsplat's "RGB+ED");
    alpha: (H, W); background: (3,); labels: (P,) part labels or None.
    """
    hit = alpha > 0
    rgb = colors[..., :3] + (1.0 - alpha)[..., None] * background
    depth = torch.where(hit, colors[..., -1], 0.0)
    normal_sum = colors[..., 3:6]
    square = (normal_sum * normal_sum).sum(-1, keepdim=True)
    has_normal = (square > 0) & hit[..., None]
    normal = torch.where(
        has_normal, normal_sum * torch.rsqrt(torch.where(has_normal, square, 1.0)), 0.0
    )
    return RenderResult(
        rgb=rgb, alpha=alpha, depth=depth, normal=normal, part=part_pass(colors, hit, labels)
    )


@torch.no_grad()
def part_pass(colors: Tensor, hit: Tensor, labels: Tensor | None) -> Tensor:
    """(H, W) int64: the label of the part with the largest summed blend weight; -1 where
    nothing was hit or the scene has no parts.

    colors: (H, W, 6 + P + 1) as in :func:`passes`; hit: (H, W) bool; labels: (P,) or None.

    The torch reference takes the part of the single splat with the largest weight. The two
    agree wherever that splat holds more than half of the pixel's alpha (its part's sum is
    then above alpha / 2 and every other part's below), which is most of a body's surface,
    where the front splats are nearly opaque. They can differ where no splat dominates: soft
    part boundaries and semi-transparent overlaps, where several splats of one part together
    outweigh a single heavier splat of another (the summed choice is the steadier label there),
    and on near-ties, which float32 rounding can flip.
    """
    if labels is None:
        return torch.full(hit.shape, -1, dtype=torch.int64, device=hit.device)
    sums = colors[..., 6 : 6 + len(labels)]
    best_sum, best = sums.max(dim=-1)
    return torch.where(hit & (best_sum > 0), labels[best], -1)


def _torch_on_cpu(scene: SplatScene, camera: Camera, background: Tensor) -> RenderResult:
    """The torch backend's passes on the CPU, after saying so; on the scene's device."""
    warnings.warn(
        f"CUDA ran out of memory rendering {scene.count:,} Gaussians at "
        f"{camera.width}x{camera.height} with gsplat, so this view was rendered with the "
        "torch backend on the CPU instead (slower).",
        RuntimeWarning,
        stacklevel=3,
    )
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    cpu, dtype = torch.device("cpu"), scene.means.dtype
    result = render_torch(
        _scene_on(scene, cpu, dtype), _camera_on(camera, cpu, dtype), background.to(cpu, dtype)
    )
    return _result_on(result, scene.means.device, dtype)


def _scene_on(scene: SplatScene, device: torch.device, dtype: torch.dtype) -> SplatScene:
    floats = ("means", "quats", "scales", "opacities", "sh")
    moved = {k: getattr(scene, k).to(device=device, dtype=dtype) for k in floats}
    parts = None if scene.parts is None else scene.parts.to(device)
    return SplatScene(**moved, parts=parts)


def _camera_on(camera: Camera, device: torch.device, dtype: torch.dtype) -> Camera:
    return replace(
        camera,
        K=camera.K.to(device=device, dtype=dtype),
        world_to_camera=camera.world_to_camera.to(device=device, dtype=dtype),
    )


def _result_on(result: RenderResult, device: torch.device, dtype: torch.dtype) -> RenderResult:
    def floats(t: Tensor) -> Tensor:
        return t.to(device=device, dtype=dtype)

    return RenderResult(
        rgb=floats(result.rgb),
        alpha=floats(result.alpha),
        depth=floats(result.depth),
        normal=floats(result.normal),
        part=result.part.to(device),
    )
