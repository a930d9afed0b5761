"""The MediaPipe legacy solutions used by perception, alive only inside one ``with`` block.

Only this file imports mediapipe, and only when a ``Landmarkers`` block is entered, so
``import core.recon`` stays cheap. Everything runs offline on the models inside the
mediapipe 0.10.21 wheel: Pose and Holistic at model_complexity=1 (0 and 2 would download),
FaceDetection (full range, ``model_selection=1``), Hands, FaceMesh on still face close-ups
(``Landmarkers.face_mesh``) and on video frames (:func:`face_mesh_video`), and
SelfieSegmentation for the person mask of a face close-up (``Landmarkers.person_mask``).
Results come back as numpy arrays in the pixel frame of the whole photo, whatever window
of it was processed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .geometry import Box, Window

#: Confidence MediaPipe needs to report a face (FaceDetection's own default is 0.5).
FACE_SCORE = 0.6


@dataclass(frozen=True)
class Landmarks:
    """Points of one landmark set in photo pixels.

    Attributes:
        points: (L, 4) float32: x, y in photo pixels (may lie outside the photo, where MediaPipe
            predicts a hidden point), z relative depth in the same pixel scale (smaller is
            closer to the camera), visibility in [0, 1] (0 where the model gives none).
    """

    points: np.ndarray


@dataclass(frozen=True)
class PoseHit:
    """One person found by Pose or Holistic.

    Attributes:
        body: 33 body landmarks.
        world: (33, 3) float32 metres, origin between the hips, x right, y down, z away from
            the camera (MediaPipe's pose world landmarks).
        mask: (H, W) float32 in [0, 1], person probability over the whole photo.
        left_hand, right_hand: 21 landmarks each for the person's own left and right hand,
            or None (Holistic only).
        face: 478 face-mesh landmarks (with irises), or None (Holistic only).
    """

    body: Landmarks
    world: np.ndarray
    mask: np.ndarray
    left_hand: Landmarks | None = None
    right_hand: Landmarks | None = None
    face: Landmarks | None = None


class Landmarkers(contextlib.AbstractContextManager):
    """Opens each MediaPipe solution on first use and closes them all on exit."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._open: dict[str, Any] = {}

    def pose(self, rgb: np.ndarray, window: Window) -> PoseHit | None:
        """The most prominent person in ``rgb[window]`` (rgb: (H, W, 3) uint8), or None."""
        result = self._process("pose", window.cut(rgb))
        if result.pose_landmarks is None:
            return None
        return _pose_hit(result, window, rgb.shape[:2])

    def holistic(self, rgb: np.ndarray, window: Window) -> PoseHit | None:
        """Like ``pose`` plus hands and the face mesh of that person."""
        result = self._process("holistic", window.cut(rgb))
        if result.pose_landmarks is None:
            return None
        hit = _pose_hit(result, window, rgb.shape[:2])
        return PoseHit(
            body=hit.body,
            world=hit.world,
            mask=hit.mask,
            left_hand=_optional(result.left_hand_landmarks, window),
            right_hand=_optional(result.right_hand_landmarks, window),
            face=_optional(result.face_landmarks, window),
        )

    def faces(self, rgb: np.ndarray) -> list[Box]:
        """Boxes (photo pixels) of the faces found in the whole of ``rgb``."""
        result = self._process("faces", rgb)
        height, width = rgb.shape[:2]
        boxes = []
        for detection in result.detections or ():
            rel = detection.location_data.relative_bounding_box
            x0, y0 = rel.xmin * width, rel.ymin * height
            boxes.append(Box(x0, y0, x0 + rel.width * width, y0 + rel.height * height))
        return boxes

    def face_mesh(self, rgb: np.ndarray, window: Window) -> Landmarks | None:
        """The 478 face-mesh points (refined eyes and lips) of the most prominent face in
        ``rgb[window]``, in photo pixels, or None."""
        result = self._process("face_mesh", window.cut(rgb))
        if not result.multi_face_landmarks:
            return None
        return _landmarks(result.multi_face_landmarks[0], window)

    def person_mask(self, rgb: np.ndarray, window: Window) -> np.ndarray:
        """(H, W) float32 in [0, 1] over the whole of ``rgb``: SelfieSegmentation's person
        probability inside ``window`` (head, hair, neck and shoulders of a portrait), 0
        outside it."""
        result = self._process("selfie", window.cut(rgb))
        mask = np.zeros(rgb.shape[:2], dtype=np.float32)
        window.paste(mask, np.asarray(result.segmentation_mask, dtype=np.float32))
        return mask

    def hand_count(self, rgb: np.ndarray) -> int:
        """How many hands MediaPipe Hands finds in the whole of ``rgb``."""
        result = self._process("hands", rgb)
        return len(result.multi_hand_landmarks or ())

    def _process(self, name: str, rgb: np.ndarray) -> Any:
        """The result of solution ``name`` on ``rgb``, opening the solution on first use; the
        native libraries' log lines are kept off the terminal meanwhile (``native_quiet``)."""
        with native_quiet():
            if name not in self._open:
                self._open[name] = self._stack.enter_context(_make(name))
            return self._open[name].process(rgb)

    def __exit__(self, *exc_info: object) -> None:
        with native_quiet():
            self._stack.close()
        self._open.clear()


@contextlib.contextmanager
def face_mesh_video() -> Iterator[Callable[[np.ndarray], np.ndarray | None]]:
    """MediaPipe FaceMesh in video mode (it tracks the face from frame to frame, with refined
    eyes and lips), open for the block: yields ``find(rgb)``, rgb (H, W, 3) uint8 frames in
    order -> (478, 3) float32 points (x, y in pixels, z relative depth in the same pixel
    scale, smaller is closer) of the most prominent face, or None."""
    _quiet_logging()
    with native_quiet():
        from mediapipe.python.solutions import face_mesh

        mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)

    def find(rgb: np.ndarray) -> np.ndarray | None:
        with native_quiet():
            result = mesh.process(rgb)
        if not result.multi_face_landmarks:
            return None
        height, width = rgb.shape[:2]
        marks = result.multi_face_landmarks[0].landmark
        points = np.array([(p.x, p.y, p.z) for p in marks], dtype=np.float32)
        return points * np.array([width, height, width], dtype=np.float32)

    try:
        yield find
    finally:
        with native_quiet():
            mesh.close()


