"""Camera helpers: intrinsics, look-at, orbits around a body, framing a point set, and
projecting points to pixels.

Cameras follow OpenCV (x right, y down, z forward); the world is Z-up, metres, and a body
faces -Y (so the camera of azimuth 0 sits on the -Y side looking towards +Y). Letters: P points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .types import Camera

_UP_AXES = {
    # up vector, and the direction from the target to the camera of azimuth 0 (the front)
    "Z": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),
    "Y": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
}


def intrinsics(
    width: int,
    height: int,
    *,
    fov_y_deg: float | None = None,
    focal_px: float | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(3, 3) pinhole intrinsics with square pixels and the principal point at the centre.

    Give exactly one of ``fov_y_deg`` (vertical field of view, degrees) or ``focal_px``.
    """
    if (fov_y_deg is None) == (focal_px is None):
        raise ValueError("Give exactly one of fov_y_deg or focal_px.")
    if fov_y_deg is not None:
        if not 0.0 < fov_y_deg < 180.0:
            raise ValueError(f"fov_y_deg must be in (0, 180), got {fov_y_deg}.")
        focal_px = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
    if focal_px is None or not focal_px > 0:
        raise ValueError(f"focal_px must be positive, got {focal_px}.")
    return torch.tensor(
        [[focal_px, 0.0, width / 2], [0.0, focal_px, height / 2], [0.0, 0.0, 1.0]], dtype=dtype
    )


