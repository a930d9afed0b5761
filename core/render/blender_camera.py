"""Blender camera <-> OpenCV camera: the one conversion (DESIGN.md section 4), without bpy.

``lca_addon.camera`` reads a Blender camera object and the scene's render settings into a
:class:`BlenderCamera`; :func:`opencv_camera` turns it into the :class:`Camera` that
``core.render`` takes, so a render from Blender's camera and ``lca render`` with that camera
see the same image.

Blender's rules (those of its ``BKE_camera_params_compute_viewplane``), for a perspective
camera:

- image size: ``resolution * percentage // 100`` pixels (integer division);
- sensor fit: AUTO fits the sensor width to the larger of the image's width and height
  measured with the pixel aspect (``resolution_x * pixel_aspect_x`` against
  ``resolution_y * pixel_aspect_y``); HORIZONTAL fits ``sensor_width`` to the width;
  VERTICAL fits ``sensor_height`` to the height. The fitted side spans ``viewfac`` pixels:
  the width W, or H * pixel_aspect_y / pixel_aspect_x;
- focal length in pixels: fx = lens / sensor * viewfac, fy = fx * pixel_aspect_x /
  pixel_aspect_y (a wide pixel covers more of the scene);
- shift moves the image window by ``shift * viewfac`` pixels (x right, y up): the principal
  point is cx = W / 2 - shift_x * viewfac, cy = H / 2 + shift_y * viewfac * fy / fx;
- the camera's axes are its object's world matrix with the scale removed; it looks down its
  local -Z with +Y up. OpenCV looks down +Z with +Y down: ``camera_cv = diag(1, -1, -1) @
  camera_blender``.

Pixel centres sit at integer + 0.5 in both (the image spans [0, W] x [0, H]); OpenCV's row 0
is the top row, Blender's render buffers start at the bottom row. Not converted: orthographic
and panoramic cameras, render borders and crops, depth of field, stereo views.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import LcaError
from .types import Camera, check_clip_range

SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")

BLENDER_TO_OPENCV = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
"""(3, 3) Blender camera axes (x right, y up, looking down -z) -> OpenCV's; its own inverse."""


@dataclass(frozen=True)
class BlenderCamera:
    """A Blender perspective camera and the render settings that shape its image.

    matrix_world: (4, 4) the camera object's world matrix (any scale in it is ignored).
    lens: focal length, mm. sensor_width, sensor_height: mm. sensor_fit: one of SENSOR_FITS.
    shift_x, shift_y: lens shift in units of the fitted sensor side.
    resolution_x, resolution_y: pixels at 100 %; resolution_percentage: 1..32767.
    pixel_aspect_x, pixel_aspect_y: the pixel's width and height (relative).
    clip_start, clip_end: metres.
    """

    matrix_world: Tensor
    lens: float = 50.0
    sensor_width: float = 36.0
    sensor_height: float = 24.0
    sensor_fit: str = "AUTO"
    shift_x: float = 0.0
    shift_y: float = 0.0
    resolution_x: int = 1920
    resolution_y: int = 1080
    resolution_percentage: int = 100
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0
    clip_start: float = 0.1
    clip_end: float = 1000.0

    def __post_init__(self) -> None:
        if tuple(self.matrix_world.shape) != (4, 4):
            raise ValueError(f"matrix_world must be (4, 4), got {tuple(self.matrix_world.shape)}.")
        if self.sensor_fit not in SENSOR_FITS:
            raise ValueError(f"sensor_fit must be one of {SENSOR_FITS}, got {self.sensor_fit!r}.")
        positive = {
            "lens": self.lens,
            "sensor_width": self.sensor_width,
            "sensor_height": self.sensor_height,
            "resolution_x": self.resolution_x,
            "resolution_y": self.resolution_y,
            "resolution_percentage": self.resolution_percentage,
            "pixel_aspect_x": self.pixel_aspect_x,
            "pixel_aspect_y": self.pixel_aspect_y,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"BlenderCamera.{name} must be positive, got {value}.")
        check_clip_range(
            self.clip_start, self.clip_end, "BlenderCamera", ("clip_start", "clip_end")
        )

    @property
    def image_size(self) -> tuple[int, int]:
        """(W, H) pixels of the render, as Blender rounds them."""
        return render_size(self.resolution_x, self.resolution_y, self.resolution_percentage)


