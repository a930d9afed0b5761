"""Face capture: a video of a face -> ARKit face curves (`lca face-capture`).

Frames are decoded by ffmpeg (``imageio_ffmpeg``), MediaPipe FaceMesh finds the face in each
(``core.recon.landmarkers.face_mesh_video``, tracking between frames), and
``core.motion.face_fit`` fits the 52 ARKit weights with Anny's blendshapes and the head's
rotation. Then:

- Calibration: the ``neutral`` frame (default the first with a face) is taken as the
  person's rest face: its points, aligned to the model, replace the model's neutral points,
  so a face unlike Anny's does not read as an expression, and head angles are measured from
  that frame's. Start a take with a relaxed face looking at the camera (``neutral=None``
  skips this).
- Frames without a face hold the last value found (before the first: the first found);
  they are listed in ``FaceCapture.missing``.
- Smoothing: the One Euro filter on weights and head angles.
- The curves are resampled (linearly) to the ``fps`` asked for; default the video's.

Eye rotations (LeftEyeYaw ...) are written as 0, as are the eyeLook* and tongueOut weights
(see ``core.motion.face_fit``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..body.model import BodyModel
from ..errors import PATH_LIMIT, LcaError, quoted
from ..progress import Progress, no_progress
from .arkit_names import HEAD_NAMES
from .face_curves import FaceCurves
from .face_fit import (
    FACING,
    FaceBasis,
    face_basis,
    fit_faces,
    head_angles,
    one_euro,
    similarity,
)

STAGE = "face capture"


@dataclass(frozen=True)
class FaceCapture:
    """curves: the fitted curves; missing: indices of the video frames without a face
    (their values held); video_fps: the video's frame rate; video_frames: frames decoded."""

    curves: FaceCurves
    missing: tuple[int, ...]
    video_fps: float
    video_frames: int


def capture_face(
    video: Path | str,
    fps: float | None = None,
    neutral: int | None = 0,
    smooth: bool = True,
    body: BodyModel | None = None,
    progress: Progress = no_progress,
) -> FaceCapture:
    """Face curves from ``video`` (module docstring).

    fps: frame rate of the curves (default: the video's); neutral: the video frame taken
    as the rest face, counted from 0 (None: no calibration); body: the Anny body whose
    blendshapes are fitted (default: a new AnnyBody). LcaError (one sentence) when the file
    is not a video, has no frame, or shows no face.
    """
    video = Path(video)
    shown = f"Video {quoted(video, PATH_LIMIT)}"
    if fps is not None and not (math.isfinite(fps) and 0 < fps <= 1000):
        raise LcaError(f"The frame rate {fps} is not between 0 and 1000; give a positive --fps.")
    if not video.is_file():
        raise LcaError(f"{shown} does not exist; check the path.")
    if body is None:
        from ..body.anny_body import AnnyBody

        body = AnnyBody()
    basis = face_basis(body)
    points, found, video_fps = _track(video, shown, basis, progress)
    if not found.any():
        raise LcaError(
            f"{shown} shows no face MediaPipe can find in any of its {len(found)} frames; "
            "film the face from the front, well lit."
        )
    if neutral is not None and not 0 <= neutral < len(found):
        raise LcaError(
            f"The neutral frame {neutral} is outside the video's {len(found)} frames "
            f"(0 to {len(found) - 1})."
        )
    points = _hold(points, found)
    zero = np.eye(3)  # uncalibrated: angles from facing the camera
    if neutral is not None:
        basis, rest = _calibrated(basis, points[neutral if found[neutral] else found.argmax()])
        zero = FACING @ rest.T  # the neutral frame's rotation reads as facing the camera
    weights, rotation = fit_faces(points, basis)
    angles = head_angles(zero @ rotation)
    if smooth:
        weights = one_euro(weights, video_fps)
        angles = one_euro(angles, video_fps, min_cutoff=1.0, beta=0.3)
    out_fps = float(fps) if fps is not None else video_fps
    expression = np.zeros((len(found), len(basis.names)))
    expression[:, basis.fitted_index] = weights
    head = np.zeros((len(found), len(HEAD_NAMES)))
    head[:, :3] = angles
    curves = FaceCurves(
        names=basis.names,
        weights=torch.from_numpy(_resample(expression, video_fps, out_fps).clip(0.0, 1.0)),
        head=torch.from_numpy(_resample(head, video_fps, out_fps)),
        fps=out_fps,
        source=f"face capture of {quoted(video.name, PATH_LIMIT)}",
    )
    missing = tuple(int(i) for i in np.flatnonzero(~found))
    return FaceCapture(curves, missing, video_fps, len(found))


def _track(
    video: Path, shown: str, basis: FaceBasis, progress: Progress
) -> tuple[np.ndarray, np.ndarray, float]:
    """(points (T, F, 3), found (T,) bool, the video's fps) for every decoded frame."""
    from ..recon.landmarkers import face_mesh_video
    from ..video import open_video

    frames, meta = open_video(video, shown)
    points: list[np.ndarray | None] = []
    with contextlib.closing(frames):
        video_fps = float(meta.get("fps") or 0.0)
        width, height = meta["size"]
        if not (math.isfinite(video_fps) and video_fps > 0):
            raise LcaError(f"{shown} does not say its frame rate; re-encode it with ffmpeg.")
        expected = max(int(round(float(meta.get("duration") or 0.0) * video_fps)), 1)
        with face_mesh_video() as find:
            try:
                for raw in frames:
                    rgb = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
                    found = find(rgb)
                    points.append(None if found is None else found[basis.mesh_index])
                    progress(STAGE, min(len(points) / expected, 1.0))
            except RuntimeError:
                raise LcaError(
                    f"{shown} could not be decoded to the end; re-encode it with ffmpeg."
                ) from None
    if not points:
        raise LcaError(f"{shown} has no frames; give a video with a face in it.")
    found = np.array([p is not None for p in points])
    empty = np.zeros((len(basis.mesh_index), 3))
    stacked = np.stack([empty if p is None else p.astype(np.float64) for p in points])
    progress(STAGE, 1.0)
    return stacked, found, video_fps


def _hold(points: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Frames without a face take the last face found before them (the first found, before
    the first)."""
    held = points.copy()
    last = int(found.argmax())
    for t in range(len(found)):
        last = t if found[t] else last
        held[t] = points[last]
    return held


def _calibrated(basis: FaceBasis, rest: np.ndarray) -> tuple[FaceBasis, np.ndarray]:
    """The basis whose neutral points are ``rest`` (F, 3), aligned to the model, and the
    rotation (3, 3) of that frame (the head's zero)."""
    steady = basis.steady
    sr, t = similarity(basis.neutral[None, steady], rest[None, steady])
    aligned = (rest - t[0]) @ np.linalg.inv(sr[0]).T
    return replace(basis, neutral=aligned), sr[0] / np.cbrt(np.linalg.det(sr[0]))


def _resample(values: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """(T, K) at ``fps_in`` -> (T', K) at ``fps_out``, linearly, over the same duration."""
    if math.isclose(fps_in, fps_out, rel_tol=1e-9) or len(values) < 2:
        return values
    count = max(int(math.floor((len(values) - 1) * fps_out / fps_in + 1e-9)) + 1, 1)
    times = np.arange(count) * (fps_in / fps_out)
    source = np.arange(len(values))
    return np.stack([np.interp(times, source, column) for column in values.T], axis=1)