def look_at(
    eye: Tensor | Sequence[float],
    target: Tensor | Sequence[float],
    up: Tensor | Sequence[float] = (0.0, 0.0, 1.0),
    *,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(4, 4) OpenCV world -> camera transform of a camera at ``eye`` looking at ``target``.

    eye, target, up: (3,) world vectors; ``up`` points up in the image (-y of the camera).
    """
    eye_t, target_t, up_t = (torch.as_tensor(v, dtype=torch.float64) for v in (eye, target, up))
    forward = target_t - eye_t
    if forward.norm() == 0:
        raise ValueError("look_at needs an eye and a target that differ.")
    forward = forward / forward.norm()
    right = torch.linalg.cross(forward, up_t)
    if right.norm() < 1e-9:
        raise ValueError("look_at cannot look along its up vector; give another up vector.")
    right = right / right.norm()
    down = torch.linalg.cross(forward, right)
    rotation = torch.stack((right, down, forward))  # rows: camera axes in world coordinates
    world_to_camera = torch.eye(4, dtype=torch.float64)
    world_to_camera[:3, :3] = rotation
    world_to_camera[:3, 3] = -rotation @ eye_t
    return world_to_camera.to(dtype)


def _orbit_direction(azimuth_deg: float, elevation_deg: float, up: str) -> tuple[Tensor, Tensor]:
    """Unit direction from the target to the camera, and the up vector, both (3,) float64."""
    if up not in _UP_AXES:
        raise ValueError(f"up must be one of {sorted(_UP_AXES)}, got {up!r}.")
    if not -90.0 < elevation_deg < 90.0:
        raise ValueError(f"elevation_deg must be in (-90, 90), got {elevation_deg}.")
    up_v, front_v = (torch.tensor(v, dtype=torch.float64) for v in _UP_AXES[up])
    side = torch.linalg.cross(up_v, front_v)  # where azimuth +90 puts the camera (CCW from above)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    horizontal = math.cos(az) * front_v + math.sin(az) * side
    return math.cos(el) * horizontal + math.sin(el) * up_v, up_v


def orbit_camera(
    target: Tensor | Sequence[float],
    distance: float,
    azimuth_deg: float,
    elevation_deg: float,
    width: int,
    height: int,
    fov_y_deg: float = 30.0,
    up: str = "Z",
    *,
    dtype: torch.dtype = torch.float32,
) -> Camera:
    """A camera ``distance`` metres from ``target``, looking at it.

    Azimuth 0 is the front of a body facing -Y (camera on the -Y side); increasing azimuth
    moves the camera counter-clockwise seen from above. Elevation > 0 looks down at the target.
    ``up`` is the world up axis, "Z" (default) or "Y" (a Y-up body faces +Z).
    """
    if not distance > 0:
        raise ValueError(f"distance must be positive, got {distance}.")
    direction, up_v = _orbit_direction(azimuth_deg, elevation_deg, up)
    target_t = torch.as_tensor(target, dtype=torch.float64)
    eye = target_t + distance * direction
    return Camera(
        K=intrinsics(width, height, fov_y_deg=fov_y_deg, dtype=dtype),
        world_to_camera=look_at(eye, target_t, up_v, dtype=dtype),
        width=width,
        height=height,
    )


def frame_points(
    points: Tensor,
    azimuth_deg: float,
    elevation_deg: float,
    width: int,
    height: int,
    fov_y_deg: float = 30.0,
    margin: float = 1.1,
    up: str = "Z",
) -> Camera:
    """An orbit camera around the points' bounding-box centre that just fits all of them.

    points: (P, 3) world positions. The distance is the smallest at which every point
    projects inside the image shrunk by ``margin`` (>= 1) about its centre, so the points fill
    about 1 / margin of the image in the tighter direction. The camera's dtype is the points'.
    """
    if points.ndim != 2 or points.shape[1] != 3 or points.shape[0] == 0:
        raise ValueError(f"points must be (P, 3) with P >= 1, got {tuple(points.shape)}.")
    if not margin >= 1.0:
        raise ValueError(f"margin must be at least 1, got {margin}.")
    pts = points.detach().to(torch.float64)
    target = 0.5 * (pts.min(0).values + pts.max(0).values)
    probe = orbit_camera(
        target, 1.0, azimuth_deg, elevation_deg, width, height, fov_y_deg, up, dtype=torch.float64
    )
    # Points relative to the target, in camera axes; the camera sits at -distance along z.
    local = (pts - target) @ probe.world_to_camera[:3, :3].T
    fx, fy = float(probe.K[0, 0]), float(probe.K[1, 1])
    tan_x = 0.5 * width / fx / margin
    tan_y = 0.5 * height / fy / margin
    # |x| / (distance + z) <= tan_x  <=>  distance >= |x| / tan_x - z (likewise for y).
    need = torch.maximum(local[:, 0].abs() / tan_x, local[:, 1].abs() / tan_y) - local[:, 2]
    radius = float((pts - target).norm(dim=-1).max())
    near = probe.near
    distance = max(float(need.max()), float((near - local[:, 2]).max()) + near, 1e-3 * radius, near)
    return orbit_camera(
        target,
        distance,
        azimuth_deg,
        elevation_deg,
        width,
        height,
        fov_y_deg,
        up,
        dtype=points.dtype,
    )


def project_points(
    camera: Camera, points: Tensor, min_depth: float = 1e-9
) -> tuple[Tensor, Tensor]:
    """Pixels (P, 2) and camera depths (P,) of world points (P, 3) seen by ``camera``.

    local = R p + t (``world_to_camera``), then :func:`camera_to_pixels`; pixel centres sit
    at integer + 0.5. The camera is brought to the points' dtype and device. Points at depth
    below ``min_depth`` (behind the camera) are divided by ``min_depth``: check the depth.
    """
    w2c = camera.world_to_camera.to(points)
    local = points @ w2c[:3, :3].T + w2c[:3, 3]
    return camera_to_pixels(camera.K.to(points), local, min_depth), local[..., 2]


def camera_to_pixels(K: Tensor, local: Tensor, min_depth: float = 1e-9) -> Tensor:
    """Camera-space points (..., P, 3) -> pixels (..., P, 2) through intrinsics K (..., 3, 3):
    K p divided by its third entry (the depth), clamped to at least ``min_depth``."""
    uv = local @ K.transpose(-1, -2)
    return uv[..., :2] / uv[..., 2:3].clamp_min(min_depth)
