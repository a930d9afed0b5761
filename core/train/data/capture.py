"""Users' own multi-view captures: one subject per folder, cameras as a nerfstudio
``transforms.json`` (docs/data.md).

    capture/
      transforms.json
      images/0001.png ...      (any format Pillow reads; sRGB)
      masks/0001.png ...       (optional: the person's mask, white on black)

``transforms.json``: shared intrinsics ``fl_x``, ``fl_y``, ``cx``, ``cy``, ``w``, ``h`` (each
frame may override them), and ``frames``: a list of ``{"file_path": "images/0001.png",
"transform_matrix": 4x4 camera-to-world, "mask_path": "masks/0001.png" (optional)}``. The
matrix follows nerfstudio (OpenGL camera axes: x right, y up, z back); it is turned into
the OpenCV world-to-camera of core.render once, here.

Loading checks everything and refuses, in one sentence each: a missing or empty folder, a
missing or broken transforms.json, a frame whose camera is not a rigid 4x4 matrix or whose
intrinsics are missing, and a missing, corrupt or wrongly sized image or mask.

Letters: H x W pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...errors import PATH_LIMIT, LcaError, quoted
from ...fileio import read_json
from ...render.types import Camera

OPENGL_TO_OPENCV = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64))
"""Camera axes: nerfstudio's (x right, y up, z back) -> OpenCV's (x right, y down, z forward)."""


@dataclass(frozen=True)
class CaptureView:
    """rgb: (H, W, 3) float32 sRGB in [0, 1]; mask: (H, W) float32 in [0, 1] or None;
    camera: OpenCV; path: the image file."""

    rgb: Tensor
    mask: Tensor | None
    camera: Camera
    path: Path


def _image(path: Path, shown: str, mode: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise LcaError(
            f"{shown} names {quoted(path.name, 80)}, which does not exist; check file_path."
        )
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode))
    except (UnidentifiedImageError, OSError, ValueError):
        raise LcaError(
            f"{shown}: {quoted(path.name, 80)} is not a readable image; replace it."
        ) from None


def _number(frame: dict, shared: dict, key: str, where: str) -> float:
    value = frame.get(key, shared.get(key))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise LcaError(
            f"{where} has no usable '{key}'; give the camera's intrinsics in transforms.json."
        )
    return float(value)


def load_capture(folder: Path | str) -> list[CaptureView]:
    """The views of the capture in ``folder`` (module docstring)."""
    folder = Path(folder)
    shown = f"Capture folder {quoted(folder, PATH_LIMIT)}"
    if not folder.is_dir():
        raise LcaError(f"{shown} does not exist; check the path.")
    if not any(folder.iterdir()):
        raise LcaError(f"{shown} is empty; put images/ and transforms.json in it (docs/data.md).")
    transforms = folder / "transforms.json"
    if not transforms.is_file():
        raise LcaError(f"{shown} has no transforms.json; write the cameras there (docs/data.md).")
    data = read_json(transforms, "Camera file")
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, list) or not frames:
        raise LcaError(f"{shown}: transforms.json has no 'frames' list; list one frame per image.")
    views = []
    for i, frame in enumerate(frames):
        where = f"{shown}: frame {i}"
        if not isinstance(frame, dict) or not isinstance(frame.get("file_path"), str):
            raise LcaError(f"{where} has no 'file_path'; name its image.")
        path = folder / frame["file_path"]
        rgb = _image(path, where, "RGB")
        H, W = rgb.shape[:2]
        w = int(_number(frame, data, "w", where)) if ("w" in frame or "w" in data) else W
        h = int(_number(frame, data, "h", where)) if ("h" in frame or "h" in data) else H
        if (w, h) != (W, H):
            raise LcaError(
                f"{where}: {quoted(path.name, 80)} is {W}x{H} but transforms.json says {w}x{h}."
            )
        K = torch.tensor(
            [
                [_number(frame, data, "fl_x", where), 0.0, _number(frame, data, "cx", where)],
                [0.0, _number(frame, data, "fl_y", where), _number(frame, data, "cy", where)],
                [0.0, 0.0, 1.0],
            ]
        )
        try:
            c2w = torch.tensor(frame["transform_matrix"], dtype=torch.float64)
            if tuple(c2w.shape) == (3, 4):
                c2w = torch.cat((c2w, torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)))
            w2c = torch.linalg.inv(c2w @ OPENGL_TO_OPENCV)
            camera = Camera(K=K, world_to_camera=w2c.float(), width=W, height=H)
        except (KeyError, TypeError, ValueError, RuntimeError):
            raise LcaError(
                f"{where} has a broken transform_matrix (it must be a rigid 4x4 camera-to-world "
                "matrix) or intrinsics; fix transforms.json."
            ) from None
        mask = None
        if isinstance(frame.get("mask_path"), str):
            m = _image(folder / frame["mask_path"], where, "L")
            if m.shape != (H, W):
                raise LcaError(
                    f"{where}: its mask is {m.shape[1]}x{m.shape[0]}, not {W}x{H} like its image."
                )
            mask = torch.from_numpy(m.astype(np.float32) / 255.0)
        views.append(
            CaptureView(torch.from_numpy(rgb.astype(np.float32) / 255.0), mask, camera, path)
        )
    return views
