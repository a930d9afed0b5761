"""Render world-space Gaussians to passes: one ``render`` contract, pluggable backends.

Nothing is computed at import time.
"""

from .camera import frame_points, intrinsics, look_at, orbit_camera
from .color import linear_to_srgb, srgb_to_linear
from .render import render
from .types import Camera, RenderResult, SplatScene

__all__ = [
    "Camera",
    "RenderResult",
    "SplatScene",
    "frame_points",
    "intrinsics",
    "linear_to_srgb",
    "look_at",
    "orbit_camera",
    "render",
    "srgb_to_linear",
]
