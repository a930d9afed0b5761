"""Photos -> avatar: reading photos and perceiving the person in them.

Importing this package is cheap: MediaPipe and OpenCV are imported only when ``perceive``
runs, and every MediaPipe model lives only for that call.
"""

from .errors import (
    BackViewOnlyError,
    NoPersonError,
    PerceptionError,
    PersonCutOffError,
    PersonTooSmallError,
    PhotoError,
    SeveralPeopleError,
)
from .geometry import Box
from .images import Photo, load_photo
from .perception import (
    BODY_LANDMARK_NAMES,
    FEET,
    HEAD,
    BodyLandmarks,
    Perception,
    PointSet,
    facing,
    perceive,
    seen_from_behind,
)

__all__ = [
    "BODY_LANDMARK_NAMES",
    "BackViewOnlyError",
    "FEET",
    "HEAD",
    "BodyLandmarks",
    "Box",
    "NoPersonError",
    "Perception",
    "PerceptionError",
    "PersonCutOffError",
    "PersonTooSmallError",
    "Photo",
    "PhotoError",
    "PointSet",
    "SeveralPeopleError",
    "facing",
    "load_photo",
    "perceive",
    "seen_from_behind",
]
