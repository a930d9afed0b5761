"""Perception: the body, hands, face and silhouette of one person in a photo.

``perceive`` runs MediaPipe (Pose to find people, Holistic for the chosen one; see
``people`` and ``landmarkers``) and refuses, in one sentence, a photo with no person, with
several people and none chosen, with the person's head or feet cut off (unless partial
people are allowed) or with a person too small to use. A back view is fine here.

Thresholds were measured on ../shared/photos; docs/recon.md has the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import (
    NoPersonError,
    PerceptionError,
    PersonCutOffError,
    PersonTooSmallError,
    SeveralPeopleError,
)
from .geometry import Box, Window
from .images import Photo
from .landmarkers import Landmarkers, Landmarks, PoseHit
from .people import (
    FACE_MIN_RATIO,
    Candidate,
    count_faces,
    extent_box,
    find_people,
    hide,
    seen_box,
)

#: The 33 body landmarks, in MediaPipe Pose order ("left" is the person's own left).
BODY_LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
HEAD = tuple(range(0, 11))  # nose, eyes, ears, mouth
FEET = (27, 28, 29, 30)  # ankles and heels

#: People whose extent (landmarks and mask) spans less than this fraction of the photo's
#: height are looked at again in a crop around them (back view 0.39, side view 0.33,
#: lunge 0.48).
CROP_RETRY_FRACTION = 0.5
#: In that crop, the person's longer side spans this fraction of the crop.
CROP_FILL = 0.6
#: People whose extent spans less than this fraction of the photo's height are refused as
#: too small (the smallest person in the shared photos spans 0.33; at 0.12 tiles still find
#: a pasted person, at 0.08 nothing does).
MIN_PERSON_FRACTION = 0.15
#: At least one ankle or heel must be this visible for the feet to count as in the photo.
FOOT_VISIBILITY = 0.5


@dataclass(frozen=True)
class BodyLandmarks:
    """The 33 MediaPipe Pose landmarks of one person (names in ``BODY_LANDMARK_NAMES``).

    Attributes:
        pixels: (33, 2) float32 x, y in photo pixels; points MediaPipe predicts for hidden
            or out-of-frame parts may lie outside the photo.
        depth: (33,) float32 depth relative to the hips' midpoint, in the pixel scale of x
            (smaller is closer to the camera).
        visibility: (33,) float32 in [0, 1], how likely the point is seen in the photo.
        world: (33, 3) float32 metres, origin between the hips, x right, y down, z away
            from the camera.
    """

    pixels: np.ndarray
    depth: np.ndarray
    visibility: np.ndarray
    world: np.ndarray


@dataclass(frozen=True)
class PointSet:
    """Hand (21 points, MediaPipe Hands order) or face-mesh (478 points, irises last).

    Attributes:
        pixels: (L, 2) float32 x, y in photo pixels.
        depth: (L,) float32 relative depth in the pixel scale of x (smaller is closer).
    """

    pixels: np.ndarray
    depth: np.ndarray


@dataclass(frozen=True)
class Perception:
    """What was seen of one person in one photo.

    Attributes:
        photo: the photo perceived.
        body: the 33 body landmarks.
        left_hand, right_hand: the person's own left and right hand (21 points), or None
            where MediaPipe did not find that hand.
        face: the 478-point face mesh, or None (always None in back views).
        mask: (H, W) float32 in [0, 1], the probability that a pixel shows this person.
        box: box of the body landmarks seen in the photo (visibility >= 0.5), in pixels.
        missing: () for a whole person; else the parts outside the frame or hidden, among
            "head" and "feet" (only when ``allow_partial`` was given).
        person: this person's number among the people found, 0 = leftmost.
        people: how many people were found in the photo.
        close_up: True for a face close-up (a face mesh and no body): ``body`` is then all
            zeros with visibility 0, there are no hands, ``mask`` is the person's head,
            hair, neck and shoulders (:func:`close_up_mask`) and ``box`` is the face's;
            body fitting fits only the head, neck and camera to it.
    """

    photo: Photo
    body: BodyLandmarks
    left_hand: PointSet | None
    right_hand: PointSet | None
    face: PointSet | None
    mask: np.ndarray
    box: Box
    missing: tuple[str, ...]
    person: int
    people: int
    close_up: bool = False


def perceive(
    photo: Photo,
    person: int | None = None,
    allow_partial: bool = False,
    allow_close_up: bool = False,
) -> Perception:
    """Find one person in ``photo`` and return their landmarks and silhouette.

    Args:
        photo: from ``load_photo``.
        person: which person to take when there are several, numbered 0, 1, ... from left
            to right; None requires the photo to show exactly one person.
        allow_partial: accept a person whose head or feet are outside the frame or hidden
            (``Perception.missing`` names them) instead of refusing the photo.
        allow_close_up: accept a face close-up (a face and no whole body: no body found,
            more faces than bodies, or a head-and-shoulders portrait) as a face-only
            Perception (``close_up``); ``person`` then numbers the faces from the left.

    Raises:
        NoPersonError, SeveralPeopleError, PersonCutOffError, PersonTooSmallError (all
        ``PerceptionError``, one sentence naming the photo and what to do); PerceptionError
        when ``person`` is not a number of a person found.
    """
    rgb = photo.rgb
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"photo.rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    with Landmarkers() as models:
        people = find_people(rgb, models)
        faces = count_faces(rgb, models)
        count = max(len(people), faces)
        if allow_close_up and faces and (not people or faces > len(people)):
            return _close_up(photo, models, person)
        if not people:
            raise _nobody(photo, models, faces)
        index = _choose(photo, people, count, person)
        hit = _look_closer(rgb, people, index, models)
        box = seen_box(hit.body.points, Window.whole(rgb.shape)) or people[index].box
        missing = _missing_parts(hit.body.points, photo)
        if allow_close_up and missing and not allow_partial and hit.face is not None:
            return _close_up(photo, models, person)  # a head-and-shoulders portrait
    _check_size(photo, extent_box(box, hit.mask))
    if missing and not allow_partial:
        raise PersonCutOffError(
            f"The person in '{photo.path}' is cut off ({' and '.join(missing)} outside the photo "
            "or hidden); use a photo showing them from head to feet, or allow a partial person."
        )
    return _perception(photo, hit, box, missing, index, count)


MIN_FACE_PIXELS = 64
"""A face close-up's face (the face mesh's larger side) must span at least this many pixels:
below it a full-body photo's own face says as much."""


