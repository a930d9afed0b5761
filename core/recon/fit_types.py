"""What body fitting hands to appearance fitting: the contract between the two stages.

Several photos of one person share one body shape (and appearance); each photo has its own
pose, expression and camera.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..body.poses import Pose
from ..render.types import Camera
from .perception import Perception


@dataclass(frozen=True)
class FittedView:
    """One photo with the body pose and camera fitted to it.

    perception: the photo and what was seen in it (landmarks, mask).
    pose: rotations (J, 3) radians, expression (E,), translation (3,), in the BodyModel
        convention (core.body.model), for the shared shape of the BodyFit.
    camera: the photo's OpenCV camera (its width and height are the photo's).
    """

    perception: Perception
    pose: Pose
    camera: Camera


@dataclass(frozen=True)
class BodyFit:
    """shape: (S,) body shape shared by every view; views: one FittedView per photo;
    loss: the final fitting loss (for reporting)."""

    shape: Tensor
    views: tuple[FittedView, ...]
    loss: float
