"""Posed mesh vertices -> world-space Gaussians (binding, frames), the skinning that poses the
mesh (skinning), and the template avatar seeded on a body mesh (template)."""

from .binding import WorldGaussians, deform_gaussians
from .frames import TriangleFrames, triangle_frames

__all__ = ["WorldGaussians", "deform_gaussians", "TriangleFrames", "triangle_frames"]
