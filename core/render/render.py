"""The one entry point: ``render(scene, camera)`` -> passes, on a chosen backend."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from ..errors import LcaError
from .gsplat_backend import GsplatUnavailableError, render_gsplat
from .torch_backend import render_torch
from .types import Camera, RenderResult, SplatScene

BACKENDS = ("auto", "torch", "gsplat")


def gsplat_available() -> bool:
    """True where CUDA is available and gsplat imports; gsplat is never imported without CUDA.

    gsplat builds its CUDA kernels on its first render (minutes, once per machine), not here.
    """
    if not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
    except Exception:  # not installed, or a broken install (ImportError, AttributeError)
        return False
    return True


def _check_scene(scene: SplatScene) -> None:
    """Raise ValueError unless the scene's tensors share a float dtype and device, all finite."""
    dtype, device = scene.means.dtype, scene.means.device
    if not dtype.is_floating_point:
        raise ValueError(f"SplatScene.means must be a float tensor, got {dtype}.")
    tensors = {
        "means": scene.means,
        "quats": scene.quats,
        "scales": scene.scales,
        "opacities": scene.opacities,
        "sh": scene.sh,
    }
    for name, tensor in tensors.items():
        if tensor.dtype != dtype or tensor.device != device:
            raise ValueError(
                f"SplatScene.{name} is {tensor.dtype} on {tensor.device}; every tensor of the "
                f"scene must be {dtype} on {device}."
            )
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"SplatScene.{name} has NaN or infinite values; fix the avatar.")
    if scene.parts is not None:
        if scene.parts.dtype.is_floating_point or scene.parts.dtype == torch.bool:
            raise ValueError(
                f"SplatScene.parts must be an integer tensor, got {scene.parts.dtype}."
            )
        if scene.parts.device != device:
            raise ValueError(
                f"SplatScene.parts is on {scene.parts.device}; it must be on {device}."
            )


def _camera_like(camera: Camera, dtype: torch.dtype, device: torch.device) -> Camera:
    """The camera (checked when it was made) with its tensors in the scene's dtype and device."""
    return dataclasses.replace(
        camera,
        K=camera.K.to(dtype=dtype, device=device),
        world_to_camera=camera.world_to_camera.to(dtype=dtype, device=device),
    )


def render(
    scene: SplatScene,
    camera: Camera,
    *,
    background: Tensor | Sequence[float] = (0.0, 0.0, 0.0),
    backend: str = "auto",
    tile_size: int = 8,
) -> RenderResult:
    """Render the passes of ``scene`` seen by ``camera`` (shapes in core.render.types).

    background: (3,) sRGB-encoded colour behind the splats. backend: "torch" (the
    differentiable reference, any device), "gsplat" (CUDA; passes come back on the scene's
    device) or "auto" (gsplat where CUDA is available and gsplat imports, else torch; if
    gsplat's kernels cannot be loaded it says so in a warning and uses torch).
    tile_size: the torch backend's tile edge in pixels; its image does not depend on it, and 8
        is about twice as fast on a CPU as 16 (gsplat always uses its own 16).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}.")
    if tile_size < 1:
        raise ValueError(f"tile_size must be positive, got {tile_size}.")
    _check_scene(scene)
    dtype, device = scene.means.dtype, scene.means.device
    bg = torch.as_tensor(background, dtype=dtype, device=device)
    if tuple(bg.shape) != (3,) or not bool(torch.isfinite(bg).all()):
        raise ValueError(f"background must be 3 finite numbers, got {tuple(bg.shape)} values.")
    camera = _camera_like(camera, dtype, device)
    if backend == "gsplat":
        if not torch.cuda.is_available():
            raise LcaError("The gsplat backend needs an NVIDIA GPU with CUDA; use --backend torch.")
        return render_gsplat(scene, camera, bg)
    if backend == "auto" and gsplat_available():
        try:
            return render_gsplat(scene, camera, bg)
        except GsplatUnavailableError:
            warnings.warn(
                "gsplat's CUDA kernels could not be loaded, so this view was rendered with the "
                "torch backend (see docs/gpu.md).",
                RuntimeWarning,
                stacklevel=2,
            )
    return render_torch(scene, camera, bg, tile_size=tile_size)
