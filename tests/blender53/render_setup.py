"""A small posed shot of the native avatar for the Blender 5.3 render tests and the look
script: camera, Cycles (CPU) settings, reading a PNG back, the camera for torch_side.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 240, 320


def add_camera(scene, width: int = WIDTH, height: int = HEIGHT):
    """A 50 mm camera 4 m in front of the avatar (which faces -Y), level with its hips (Anny's
    origin)."""
    import bpy

    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (0.05, -4.0, 0.0)
    camera.rotation_euler = (math.radians(90.0), 0.0, 0.0)
    camera.data.lens = 50.0
    render = scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
    return camera


def cycles(scene, samples: int = 32) -> None:
    """Cycles on the CPU, a fixed seed and thread count, transparent film, the Standard view
    (sRGB, as `lca render` writes), 8-bit RGBA PNG."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.seed = 0
    scene.cycles.use_denoising = False
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 2
    scene.render.film_transparent = True
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    settings = scene.render.image_settings
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    settings.color_depth = "8"


def render_png(scene, path: Path) -> np.ndarray:
    """Render a still to ``path``; (H, W, 4) float in [0, 1], rows top-down."""
    import bpy

    scene.render.filepath = str(path)
    assert bpy.ops.render.render(write_still=True) == {"FINISHED"}
    return read_png(path)


def read_png(path: Path) -> np.ndarray:
    import bpy

    image = bpy.data.images.load(str(path))
    try:
        width, height = image.size
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(height, width, 4)[::-1]


def camera_fields(camera, scene) -> dict:
    """core.render.blender_camera.BlenderCamera's fields of ``camera`` in ``scene``."""
    data, render = camera.data, scene.render
    return {
        "matrix_world": np.array(camera.matrix_world, dtype=np.float64),
        "lens": data.lens,
        "sensor_width": data.sensor_width,
        "sensor_height": data.sensor_height,
        "sensor_fit": data.sensor_fit,
        "shift_x": data.shift_x,
        "shift_y": data.shift_y,
        "resolution_x": render.resolution_x,
        "resolution_y": render.resolution_y,
        "resolution_percentage": render.resolution_percentage,
        "pixel_aspect_x": render.pixel_aspect_x,
        "pixel_aspect_y": render.pixel_aspect_y,
        "clip_start": data.clip_start,
        "clip_end": data.clip_end,
    }


def silhouette_iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of the pixels whose alpha is above ``threshold``."""
    a, b = a > threshold, b > threshold
    return float((a & b).sum() / max((a | b).sum(), 1))
