"""Named views: turn a ``--camera`` spec into an OpenCV camera that frames the avatar.

Specs: ``front``, ``back``, ``left``, ``right``, ``three-quarter``, ``orbit:AZ[:EL]``
(degrees; azimuth 0 is the front of a body facing -Y, counter-clockwise seen from above),
``face`` and ``hand.L``/``hand.R`` (close-ups framed on those body parts), or a JSON file
``{"K": 3x3, "world_to_camera": 4x4, "width": W, "height": H}`` (OpenCV convention).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from ..errors import LcaError
from .camera import frame_points
from .types import Camera

NAMED_AZIMUTHS = {"front": 0.0, "three-quarter": 35.0, "left": 90.0, "back": 180.0, "right": -90.0}
CLOSE_UPS = {"face": ("head", "neck", "eyes"), "hand.L": ("hand.L",), "hand.R": ("hand.R",)}
"""Close-up view -> the body parts it frames."""


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H)."""
    width, sep, height = text.lower().partition("x")
    try:
        w, h = int(width), int(height)
    except ValueError:
        w = h = 0
    if not sep or w < 1 or h < 1 or w > 16384 or h > 16384:
        raise LcaError(f"Image size '{text}' is not WIDTHxHEIGHT (for example 512x512).")
    return w, h


def camera_for(
    spec: str,
    means: Tensor,
    parts: Tensor,
    part_names: tuple[str, ...],
    width: int,
    height: int,
    elevation: float = 5.0,
) -> Camera:
    """A camera for ``spec`` framing the Gaussian centres ``means`` (N, 3).

    parts: (N,) body-part index of each Gaussian, for close-ups.
    """
    if spec.endswith(".json"):
        return camera_from_json(Path(spec), width, height)
    if spec in NAMED_AZIMUTHS:
        return frame_points(means, NAMED_AZIMUTHS[spec], elevation, width, height)
    if spec.startswith("orbit:"):
        fields = spec.split(":")[1:]
        try:
            azimuth = float(fields[0])
            elevation = float(fields[1]) if len(fields) > 1 else elevation
        except (ValueError, IndexError):
            raise LcaError(
                f"Camera '{spec}' is not orbit:AZIMUTH[:ELEVATION] in degrees."
            ) from None
        return frame_points(means, azimuth, elevation, width, height)
    if spec in CLOSE_UPS:
        wanted = [part_names.index(p) for p in CLOSE_UPS[spec] if p in part_names]
        mask = torch.isin(parts, torch.tensor(wanted, dtype=parts.dtype))
        if not mask.any():
            raise LcaError(f"Camera '{spec}' needs Gaussians on the {spec}; this avatar has none.")
        return frame_points(means[mask], 0.0, elevation, width, height, margin=1.25)
    raise LcaError(
        f"Unknown camera '{spec}'; use front, back, left, right, three-quarter, "
        "orbit:AZ[:EL], face, hand.L, hand.R or a camera .json file."
    )


def camera_from_json(path: Path, width: int, height: int) -> Camera:
    """A camera from a JSON file; its own width/height win over the ``--size`` given."""
    if not path.is_file():
        raise LcaError(f"Camera file '{path}' does not exist; give a camera JSON or a view name.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        K = torch.tensor(data["K"], dtype=torch.float32)
        world_to_camera = torch.tensor(data["world_to_camera"], dtype=torch.float32)
        camera = Camera(
            K=K,
            world_to_camera=world_to_camera,
            width=int(data.get("width", width)),
            height=int(data.get("height", height)),
        )
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise LcaError(
            f"Camera file '{path}' is not a valid camera ({err}); it needs 'K' (3x3) and "
            "'world_to_camera' (4x4, OpenCV)."
        ) from None
    if not (torch.isfinite(K).all() and torch.isfinite(world_to_camera).all()):
        raise LcaError(f"Camera file '{path}' has non-finite numbers; fix the file.")
    return camera
