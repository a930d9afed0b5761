"""What the photos say, for body fitting: landmarks, masks and intrinsics stacked over views.

While fitting, each photo's camera is fixed at the world origin looking along +Y (Z up,
:data:`FIT_CAMERA`), with K from the photo size and the assumed field of view
(:data:`DEFAULT_FOCAL_35MM` when none is given); MediaPipe's world landmarks are in its
camera axes. :func:`body_targets` stacks what each photo's perception says over the B views.
Letters: B views, F face points, M mask pixels.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..render.camera import intrinsics
from .landmark_map import AnnyLandmarks
from .perception import Perception

#: With no field of view given, the focal length of a 40 mm lens on a 35 mm-equivalent
#: sensor (diagonal 43.27 mm), from the photo's diagonal: between phones' 24-28 mm main
#: cameras and the 50-85 mm of portrait and stock photos (the one shared photo with EXIF was
#: shot at 73 mm). A full body seen from a few metres looks nearly the same through any of
#: them; the distance absorbs the difference.
DEFAULT_FOCAL_35MM = 40.0

#: Trust in each Pose landmark (times its visibility): joints 1, face points 0.5 (0.15 when
#: the face mesh was seen), Pose's hand points 0.3 (0 when that hand was seen), feet 0.7.
BODY_TRUST = (0.5,) * 11 + (1.0,) * 6 + (0.3,) * 6 + (1.0,) * 6 + (0.7,) * 4

#: Torso and limb segments (Pose landmark numbers) compared with the world landmarks.
SEGMENTS = ((11, 12), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27),
            (24, 26), (26, 28), (11, 23), (12, 24))  # fmt: skip
#: World -> camera rotation of the fixed fitting camera: x = X, y = -Z, z = Y.
FIT_CAMERA = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class BodyTargets:
    """What the photos say, stacked over the B views.

    body: (B, 33, 2) pixels; body_weight: (B, 33) trust times visibility; body_scale: (B,)
    person size in pixels; world: (B, 33, 3) MediaPipe world landmarks (camera axes);
    hands: (B, 2, 21, 2) pixels (left, right); hand_weight, hand_scale: (B, 2);
    face: (B, F, 2) pixels; face_weight, face_scale: (B,); mask: (B, 1, M, M) soft person
    mask; K: (B, 3, 3); close_up: (B,) 1 for face close-ups (no body; only their head is
    fitted, so the silhouette term leaves them out); sizes: B (width, height).
    """

    body: Tensor
    body_weight: Tensor
    body_scale: Tensor
    world: Tensor
    hands: Tensor
    hand_weight: Tensor
    hand_scale: Tensor
    face: Tensor
    face_weight: Tensor
    face_scale: Tensor
    mask: Tensor
    K: Tensor
    close_up: Tensor
    sizes: tuple[tuple[int, int], ...]


def body_targets(
    perceptions: list[Perception],
    marks: AnnyLandmarks,
    fov_y_deg: float | None,
    dtype: torch.dtype,
) -> BodyTargets:
    """What the ``perceptions`` say, stacked; ``fov_y_deg`` None assumes DEFAULT_FOCAL_35MM."""
    names = (f.name for f in dataclasses.fields(BodyTargets) if f.name != "sizes")
    rows: dict[str, list] = {name: [] for name in names}
    face_index = marks.face_index.numpy()
    for seen in perceptions:
        width, height = seen.photo.width, seen.photo.height
        if fov_y_deg is None:
            focal = math.hypot(width, height) * DEFAULT_FOCAL_35MM / 43.27
            rows["K"].append(intrinsics(width, height, focal_px=focal, dtype=dtype))
        else:
            rows["K"].append(intrinsics(width, height, fov_y_deg=fov_y_deg, dtype=dtype))
        trust = np.array(BODY_TRUST, dtype=np.float32)
        if seen.face is not None:
            trust[:11] = 0.15
        hands = []
        for side, hand in enumerate((seen.left_hand, seen.right_hand)):
            if hand is not None:
                trust[[17 + side, 19 + side, 21 + side]] = 0.0
            hands.append(hand)
        body = seen.body
        rows["body"].append(_tensor(body.pixels))
        rows["body_weight"].append(_tensor(trust * np.clip(body.visibility, 0, 1)))
        rows["body_scale"].append(torch.tensor(max(seen.box.width, seen.box.height, 1.0)))
        rows["world"].append(_tensor(body.world))
        rows["hands"].append(torch.stack([_points(h.pixels if h else None, 21) for h in hands]))
        rows["hand_weight"].append(torch.tensor([float(h is not None) for h in hands]))
        rows["hand_scale"].append(torch.tensor([_spread(h.pixels if h else None) for h in hands]))
        face = seen.face.pixels[face_index] if seen.face is not None else None
        rows["face"].append(_points(face, len(face_index)))
        rows["face_weight"].append(torch.tensor(float(face is not None)))
        rows["face_scale"].append(torch.tensor(_spread(face)))
        rows["mask"].append(_soft_mask(seen.mask))
        rows["close_up"].append(torch.tensor(float(seen.close_up)))
    stacked = {key: torch.stack(value).to(dtype) for key, value in rows.items()}
    sizes = tuple((p.photo.width, p.photo.height) for p in perceptions)
    return BodyTargets(**stacked, sizes=sizes)


def _tensor(array: np.ndarray) -> Tensor:
    """A float32 tensor copy of a (possibly read-only) array."""
    return torch.from_numpy(np.array(array, dtype=np.float32))


def _points(pixels: np.ndarray | None, count: int) -> Tensor:
    return torch.zeros(count, 2) if pixels is None else _tensor(pixels)


def _spread(pixels: np.ndarray | None) -> float:
    """RMS distance of the points from their centre (a size that ignores rotation)."""
    if pixels is None:
        return 1.0
    centred = pixels - pixels.mean(axis=0)
    return max(float(np.sqrt((centred**2).sum(axis=1).mean())), 1.0)


def _soft_mask(mask: np.ndarray, size: int = 160) -> Tensor:
    """(H, W) person probability -> (1, size, size) blurred over several widths, so that a
    vertex outside the person feels a pull back from up to ~20% of the photo away."""
    small = F.interpolate(_tensor(mask)[None, None], (size, size), mode="area")
    blurred = [small] + [
        F.avg_pool2d(small, k, stride=1, padding=k // 2, count_include_pad=False)
        for k in (5, 15, 45)
    ]
    return torch.cat(blurred).mean(dim=0)
