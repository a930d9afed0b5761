"""Typed inputs and outputs of :func:`core.render.render`.

Letters: N Gaussians, H x W pixels, K spherical-harmonics coefficients per channel
(1, 4, 9 or 16 for degree 0..3). Cameras follow OpenCV (x right, y down, z forward).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import Tensor

from .sh import SH_COUNTS

MAX_IMAGE_SIDE = 16384
"""Widest and tallest image a camera renders, in pixels (``--size`` and camera files alike)."""

RIGID_TOLERANCE = 1e-3
"""How far world_to_camera's rotation may be from orthonormal (float32 cameras built from
products of rotations drift by about 1e-6)."""


def check_clip_range(
    near: float, far: float, owner: str = "Camera", names: tuple[str, str] = ("near", "far")
) -> None:
    """Raise ValueError unless 0 < near < far, the depths a camera sees; ``owner`` and
    ``names`` name the camera and its two values in the message (Blender: clip_start/end)."""
    if not 0 < near < far:
        a, b = names
        raise ValueError(f"{owner} {a}/{b} must satisfy 0 < {a} < {b}, got {near}, {far}.")


def check_intrinsics(K: Tensor) -> None:
    """Raise ValueError unless the (3, 3) intrinsics ``K`` have positive focal lengths
    fx = K[0, 0] and fy = K[1, 1]."""
    fx, fy = float(K[0, 0]), float(K[1, 1])
    if not (fx > 0 and fy > 0):
        raise ValueError(f"Camera.K needs positive focal lengths, got fx={fx:.6g}, fy={fy:.6g}.")


def check_rigid(world_to_camera: Tensor) -> None:
    """Raise ValueError unless the (4, 4) ``world_to_camera`` is a rotation (orthonormal,
    determinant +1, within RIGID_TOLERANCE) and a translation, with last row (0, 0, 0, 1)."""
    matrix = world_to_camera.detach().double()
    rotation = matrix[:3, :3]
    eye = torch.eye(4, dtype=torch.float64, device=matrix.device)
    drift = (rotation @ rotation.T - eye[:3, :3]).abs().max()
    last_row = matrix[3] - eye[3]
    if not (
        float(drift) <= RIGID_TOLERANCE
        and float(torch.linalg.det(rotation)) > 0
        and float(last_row.abs().max()) <= RIGID_TOLERANCE
    ):
        raise ValueError(
            "Camera.world_to_camera must be rigid: a rotation (orthonormal, determinant +1) "
            "and a translation, with last row 0, 0, 0, 1."
        )


@dataclass(frozen=True)
class Camera:
    """A pinhole camera in OpenCV convention.

    K: (3, 3) intrinsics in pixels; pixel centres sit at integer + 0.5.
    world_to_camera: (4, 4) rigid transform, world -> camera (x right, y down, z forward).
    width, height: image size in pixels.
    near, far: Gaussians whose centre depth lies outside (near, far) are culled.
    """

    K: Tensor
    world_to_camera: Tensor
    width: int
    height: int
    near: float = 0.01
    far: float = 1000.0

    def __post_init__(self) -> None:
        if tuple(self.K.shape) != (3, 3):
            raise ValueError(f"Camera.K must be (3, 3), got {tuple(self.K.shape)}.")
        if tuple(self.world_to_camera.shape) != (4, 4):
            raise ValueError(
                f"Camera.world_to_camera must be (4, 4), got {tuple(self.world_to_camera.shape)}."
            )
        for side in (self.width, self.height):
            try:
                operator.index(side)
            except TypeError:
                raise ValueError(
                    f"Camera size must be whole pixels, got {type(side).__name__}."
                ) from None
        if not (0 < self.width <= MAX_IMAGE_SIDE and 0 < self.height <= MAX_IMAGE_SIDE):
            raise ValueError(
                f"Camera size must be 1 to {MAX_IMAGE_SIDE} pixels a side, got "
                f"{self.width}x{self.height}."
            )
        for name in ("K", "world_to_camera"):
            if not bool(torch.isfinite(getattr(self, name)).all()):
                raise ValueError(f"Camera.{name} has NaN or infinite values.")
        check_intrinsics(self.K)
        check_rigid(self.world_to_camera)
        check_clip_range(self.near, self.far)

    @property
    def camera_to_world(self) -> Tensor:
        """(4, 4) camera -> world."""
        return torch.linalg.inv(self.world_to_camera)

    @property
    def position(self) -> Tensor:
        """(3,) camera centre in world coordinates."""
        R = self.world_to_camera[:3, :3]
        t = self.world_to_camera[:3, 3]
        return -R.T @ t


@dataclass(frozen=True)
class SplatScene:
    """World-space Gaussians, ready to render.

    means: (N, 3) centres, metres.
    quats: (N, 4) unit quaternions, wxyz, local -> world rotation.
    scales: (N, 3) standard deviations along the local axes, metres (not log).
    opacities: (N,) in [0, 1].
    sh: (N, K, 3) spherical-harmonics coefficients as stored in 3DGS PLY files
        (colour = SH(dir) + 0.5, sRGB-encoded). K = 1 is view-independent colour.
    parts: (N,) int64 body-part index of each Gaussian, or None (the part pass is then -1).
    """

    means: Tensor
    quats: Tensor
    scales: Tensor
    opacities: Tensor
    sh: Tensor
    parts: Tensor | None = None

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expected = {
            "means": (self.means, (n, 3)),
            "quats": (self.quats, (n, 4)),
            "scales": (self.scales, (n, 3)),
            "opacities": (self.opacities, (n,)),
        }
        for name, (tensor, shape) in expected.items():
            if tuple(tensor.shape) != shape:
                raise ValueError(f"SplatScene.{name} must be {shape}, got {tuple(tensor.shape)}.")
        if self.sh.ndim != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise ValueError(f"SplatScene.sh must be ({n}, K, 3), got {tuple(self.sh.shape)}.")
        if self.sh.shape[1] not in SH_COUNTS:
            raise ValueError(f"SplatScene.sh has K={self.sh.shape[1]}; K must be 1, 4, 9 or 16.")
        if self.parts is not None and tuple(self.parts.shape) != (n,):
            raise ValueError(f"SplatScene.parts must be ({n},), got {tuple(self.parts.shape)}.")

    @property
    def count(self) -> int:
        return self.means.shape[0]


@dataclass(frozen=True)
class RenderResult:
    """The passes of one rendered view.

    rgb: (H, W, 3) colour composited over the background, sRGB-encoded as in 3DGS
        (use :func:`core.render.color.srgb_to_linear` for scene-linear passes).
    alpha: (H, W) accumulated opacity in [0, 1].
    depth: (H, W) expected camera-space z of the splats, sum(w z) / alpha; 0 where alpha is 0.
    normal: (H, W, 3) world-space unit normal, blended and renormalised; 0 where alpha is 0.
    part: (H, W) int64 body-part index of the splat with the largest blend weight; -1 where
        nothing was hit (or the scene has no parts).
    """

    rgb: Tensor
    alpha: Tensor
    depth: Tensor
    normal: Tensor
    part: Tensor
