"""Where MediaPipe's landmarks sit on the Anny body: 33 body, 21 per hand, 148 face points.

Every landmark is an anchor on the posed body: a bone head (a joint centre) or a weighted
sum of mesh vertices. :func:`anny_landmarks` turns the tables into index and weight
tensors over a pool of points, the V mesh vertices followed by the J bone heads, so one
gather gives every landmark of a posed body. "Left" is the person's own left everywhere
(MediaPipe's ``left_*`` and Anny's ``.L``, on the +X side of the canonical body).

Body (MediaPipe Pose order):

| landmarks | anchor |
| --- | --- |
| nose, eyes, ears, shoulders, hips, ankles | Anny's COCO keypoint regressor (vertex weights) |
| eye inner and outer corners, mouth corners | the face points 362, 263, 133, 33, 291, 61 |
| elbows, wrists, knees | heads of ``lowerarm01``, ``wrist``, ``lowerleg01`` |
| pinky, index, thumb (hand points of Pose) | heads of ``finger5-1``, ``finger2-1``, ``finger1-2`` |
| heels, foot index | Anny's COCO regressor: ``heel``, ``big_toe`` |

Shoulders, hips and ankles follow the COCO regressor rather than the bone heads: fitted to
13 shared photos with the heads of ``upperarm01``, ``upperleg01`` and ``foot``, the fits sat
16 to 18 per mille of the person's size below and outside Pose's shoulders, 6 to 8 outside
and above its hips and 5 to 8 below its ankles, which is where the regressor puts them
(2 cm higher and 1 cm in; 1.4 cm in and 2.5 cm lower; 2 cm higher).

Hands (MediaPipe Hands order): wrist = head of ``wrist``; for each finger (thumb = finger1)
the three joints = heads of ``finger{k}-1``, ``-2``, ``-3`` (thumb: CMC, MCP, IP; others:
MCP, PIP, DIP) and the tip = the ``fingertips`` vertex.

The tables (vertex numbers and weights on Anny's default mesh: ``coco_points``,
``fingertips``, ``face_points``) are data, ``core/body/anny_landmarks.json``, read by
:func:`core.body.anny_landmarks.anny_landmark_tables`, whose docstring says how they were
made.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..body.anny_landmarks import AnnyLandmarkTables, anny_landmark_tables
from ..errors import LcaError
from .perception import BODY_LANDMARK_NAMES

_SIDES = {"left": "L", "right": "R"}
_BODY_BONES = {
    "elbow": "lowerarm01", "wrist": "wrist", "pinky": "finger5-1", "index": "finger2-1",
    "thumb": "finger1-2", "knee": "lowerleg01",
}  # fmt: skip
_BODY_COCO = {
    "nose": "nose", "eye": "eye", "ear": "ear", "shoulder": "shoulder", "hip": "hip",
    "ankle": "ankle", "heel": "heel", "foot_index": "big_toe",
}  # fmt: skip
_BODY_FACE = {
    "left_eye_inner": 362, "left_eye_outer": 263, "right_eye_inner": 133,
    "right_eye_outer": 33, "mouth_left": 291, "mouth_right": 61,
}  # fmt: skip


@dataclass(frozen=True)
class LandmarkSet:
    """L landmarks, each a weighted sum of points from the pool (V vertices, then J heads).

    index: (L, K) int64 into the pool; weight: (L, K) float, each row sums to 1 (unused
    slots have weight 0).
    """

    index: Tensor
    weight: Tensor

    def points(self, vertices: Tensor, heads: Tensor) -> Tensor:
        """vertices (B, V, 3), heads (B, J, 3) -> (B, L, 3) landmark positions."""
        pool = torch.cat((vertices, heads), dim=1)  # (B, V + J, 3)
        # bld <- lk, blkd: a weighted sum over each landmark's K anchors
        return torch.einsum("lk,blkd->bld", self.weight.to(pool.dtype), pool[:, self.index])


@dataclass(frozen=True)
class AnnyLandmarks:
    """The landmark sets of one body model.

    body: the 33 Pose landmarks; left_hand, right_hand: 21 Hands landmarks each;
    face: F face points; face_index: (F,) int64 their FaceMesh numbers; face_groups: F
    group names ("lips", "eyes", "brows", "nose", "oval", "cheeks").
    """

    body: LandmarkSet
    left_hand: LandmarkSet
    right_hand: LandmarkSet
    face: LandmarkSet
    face_index: Tensor
    face_groups: tuple[str, ...]


def anny_landmarks(bone_names: tuple[str, ...], vertex_count: int) -> AnnyLandmarks:
    """The landmark sets for an Anny body with these bones and vertices.

    Raises LcaError when the body is not Anny's default mesh (the tables index its vertices).
    """
    tables = anny_landmark_tables()
    if vertex_count != tables.vertices or "finger1-3.L" not in bone_names:
        raise LcaError(
            f"Body fitting knows the landmarks of Anny's default mesh ({tables.vertices} "
            f"vertices, full fingers) only, not a body with {vertex_count} vertices; use the "
            "Anny body model."
        )
    bones = {name: vertex_count + j for j, name in enumerate(bone_names)}
    face_points = tables.face_points
    face = {
        point: tuple(zip(verts, weights, strict=True)) for point, _, verts, weights in face_points
    }
    body_rows = [_body_anchor(name, bones, face, tables) for name in BODY_LANDMARK_NAMES]
    hands = [
        _landmark_set([((anchor, 1.0),) for anchor in _hand_anchors(side, bones, tables)])
        for side in "LR"
    ]
    return AnnyLandmarks(
        body=_landmark_set(body_rows),
        left_hand=hands[0],
        right_hand=hands[1],
        face=_landmark_set([face[point] for point, *_ in face_points]),
        face_index=torch.tensor([point for point, *_ in face_points], dtype=torch.int64),
        face_groups=tuple(group for _, group, *_ in face_points),
    )


def _body_anchor(
    name: str,
    bones: dict[str, int],
    face: dict[int, tuple[tuple[int, float], ...]],
    tables: AnnyLandmarkTables,
) -> tuple[tuple[int, float], ...]:
    if name in _BODY_FACE:
        return face[_BODY_FACE[name]]
    side, _, part = name.partition("_") if name.startswith(("left_", "right_")) else ("", "", name)
    if part in _BODY_BONES:
        return ((bones[f"{_BODY_BONES[part]}.{_SIDES[side]}"], 1.0),)
    coco = _BODY_COCO[part]
    return tables.coco_points[f"{side}_{coco}" if side else coco]


def _hand_anchors(side: str, bones: dict[str, int], tables: AnnyLandmarkTables) -> list[int]:
    """Pool indices of the 21 Hands landmarks of one side ("L" or "R")."""
    anchors = [bones[f"wrist.{side}"]]
    for finger in range(1, 6):
        anchors += [bones[f"finger{finger}-{joint}.{side}"] for joint in (1, 2, 3)]
        anchors.append(tables.fingertips[f"finger{finger}.{side}"])
    return anchors


def _landmark_set(rows: list[tuple[tuple[int, float], ...]]) -> LandmarkSet:
    width = max(len(row) for row in rows)
    index = torch.zeros(len(rows), width, dtype=torch.int64)
    weight = torch.zeros(len(rows), width)
    for i, row in enumerate(rows):
        for k, (point, value) in enumerate(row):
            index[i, k], weight[i, k] = point, value
    return LandmarkSet(index=index, weight=weight / weight.sum(dim=1, keepdim=True))