def _close_up(photo: Photo, models: Landmarkers, person: int | None) -> Perception:
    """The face close-up Perception of the face numbered ``person`` from the left (None: the
    photo must show one face)."""
    rgb = photo.rgb
    boxes = sorted(face_boxes(rgb, models), key=lambda b: b.center[0])
    if len(boxes) > 1 and person is None:
        raise SeveralPeopleError(
            f"'{photo.path}' shows several faces ({len(boxes)}); choose one by number "
            f"(0 to {len(boxes) - 1}, left to right) or crop the photo to one face."
        )
    index = person or 0
    if not 0 <= index < len(boxes):
        raise PerceptionError(
            f"'{photo.path}' shows {len(boxes)} face{'' if len(boxes) == 1 else 's'}, so there "
            f"is no face {index}; choose a number from 0 to {len(boxes) - 1} (left to right)."
        )
    window = Window.around(boxes[index], rgb.shape, CLOSE_UP_FILL)
    found = models.face_mesh(rgb, window)
    if found is None:
        raise NoPersonError(
            f"No face could be traced in '{photo.path}'; use a sharp photo of the face from "
            "the front, or a photo showing the whole person from head to feet."
        )
    points = found.points
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    size = float(max(high - low))
    if size < MIN_FACE_PIXELS:
        raise PersonTooSmallError(
            f"The face in '{photo.path}' is too small ({size:.0f} pixels across, "
            f"{MIN_FACE_PIXELS} needed); use a closer or higher-resolution face photo."
        )
    zeros = np.zeros((33, 4), dtype=np.float32)
    person = models.person_mask(rgb, Window.around(boxes[index], rgb.shape, CLOSE_UP_MASK_FILL))
    others = [b for i, b in enumerate(boxes) if i != index]
    hit = PoseHit(
        body=Landmarks(zeros),
        world=np.zeros((33, 3), np.float32),
        mask=close_up_mask(person, face_mask(points[:, :2], rgb.shape[:2]), others),
        face=found,
    )
    box = Box(float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    perception = _perception(photo, hit, box, (), index, len(boxes))
    return dataclasses.replace(perception, close_up=True)


CLOSE_UP_FILL = 0.5
"""FaceMesh runs on a square window in which the detected face box spans this share."""
CLOSE_UP_MASK_FILL = 0.35
"""SelfieSegmentation runs on a square window in which the detected face box spans this
share: room for the hair, the neck and the shoulders."""


def face_boxes(rgb: np.ndarray, models: Landmarkers) -> list[Box]:
    """The faces :func:`core.recon.people.count_faces` counts, as boxes."""
    boxes = models.faces(rgb)
    widest = max((b.width for b in boxes), default=0.0)
    return [b for b in boxes if b.width >= FACE_MIN_RATIO * widest]


def face_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32: 1 inside the convex hull of the face points (P, 2), else 0."""
    import cv2

    mask = np.zeros(shape, dtype=np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(np.float32)


def close_up_mask(person: np.ndarray, face: np.ndarray, others: Sequence[Box] = ()) -> np.ndarray:
    """(H, W) float32: the close-up's person mask, from ``person`` (SelfieSegmentation's
    probability) and ``face`` (the face mesh's hull, 0 or 1): the connected regions of
    ``person`` >= 0.5 that overlap the face, with their soft edge, and the face hull itself
    (a segmentation that misses part of the face never drops it). Another person's region
    that touches none of the face is left out, and so is each of the ``others`` faces' boxes
    grown by a quarter (a face beside this one is not this person, touching or not)."""
    import cv2

    person = person.copy()
    for other in others:
        grown = other.expanded(0.25 * other.width, 0.25 * other.height)
        rows = slice(max(0, int(grown.y0)), max(0, int(grown.y1) + 1))
        person[rows, slice(max(0, int(grown.x0)), max(0, int(grown.x1) + 1))] = 0.0
    sure = (person >= 0.5).astype(np.uint8)
    _, labels = cv2.connectedComponents(sure)
    kept = np.unique(labels[(face > 0) & (sure > 0)])
    region = np.isin(labels, kept[kept > 0]).astype(np.uint8)
    rows, cols = np.nonzero(face)
    edge = 2 * max(1, round(0.03 * max(np.ptp(rows), np.ptp(cols))))
    near = cv2.dilate(region, np.ones((edge + 1, edge + 1), np.uint8)) > 0
    return np.maximum(np.where(near, person, 0.0), face).astype(np.float32)


def _nobody(photo: Photo, models: Landmarkers, faces: int) -> PerceptionError:
    """No body found: only a face or hands (cut off), or nobody at all."""
    hands = models.hand_count(photo.rgb)
    parts = [_some(faces, "a face", "faces"), _some(hands, "a hand", "hands")]
    parts = [part for part in parts if part]
    if parts:
        return PersonCutOffError(
            f"Only part of a person ({' and '.join(parts)}) is visible in '{photo.path}' and no "
            "body was found; use a photo showing the whole person from head to feet."
        )
    return NoPersonError(
        f"No person was found in '{photo.path}'; use a photo showing one person from head to "
        "feet, not too small in the frame."
    )


def _some(count: int, one: str, several: str) -> str:
    return "" if count == 0 else one if count == 1 else several


def _choose(photo: Photo, people: list[Candidate], count: int, person: int | None) -> int:
    if person is None:
        if count > 1:
            raise SeveralPeopleError(
                f"'{photo.path}' shows several people ({count}); choose one by number "
                f"(0 to {count - 1}, left to right) or crop the photo to one person."
            )
        return 0
    if not 0 <= person < count:
        raise PerceptionError(
            f"'{photo.path}' shows {count} {'person' if count == 1 else 'people'}, so there is "
            f"no person {person}; choose a number from 0 to {count - 1} (left to right)."
        )
    if len(people) < count:
        raise SeveralPeopleError(
            f"'{photo.path}' shows several people ({count}) who cannot be told apart; crop the "
            "photo to the one person you want."
        )
    return person


def _look_closer(
    rgb: np.ndarray, people: list[Candidate], index: int, models: Landmarkers
) -> PoseHit:
    """Holistic on the chosen person, with the others hidden; in a crop if they are small."""
    chosen = people[index]
    others = people[:index] + people[index + 1 :]
    image = hide(rgb, others, keep=chosen) if others else rgb
    windows = [Window.whole(rgb.shape)]
    if max(chosen.extent.width, chosen.extent.height) < CROP_RETRY_FRACTION * rgb.shape[0]:
        windows.insert(0, Window.around(chosen.extent, rgb.shape, CROP_FILL))
    for window in windows:
        hit = models.holistic(image, window)
        box = None if hit is None else seen_box(hit.body.points, Window.whole(rgb.shape))
        if box is not None and box.overlap(chosen.extent) >= 0.5:
            return hit
    return chosen.hit  # Holistic lost them: keep Pose's body, without face and hands


def _check_size(photo: Photo, box: Box) -> None:
    fraction = max(box.width, box.height) / photo.height
    if fraction < MIN_PERSON_FRACTION:
        raise PersonTooSmallError(
            f"The person in '{photo.path}' is too small ({fraction:.0%} of the photo's height, "
            f"{MIN_PERSON_FRACTION:.0%} needed); use a closer or higher-resolution photo."
        )


def _missing_parts(points: np.ndarray, photo: Photo) -> tuple[str, ...]:
    """Among "head" and "feet", the parts outside the photo or (feet) hidden."""
    x, y, visibility = points[:, 0], points[:, 1], points[:, 3]
    inside = (x >= 0) & (x < photo.width) & (y >= 0) & (y < photo.height)
    missing = []
    if not inside[list(HEAD)].all():
        missing.append("head")
    feet = list(FEET)
    if not inside[feet].all() or visibility[feet].max() < FOOT_VISIBILITY:
        missing.append("feet")
    return tuple(missing)


def _perception(
    photo: Photo, hit: PoseHit, box: Box, missing: tuple[str, ...], index: int, count: int
) -> Perception:
    points = hit.body.points
    body = BodyLandmarks(
        pixels=_frozen(points[:, :2]),
        depth=_frozen(points[:, 2]),
        visibility=_frozen(points[:, 3]),
        world=_frozen(hit.world),
    )
    return Perception(
        photo=photo,
        body=body,
        left_hand=_point_set(hit.left_hand),
        right_hand=_point_set(hit.right_hand),
        face=_point_set(hit.face),
        mask=_frozen(hit.mask),
        box=box,
        missing=missing,
        person=index,
        people=count,
    )


def _point_set(landmarks: Landmarks | None) -> PointSet | None:
    if landmarks is None:
        return None
    return PointSet(pixels=_frozen(landmarks.points[:, :2]), depth=_frozen(landmarks.points[:, 2]))


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only float32 C-contiguous copy."""
    result = np.array(array, dtype=np.float32, order="C")
    result.setflags(write=False)
    return result


BEHIND_FACING = -0.5
"""A person whose :func:`facing` is below this and whose face was not found is seen from
behind. Measured on ../shared/photos: front views +0.78 to +1.00, side views +0.04 to +0.21,
the back view -0.97, the rear three-quarter lunge -0.76; the sample person's back -0.99."""


def facing(perception: Perception) -> float:
    """How much the person faces the camera, from -1 (back to the camera) to +1 (facing it):
    the image-x share of the direction from their right to their left shoulder and hip in
    Pose's world landmarks (facing the camera, their left is on the image's right)."""
    world = perception.body.world
    across = (world[11] - world[12]) + (world[23] - world[24])
    length = float(np.linalg.norm(across))
    return float(across[0]) / length if length > 0 else 0.0


def seen_from_behind(perception: Perception) -> bool:
    """True if the photo shows the person's back (no face found and :func:`facing` below
    BEHIND_FACING)."""
    return perception.face is None and facing(perception) < BEHIND_FACING
