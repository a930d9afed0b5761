"""An avatar's animation from a body clip and/or ARKit face curves: one core Pose per output
frame, at the frame rate asked for.

The body clip is resampled to the output rate and retargeted onto the avatar's rig at its
shape (:func:`core.motion.retarget.retarget_to_body`), in the order Blender's Motion import
takes, so both give the same pose on the same frame; face curves give each frame's
expression (ARKit weights in the body model's order) and, where they carry head rotations,
turn the head bone on top of the body clip. The output has as many frames as the longer
input; the shorter one holds its last frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import Tensor

from ..avatar.avatar import Avatar
from ..body.model import BodyModel
from ..body.poses import Pose
from ..errors import LcaError, quoted
from ..posing import avatar_shape
from .clip import Clip, resample
from .head_pose import HEAD_BONES, head_rotations, resample_curves
from .retarget import Retargeted, clip_poses, retarget_to_body, skeleton_of_body

MAX_FRAMES = 100_000


@dataclass(frozen=True)
class Animation:
    """poses: one per frame; fps; retargeted: the body clip's retargeting (None without one);
    notes: what the user should know (unmapped bones ...)."""

    poses: list[Pose]
    fps: float
    retargeted: Retargeted | None
    notes: tuple[str, ...]


def parse_frames(text: str) -> tuple[int, int]:
    """``--frames A..B`` (inclusive, from 0) -> (A, B + 1)."""
    match = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    if not match or int(match[1]) > int(match[2]):
        raise LcaError(f"Frames {quoted(text)} is not A..B with whole numbers A <= B (from 0).")
    return int(match[1]), int(match[2]) + 1


def _hold(values: Tensor, count: int) -> Tensor:
    """(T, ...) -> (count, ...), the last row repeated (or rows dropped)."""
    if values.shape[0] >= count:
        return values[:count]
    return torch.cat((values, values[-1:].expand(count - values.shape[0], *values.shape[1:])))


def build_animation(
    avatar: Avatar,
    body: BodyModel,
    motion: Clip | None = None,
    face=None,
    fps: float | None = None,
    frames: tuple[int, int] | None = None,
) -> Animation:
    """The avatar's poses for ``motion`` (a clip, any skeleton) and ``face`` (FaceCurves).

    fps: output frame rate (None: the motion's, else the face curves'); frames: (start,
    stop) output frames to keep, after resampling.
    """
    if motion is None and face is None:
        raise LcaError("Give a body motion (--motion) or face curves (--face), or both.")
    fps = fps or (motion.fps if motion is not None else face.fps)
    if not 1 <= fps <= 1000:
        raise LcaError(f"The frame rate {fps:g} is not between 1 and 1000 fps.")
    shape = avatar_shape(avatar, body)
    notes: list[str] = []
    retargeted = None
    if motion is not None:
        # Resampled first, then retargeted, as Blender's Motion import does: both pose the
        # same frames identically.
        retargeted = retarget_to_body(resample(motion, fps), body, shape)
        clip = retargeted.clip
        m = retargeted.joint_map
        notes.append(
            f"{motion.source}: {m.family} skeleton, {len({s for s, _ in m.pairs})} joints "
            f"drive the avatar"
            + (f"; no home for {', '.join(m.unmapped[:8])}" if m.unmapped else "")
            + (" ..." if len(m.unmapped) > 8 else "")
            + "."
        )
    else:
        skeleton = skeleton_of_body(body, shape)
        rotations = torch.eye(3, dtype=torch.float64).repeat(1, len(skeleton.names), 1, 1)
        clip = Clip(skeleton, rotations, skeleton.offsets[:1].clone(), fps, "rest")
    count = clip.frame_count
    expressions = None
    if face is not None:
        weights = resample_curves(face.expression_frames(body.expression_names), face.fps, fps)
        count = max(count, weights.shape[0])
        expressions = _hold(weights, count)
    if count > MAX_FRAMES:
        raise LcaError(f"The animation has {count} frames; at most {MAX_FRAMES} are made.")
    rotations = _hold(clip.rotations, count)
    if face is not None and face.head is not None and "head" in body.bone_names:
        head = _hold(resample_curves(face.head, face.fps, fps), count)
        turns = head_rotations(head)  # (T, 3, 3, 3): head, left eye, right eye
        for k, bone in enumerate(HEAD_BONES):
            if bone in body.bone_names:
                j = body.bone_names.index(bone)
                rotations[:, j] = rotations[:, j] @ turns[:, k]
    held = Clip(clip.skeleton, rotations, _hold(clip.root_positions, count), fps, clip.source)
    start, stop = frames if frames is not None else (0, count)
    if start >= count:
        raise LcaError(f"Frame {start} is past the animation's last frame ({count - 1}).")
    stop = min(stop, count)
    held = held.frames(start, stop)
    if expressions is not None:
        expressions = expressions[start:stop]
    poses = clip_poses(held, len(body.expression_names), expressions)
    return Animation(poses, fps, retargeted, tuple(notes))