def render_size(resolution_x: int, resolution_y: int, percentage: int) -> tuple[int, int]:
    """(W, H): Blender's render size, ``resolution * percentage // 100``."""
    width = resolution_x * percentage // 100
    height = resolution_y * percentage // 100
    if width < 1 or height < 1:
        raise LcaError(
            f"The render size {resolution_x}x{resolution_y} at {percentage}% is under one pixel; "
            "raise the resolution or its percentage."
        )
    return width, height


def _fitted_side(camera: BlenderCamera, width: int, height: int) -> tuple[float, float]:
    """(sensor size in mm, pixels it spans) for the camera's sensor fit."""
    fit = camera.sensor_fit
    if fit == "AUTO":
        wide = width * camera.pixel_aspect_x >= height * camera.pixel_aspect_y
        fit = "HORIZONTAL" if wide else "VERTICAL"
        sensor = camera.sensor_width  # AUTO always fits the sensor width, to either side
    else:
        sensor = camera.sensor_width if fit == "HORIZONTAL" else camera.sensor_height
    if fit == "HORIZONTAL":
        return sensor, float(width)
    return sensor, height * camera.pixel_aspect_y / camera.pixel_aspect_x


def opencv_camera(camera: BlenderCamera, dtype: torch.dtype = torch.float32) -> Camera:
    """The OpenCV camera (K, world_to_camera, size, near/far) of a Blender camera.

    See the module docstring for the rules; ``near``/``far`` are the clip distances.
    """
    width, height = camera.image_size
    sensor, viewfac = _fitted_side(camera, width, height)
    fx = camera.lens / sensor * viewfac
    fy = fx * camera.pixel_aspect_x / camera.pixel_aspect_y
    cx = 0.5 * width - camera.shift_x * viewfac
    cy = 0.5 * height + camera.shift_y * viewfac * fy / fx
    K = torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=torch.float64)

    matrix = camera.matrix_world.to(torch.float64)
    axes = matrix[:3, :3]
    lengths = axes.norm(dim=0)
    if not bool((lengths > 1e-12).all()):
        raise LcaError("The camera's object has a zero scale; give it a non-zero scale.")
    rotation = axes / lengths  # camera (Blender axes) -> world
    world_to_camera = torch.eye(4, dtype=torch.float64)
    world_to_camera[:3, :3] = BLENDER_TO_OPENCV @ rotation.T
    world_to_camera[:3, 3] = -world_to_camera[:3, :3] @ matrix[:3, 3]
    return Camera(
        K=K.to(dtype),
        world_to_camera=world_to_camera.to(dtype),
        width=width,
        height=height,
        near=camera.clip_start,
        far=camera.clip_end,
    )


def blender_camera(
    camera: Camera, sensor_width: float = 36.0, dtype: torch.dtype = torch.float32
) -> BlenderCamera:
    """A Blender camera that sees what the OpenCV ``camera`` sees (the inverse conversion).

    Needs square pixels (fx == fy) and no skew; the sensor fit is HORIZONTAL with
    ``sensor_width`` (the sensor height follows the image's aspect), the principal point
    becomes a lens shift, near/far the clip distances.
    """
    K = camera.K.to(torch.float64)
    fx, fy = float(K[0, 0]), float(K[1, 1])
    if abs(fx - fy) > 1e-6 * fx or abs(float(K[0, 1])) > 1e-9 * fx:
        raise LcaError(
            "Only cameras with square pixels and no skew convert to Blender; give K with "
            "fx == fy and K[0, 1] == 0."
        )
    width, height = camera.width, camera.height
    rotation = camera.world_to_camera[:3, :3].to(torch.float64)
    translation = camera.world_to_camera[:3, 3].to(torch.float64)
    matrix = torch.eye(4, dtype=torch.float64)
    matrix[:3, :3] = rotation.T @ BLENDER_TO_OPENCV
    matrix[:3, 3] = -rotation.T @ translation
    return BlenderCamera(
        matrix_world=matrix.to(dtype),
        lens=fx * sensor_width / width,
        sensor_width=sensor_width,
        sensor_height=sensor_width * height / width,
        sensor_fit="HORIZONTAL",
        shift_x=(0.5 * width - float(K[0, 2])) / width,
        shift_y=(float(K[1, 2]) - 0.5 * height) / width,
        resolution_x=width,
        resolution_y=height,
        resolution_percentage=100,
        clip_start=camera.near,
        clip_end=camera.far,
    )
