"""A Blender camera as the OpenCV camera ``core.render`` takes: the one conversion.

:func:`opencv_camera` reads the camera object (its evaluated world matrix and lens) and the
scene's render settings (resolution, percentage, pixel aspect) and hands them to
``core.render.blender_camera.opencv_camera``, where the maths lives (and is tested without
Blender). :func:`place_camera` does the inverse, for a camera that frames an avatar.
"""

import bpy
import numpy as np
import torch
from mathutils import Matrix

from ..core.errors import LcaError
from ..core.render.blender_camera import BlenderCamera, blender_camera
from ..core.render.blender_camera import opencv_camera as _opencv_camera
from ..core.render.types import Camera


def camera_settings(camera: bpy.types.Object, scene: bpy.types.Scene) -> BlenderCamera:
    """The Blender-side description of ``camera`` (an object, evaluated or not) in ``scene``.

    Raises LcaError (one sentence) for an object that is not a perspective camera.
    """
    if camera.type != "CAMERA":
        raise LcaError(
            f"The scene's camera '{camera.name}' is a {camera.type.lower()} object, not a "
            "camera; make a camera object the scene's camera."
        )
    data = camera.data
    if data.type != "PERSP":
        raise LcaError(
            f"The camera '{camera.name}' is {data.type.lower()}, which LCA Gaussian does not "
            "render; set its type to Perspective."
        )
    render = scene.render
    return BlenderCamera(
        matrix_world=torch.from_numpy(np.array(camera.matrix_world, dtype=np.float64)),
        lens=data.lens,
        sensor_width=data.sensor_width,
        sensor_height=data.sensor_height,
        sensor_fit=data.sensor_fit,
        shift_x=data.shift_x,
        shift_y=data.shift_y,
        resolution_x=render.resolution_x,
        resolution_y=render.resolution_y,
        resolution_percentage=render.resolution_percentage,
        pixel_aspect_x=render.pixel_aspect_x,
        pixel_aspect_y=render.pixel_aspect_y,
        clip_start=data.clip_start,
        clip_end=data.clip_end,
    )


def opencv_camera(camera: bpy.types.Object, scene: bpy.types.Scene) -> Camera:
    """The OpenCV camera (float32) that sees what ``camera`` renders in ``scene``."""
    return _opencv_camera(camera_settings(camera, scene))


def place_camera(camera: bpy.types.Object, scene: bpy.types.Scene, view: Camera) -> None:
    """Set ``camera`` (object and data) and the scene's resolution to see what ``view`` sees
    (square pixels, 100 %)."""
    settings = blender_camera(view, sensor_width=camera.data.sensor_width)
    camera.matrix_world = Matrix(settings.matrix_world.tolist())
    data = camera.data
    data.type = "PERSP"
    data.lens_unit = "MILLIMETERS"
    data.sensor_fit = settings.sensor_fit
    data.sensor_width, data.sensor_height = settings.sensor_width, settings.sensor_height
    data.lens = settings.lens
    data.shift_x, data.shift_y = settings.shift_x, settings.shift_y
    data.clip_start, data.clip_end = settings.clip_start, settings.clip_end
    render = scene.render
    render.resolution_x, render.resolution_y = settings.resolution_x, settings.resolution_y
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
