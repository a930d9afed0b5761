"""Named views: turn a ``--camera`` spec into an OpenCV camera that frames the avatar.

Specs: ``front``, ``back``, ``left``, ``right``, ``three-quarter``, ``orbit:AZ[:EL]``
(degrees; azimuth 0 is the front of a body facing -Y, counter-clockwise seen from above),
``face`` and ``hand.L``/``hand.R`` (close-ups framed on those body parts), or a JSON file
``{"K": 3x3, "world_to_camera": 4x4, "width": W, "height": H}`` (OpenCV convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..errors import PATH_LIMIT, LcaError, quoted
from ..fileio import read_json
from .camera import frame_points
from .types import MAX_IMAGE_SIDE, Camera

NAMED_AZIMUTHS = {"front": 0.0, "three-quarter": 35.0, "left": 90.0, "back": 180.0, "right": -90.0}
CLOSE_UPS = {
    "face": (("head", "neck", "eyes"), 0.0),
    "hand.L": (("hand.L",), 90.0),
    "hand.R": (("hand.R",), -90.0),
}
"""Close-up view -> (the body parts it frames, its azimuth). A hand is seen from its own
side of the body, where the back of the hand faces at rest (from the front, a hand hanging
beside the thigh shows its thumb edge, and the fingers hide behind each other)."""


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H)."""
    width, sep, height = text.lower().partition("x")
    try:
        w, h = int(width), int(height)
    except ValueError:
        w = h = 0
    if not sep or w < 1 or h < 1 or w > MAX_IMAGE_SIDE or h > MAX_IMAGE_SIDE:
        raise LcaError(
            f"Image size {quoted(text)} is not WIDTHxHEIGHT with sides of 1 to "
            f"{MAX_IMAGE_SIDE} pixels (for example 512x512)."
        )
    return w, h


@dataclass(frozen=True)
class ViewSpec:
    """A parsed ``--camera`` spec, checked before anything is loaded or written.

    name: the spec as given; azimuth, elevation: degrees of a framed view; parts: the body
    parts a close-up frames (empty for a full-body view); camera: the camera of a JSON file
    (then the other fields are unused).
    """

    name: str
    azimuth: float = 0.0
    elevation: float = 5.0
    parts: tuple[str, ...] = ()
    camera: Camera | None = None


def parse_view(spec: str, width: int, height: int, elevation: float = 5.0) -> ViewSpec:
    """The :class:`ViewSpec` of a ``--camera`` spec (a camera JSON is read and checked
    here); LcaError (one sentence) for anything else."""
    if spec.endswith(".json"):
        return ViewSpec(spec, camera=camera_from_json(Path(spec), width, height))
    if spec in NAMED_AZIMUTHS:
        return ViewSpec(spec, NAMED_AZIMUTHS[spec], elevation)
    if spec.startswith("orbit:"):
        fields = spec.split(":")[1:]
        try:
            azimuth = float(fields[0])
            elevation = float(fields[1]) if len(fields) > 1 else elevation
        except (ValueError, IndexError):
            azimuth = elevation = math.nan
        if not (len(fields) <= 2 and math.isfinite(azimuth) and math.isfinite(elevation)):
            raise LcaError(f"Camera {quoted(spec)} is not orbit:AZIMUTH[:ELEVATION] in degrees.")
        if abs(elevation) >= 90:
            raise LcaError(
                f"Camera {quoted(spec)} has an elevation of 90 degrees or more; use one "
                "between -90 and 90."
            )
        return ViewSpec(spec, azimuth, elevation)
    if spec in CLOSE_UPS:
        parts, azimuth = CLOSE_UPS[spec]
        return ViewSpec(spec, azimuth, elevation, parts=parts)
    raise LcaError(
        f"Unknown camera {quoted(spec)}; use front, back, left, right, three-quarter, "
        "orbit:AZ[:EL], face, hand.L, hand.R or a camera .json file."
    )


def camera_for(
    spec: str | ViewSpec,
    means: Tensor,
    parts: Tensor,
    part_names: tuple[str, ...],
    width: int,
    height: int,
    elevation: float = 5.0,
) -> Camera:
    """A camera for ``spec`` (a ``--camera`` spec, or one parsed by :func:`parse_view`)
    framing the Gaussian centres ``means`` (N, 3).

    parts: (N,) body-part index of each Gaussian, for close-ups.
    """
    view = spec if isinstance(spec, ViewSpec) else parse_view(spec, width, height, elevation)
    if view.camera is not None:
        return view.camera
    if view.parts:
        wanted = [part_names.index(p) for p in view.parts if p in part_names]
        mask = torch.isin(parts, torch.tensor(wanted, dtype=parts.dtype))
        if not mask.any():
            raise LcaError(
                f"Camera {quoted(view.name)} needs Gaussians on the {view.name}; this avatar "
                "has none."
            )
        return frame_points(means[mask], view.azimuth, view.elevation, width, height, margin=1.25)
    return frame_points(means, view.azimuth, view.elevation, width, height)


def camera_from_json(path: Path, width: int, height: int) -> Camera:
    """A camera from a JSON file; its own width/height win over the ``--size`` given. Any
    file that is not a valid camera (see :class:`Camera`'s checks: positive focal lengths,
    a rigid world_to_camera, at most MAX_IMAGE_SIDE pixels a side) raises LcaError."""
    shown = f"Camera file {quoted(path, PATH_LIMIT)}"
    data = read_json(path, "Camera file")
    if not isinstance(data, dict):
        raise LcaError(f"{shown} must be a JSON object with 'K' and 'world_to_camera'.")
    try:
        K = _matrix(data, "K", 3)
        world_to_camera = _matrix(data, "world_to_camera", 4)
        size = [_pixels(data, "width", width), _pixels(data, "height", height)]
        return Camera(K=K, world_to_camera=world_to_camera, width=size[0], height=size[1])
    except (KeyError, ValueError) as err:
        reason = err.args[0] if err.args else type(err).__name__
        raise LcaError(
            f"{shown} is not a valid camera ({quoted(reason, 160)}); it needs 'K' (3x3, "
            f"positive focal lengths), 'world_to_camera' (4x4, rigid, OpenCV) and at most "
            f"{MAX_IMAGE_SIDE} pixels a side."
        ) from None


def _matrix(data: dict, key: str, n: int) -> Tensor:
    """data[key] as an (n, n) float32 tensor of finite numbers, or ValueError/KeyError."""
    rows = data[key]
    if not (isinstance(rows, list) and len(rows) == n):
        raise ValueError(f"{key} must be {n}x{n} numbers")
    for row in rows:
        if not (isinstance(row, list) and len(row) == n):
            raise ValueError(f"{key} must be {n}x{n} numbers")
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{key} must be {n}x{n} numbers")
            if abs(v) > 1e30 or (isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"{key} has non-finite or huge numbers")
    return torch.tensor(rows, dtype=torch.float32)


def _pixels(data: dict, key: str, default: int) -> int:
    """data[key] (or ``default``) as a whole number of pixels, or ValueError."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a whole number of pixels")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"{key} must be a whole number of pixels")
    if not 1 <= value <= MAX_IMAGE_SIDE:  # exact for integers of any size
        raise ValueError(f"{key} must be 1 to {MAX_IMAGE_SIDE} pixels")
    return int(value)
