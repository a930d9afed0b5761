"""What the network sees of one photo: the person's crop as a square of the model's size,
its camera, mask and the fitted body posed as in it.

Letters: V vertices, H x W pixels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..render.types import Camera


@dataclass(frozen=True)
class ModelView:
    """One photo for the network.

    rgb: (H, W, 3) float32 sRGB colours in [0, 1]; mask: (H, W) float32 person mask in
    [0, 1]; camera: the crop's OpenCV camera (width x height = W x H); vertices: (V, 3)
    float32 body-mesh vertices posed as in the photo (the body fit's, or the true ones).
    """

    rgb: Tensor
    mask: Tensor
    camera: Camera
    vertices: Tensor

    def __post_init__(self) -> None:
        H, W = self.rgb.shape[:2]
        if tuple(self.rgb.shape) != (H, W, 3) or tuple(self.mask.shape) != (H, W):
            raise ValueError(
                f"ModelView needs rgb (H, W, 3) and mask (H, W), got {tuple(self.rgb.shape)} "
                f"and {tuple(self.mask.shape)}."
            )
        if (self.camera.width, self.camera.height) != (W, H):
            raise ValueError(
                f"ModelView's camera is {self.camera.width}x{self.camera.height} but its "
                f"image is {W}x{H}."
            )
        if self.vertices.ndim != 2 or self.vertices.shape[1] != 3:
            raise ValueError(
                f"ModelView.vertices must be (V, 3), got {tuple(self.vertices.shape)}."
            )


def square_view(view: ModelView, size: int) -> ModelView:
    """``view`` padded to a square (centred, black outside) and resized to size x size, its
    camera's intrinsics moved with it; the network's photo input."""
    H, W = view.rgb.shape[:2]
    side = max(H, W)
    left, top = (side - W) // 2, (side - H) // 2
    planes = torch.cat((view.rgb, view.mask[..., None]), dim=-1).permute(2, 0, 1)[None]
    planes = F_nn.pad(planes, (left, side - W - left, top, side - H - top))
    if side != size:
        planes = F_nn.interpolate(
            planes, size=(size, size), mode="bilinear", antialias=side > size, align_corners=False
        )
    planes = planes[0].permute(1, 2, 0).clamp(0, 1)
    s = size / side
    # Crop pixels -> square pixels: u' = s (u + left), v' = s (v + top).
    move = torch.tensor([[s, 0.0, s * left], [0.0, s, s * top], [0.0, 0.0, 1.0]])
    K = (move.double() @ view.camera.K.double()).to(view.camera.K.dtype)
    camera = dataclasses.replace(view.camera, K=K, width=size, height=size)
    return ModelView(
        planes[..., :3].contiguous(), planes[..., 3].contiguous(), camera, view.vertices
    )
