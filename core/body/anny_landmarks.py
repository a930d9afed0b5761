"""Anny's landmark tables: where MediaPipe's points sit on Anny's default mesh, as vertex
numbers and weights (data: ``anny_landmarks.json`` beside this file; read once per process
by :func:`anny_landmark_tables`; ``core.recon.landmark_map`` turns them into landmark sets).

How the tables were made (once, offline, from anny 0.6.2 and mediapipe 0.10.21):
- ``coco_points``: the largest 8 to 48 weights of ``anny/data/keypoints/coco.pth`` (Anny's
  ``KeypointsRegressor.coco``), mapped to this mesh's vertices and renormalised; within
  0.7 mm of the full regressor over random shapes and poses. (The regressor itself needs the
  wrapped ``anny.Anny`` object, which the BodyModel contract does not expose.)
- ``fingertips``: among the vertices skinned mostly (> 0.5) to ``finger{k}-3``, the one
  farthest along that bone in the rest pose (20 to 28 mm past the last joint).
- ``face_points``: Anny's neutral head was rendered flat-shaded from 7 directions (yaw
  -12..12 deg, pitch -8..8 deg); FaceMesh ran on each render; each point was cast onto the
  head skin (not the eyeballs), the median over views taken and stored as a triangle of
  vertices with barycentric weights. The lips come from renders with jawOpen 0.2, so that
  the upper and lower inner lip points land on different lips. Kept: the lips (40), eyes
  (32), brows (20) and nose (24) of MediaPipe's contour sets, the 20 face-oval points that
  stay on the same skin across views (the other 16 slide along the silhouette, up to
  50 mm), and 12 cheek points. On renders with jawOpen 0.6, both blinks, both smiles,
  browInnerUp or mouthPucker at 1, FaceMesh and these points agree within 1 to 3 mm on
  average per group.

The JSON holds the numbers as Python wrote them (shortest round-trip decimals), so the
weights read back as exactly the doubles the tables were made with.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

TABLES_FILE = Path(__file__).with_name("anny_landmarks.json")

FacePoint = tuple[int, str, tuple[int, int, int], tuple[float, float, float]]
"""(FaceMesh point, group, (v0, v1, v2) Anny vertices, (w0, w1, w2) barycentric weights)."""


@dataclass(frozen=True)
class AnnyLandmarkTables:
    """vertices: the vertex count of the mesh the tables index (Anny's default mesh);
    face_points: one :data:`FacePoint` per kept FaceMesh point, in FaceMesh order, groups
    "lips", "eyes", "brows", "nose", "oval", "cheeks"; coco_points: COCO keypoint name
    ("nose", "left_eye", ..., "right_big_toe") -> ((vertex, weight), ...); fingertips:
    "finger{k}.{L|R}" -> the vertex at the tip of that finger."""

    vertices: int
    face_points: tuple[FacePoint, ...]
    coco_points: dict[str, tuple[tuple[int, float], ...]]
    fingertips: dict[str, int]


@functools.cache
def anny_landmark_tables() -> AnnyLandmarkTables:
    """The tables of ``anny_landmarks.json`` (read on the first call, then kept)."""
    data = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    return AnnyLandmarkTables(
        vertices=int(data["vertices"]),
        face_points=tuple(
            (int(point), str(group), tuple(map(int, verts)), tuple(map(float, weights)))
            for point, group, verts, weights in data["face_points"]
        ),
        coco_points={
            name: tuple((int(v), float(w)) for v, w in rows)
            for name, rows in data["coco_points"].items()
        },
        fingertips={name: int(v) for name, v in data["fingertips"].items()},
    )
