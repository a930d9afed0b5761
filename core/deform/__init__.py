"""Posed mesh vertices -> world-space Gaussians."""

from .binding import WorldGaussians, deform_gaussians
from .frames import TriangleFrames, triangle_frames

__all__ = ["WorldGaussians", "deform_gaussians", "TriangleFrames", "triangle_frames"]