@contextlib.contextmanager
def native_quiet() -> Iterator[None]:
    """While the block runs, the process's file descriptor 2 (stderr) goes to the null device,
    so that the log lines MediaPipe, TensorFlow Lite and glog write from C++ ("Created
    TensorFlow Lite XNNPACK delegate", "Feedback manager requires ...") do not stand beside
    the command's own sentence. Python exceptions are unaffected; set LCA_DEBUG=1 to see the
    lines. Elsewhere in the process (Blender's own threads) stderr is quiet for as long too:
    only MediaPipe's calls run inside the block."""
    if os.environ.get("LCA_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no fd 2 (a GUI without a console)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _quiet_logging() -> None:
    """Ask glog, TensorFlow and absl for errors only, before mediapipe is imported (a user's
    own settings of these variables win)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def _make(name: str) -> Any:
    _quiet_logging()
    from mediapipe.python.solutions import (
        face_detection,
        face_mesh,
        hands,
        holistic,
        pose,
        selfie_segmentation,
    )

    if name == "pose":
        return pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)
    if name == "holistic":
        return holistic.Holistic(
            static_image_mode=True,
            model_complexity=1,
            enable_segmentation=True,
            refine_face_landmarks=True,
        )
    if name == "faces":
        return face_detection.FaceDetection(model_selection=1, min_detection_confidence=FACE_SCORE)
    if name == "face_mesh":
        return face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True)
    if name == "selfie":  # the general (square) model; 1 is for landscape video calls
        return selfie_segmentation.SelfieSegmentation(model_selection=0)
    if name == "hands":
        return hands.Hands(static_image_mode=True, max_num_hands=4, model_complexity=1)
    raise ValueError(f"unknown MediaPipe solution {name!r}")


def _pose_hit(result: Any, window: Window, shape: tuple[int, int]) -> PoseHit:
    world = np.array(
        [(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=np.float32
    )
    mask = np.zeros(shape, dtype=np.float32)
    if result.segmentation_mask is not None:
        window.paste(mask, np.asarray(result.segmentation_mask, dtype=np.float32))
    return PoseHit(body=_landmarks(result.pose_landmarks, window), world=world, mask=mask)


def _optional(landmark_list: Any, window: Window) -> Landmarks | None:
    return None if landmark_list is None else _landmarks(landmark_list, window)


def _landmarks(landmark_list: Any, window: Window) -> Landmarks:
    """MediaPipe's normalised window coordinates -> photo pixels."""
    raw = np.array(
        [(p.x, p.y, p.z, p.visibility) for p in landmark_list.landmark], dtype=np.float32
    )
    points = raw.copy()
    points[:, 0] = raw[:, 0] * window.width + window.x0
    points[:, 1] = raw[:, 1] * window.height + window.y0
    points[:, 2] = raw[:, 2] * window.width
    return Landmarks(points=points)
