"""Retargeting: a clip on one skeleton -> a clip on another, by rest-pose-aware rotation
transfer (as the Rokoko and MPFB retargeters do), and onto an avatar's body as poses.

For each mapped pair (source joint s, target joint t):

1. The source's reference pose: its rest (every rotation zero) where that is a standing
   body (legs below the hips, spine above), else its first frame (some exporters put the
   whole skeleton along one axis at rest and the T-pose in frame 0). ``W_s(t)`` are the
   source's world rotations and ``W_s(ref)`` those of the reference pose.
2. ``C``: the rotation from the source's axes to the target's, from the reference pose's
   hips, left and right legs and neck against the target's rest (so up axis and facing are
   found, not assumed; a Y-up BVH facing +Z lands Z-up facing -Y on Anny).
3. ``A_t``: the smallest rotation turning the target's rest direction of the bone (towards
   the mean of its mapped children) into the source's reference direction (in target
   axes). This is where T-pose, A-pose and I-pose differ; joints without mapped children
   take their parent's.
4. The target's world rotation relative to its rest: ``Q_t = C W_s(t) W_s(ref)^-1 C^T A_t``,
   so the bone points where the source bone points, turning with it. Unmapped target joints
   follow their parent (``Q = Q_parent``), and the local rotation is ``Q_parent^T Q``.

Root motion: the hips' height above the ground (the lowest mapped joint over the whole clip,
placed at its target joint's rest height) and
their horizontal travel from the first frame, scaled by the ratio of the two skeletons'
hip heights, so an avatar of any size walks without sliding and stands on the floor. A clip
made on the avatar's own rig (the ``anny`` family) keeps its root where it was keyed.

Letters: T frames, J joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..body.model import BodyModel
from ..body.poses import Pose
from ..errors import LcaError
from ..quaternion import rotmat_to_quat, smallest_rotation
from .clip import Clip, Skeleton
from .skeletons import JointMap, map_joints

MIN_MAPPED = 6
"""A clip must drive at least this many bones (hips, legs, spine ...) to be retargeted."""


@dataclass(frozen=True)
class Anchors:
    """Joint names, in one skeleton, of the hips, the left and right upper legs and the
    neck (or the highest spine joint): what the facing and the height are measured on."""

    hips: str
    left_leg: str
    right_leg: str
    neck: str


ANNY_ANCHORS = Anchors("root", "upperleg01.L", "upperleg01.R", "neck01")


@dataclass(frozen=True)
class Retargeted:
    """clip: the motion on the target skeleton; joint_map: which source joint drove which
    target bone, and the source joints that found none; reference: 'rest' or 'frame 0';
    scale: target hip height / source hip height."""

    clip: Clip
    joint_map: JointMap
    reference: str
    scale: float


def skeleton_of_body(body: BodyModel, shape: Tensor | None = None) -> Skeleton:
    """The body's rest skeleton (its canonical pose at ``shape``) in the clip convention:
    Anny's pose rotations are exactly a clip's local rotations on it (each bone relative
    to its parent, in canonical world axes)."""
    with torch.no_grad():
        heads = body.forward(shape).bone_transforms[0, :, :3, 3].to(torch.float64)
    offsets = heads.clone()
    for j, parent in enumerate(body.bone_parents):
        if parent >= 0:
            offsets[j] = heads[j] - heads[parent]
    return Skeleton(tuple(body.bone_names), tuple(body.bone_parents), offsets)


def _standing(positions: Tensor, sk: Skeleton, anchors: Anchors) -> bool:
    """Whether joint positions (J, 3) show a standing body: legs below hips, neck above."""
    hips = positions[sk.index(anchors.hips)]
    up = F.normalize(positions[sk.index(anchors.neck)] - hips, dim=0)
    legs = [c for c, p in enumerate(sk.parents) if p >= 0 and _below(sk, c, anchors)]
    if not legs:
        return False
    lowest = min(float((positions[c] - hips) @ up) for c in legs)
    return lowest < -0.5 * float((positions[sk.index(anchors.neck)] - hips).norm())


def _below(sk: Skeleton, joint: int, anchors: Anchors) -> bool:
    """Whether ``joint`` is in a leg (under the left or right upper leg)."""
    legs = {sk.index(anchors.left_leg), sk.index(anchors.right_leg)}
    while joint >= 0:
        if joint in legs:
            return True
        joint = sk.parents[joint]
    return False


def _frame(positions: Tensor, sk: Skeleton, anchors: Anchors) -> Tensor:
    """(3, 3) columns: left, up, forward of a body from its joint positions (J, 3)."""
    left = positions[sk.index(anchors.left_leg)] - positions[sk.index(anchors.right_leg)]
    up = positions[sk.index(anchors.neck)] - positions[sk.index(anchors.hips)]
    up = F.normalize(up, dim=0)
    left = F.normalize(left - (left @ up) * up, dim=0)
    return torch.stack((left, up, torch.linalg.cross(left, up)), dim=1)


def _mapped_children(sk: Skeleton, mapped: set[int]) -> list[list[int]]:
    """For each joint, its nearest mapped descendants (first mapped joint on each path)."""
    children: list[list[int]] = [[] for _ in sk.names]
    for j, p in enumerate(sk.parents):
        if p >= 0:
            children[p].append(j)
    found: list[list[int]] = [[] for _ in sk.names]
    for j in range(len(sk.names)):
        stack = list(children[j])
        while stack:
            c = stack.pop()
            if c in mapped:
                found[j].append(c)
            else:
                stack += children[c]
    return found


def retarget(
    clip: Clip,
    target: Skeleton,
    pairs: tuple[tuple[str, str], ...],
    source_anchors: Anchors,
    target_anchors: Anchors,
    root: str = "ground",
) -> tuple[Clip, str, float]:
    """The clip on ``target`` (module docstring); returns (clip, reference, scale).

    pairs: (source joint, target joint); a source joint may drive several target joints.
    root: "ground" places the hips by their height above the clip's ground and their
        travel from the first frame (mocap); "rest" by their offset from the source's rest
        position (a clip made on the target's own rig keeps where it was keyed).
    """
    src = clip.skeleton
    index_pairs = [(src.index(s), target.index(t)) for s, t in pairs]
    W, positions = clip.world()
    reference = "rest"
    ref_positions = src.rest_positions()
    ref_rotations = torch.eye(3, dtype=torch.float64).expand(len(src.names), 3, 3)
    if not _standing(ref_positions, src, source_anchors):
        reference = "frame 0"
        ref_positions, ref_rotations = positions[0], W[0]
    target_rest = target.rest_positions()
    C = _frame(target_rest, target, target_anchors) @ _frame(ref_positions, src, source_anchors).T

    # A_t: target rest direction -> source reference direction (target axes).
    source_of = {t: s for s, t in index_pairs}
    mapped_source = {s for s, _ in index_pairs}
    first_target = {}
    for s, t in index_pairs:
        first_target.setdefault(s, t)
    source_children = _mapped_children(src, mapped_source)
    J = len(target.names)
    A = torch.eye(3, dtype=torch.float64).repeat(J, 1, 1)
    has_direction = [False] * J
    root_t = target.index(target_anchors.hips)
    for s, t in index_pairs:
        kids = source_children[s]
        if t == root_t or not kids:
            continue
        d_source = C @ (ref_positions[kids].mean(0) - ref_positions[s])
        d_target = target_rest[[first_target[k] for k in kids]].mean(0) - target_rest[t]
        if float(d_source.norm()) < 1e-9 or float(d_target.norm()) < 1e-9:
            continue
        A[t] = smallest_rotation(d_target.float(), d_source.float()).to(torch.float64)
        has_direction[t] = True
    for t, parent in enumerate(target.parents):  # parents first: inherit the alignment
        if not has_direction[t] and parent >= 0:
            A[t] = A[parent]

    # Q_t = C W_s(t) W_s(ref)^-1 C^T A_t for mapped joints; unmapped follow their parent.
    T = clip.frame_count
    Q = torch.eye(3, dtype=torch.float64).repeat(T, J, 1, 1)
    for t in range(J):
        if t in source_of:
            s = source_of[t]
            P = C @ W[:, s] @ ref_rotations[s].T @ C.T
            Q[:, t] = P @ A[t]
        elif target.parents[t] >= 0:
            Q[:, t] = Q[:, target.parents[t]]
    local = Q.clone()
    for t, parent in enumerate(target.parents):
        if parent >= 0:
            local[:, t] = Q[:, parent].transpose(-1, -2) @ Q[:, t]

    # Root motion, scaled by the hip heights.
    up_t = _frame(target_rest, target, target_anchors)[:, 1]
    target_height = float((target_rest[root_t] - target_rest).matmul(up_t).max())
    src_hips = src.index(source_anchors.hips)
    up_s = C.T @ up_t
    source_height = float((ref_positions[src_hips] - ref_positions).matmul(up_s).max())
    if source_height <= 1e-9 or target_height <= 1e-9:
        raise LcaError(f"{clip.source}: the skeleton has no height between hips and feet.")
    scale = target_height / source_height
    hips = positions[:, src_hips]  # (T, 3)
    if root == "rest":
        root_path = target_rest[root_t] + scale * (hips - ref_positions[src_hips]) @ C.T
    else:
        # The ground: the lowest mapped joint of the whole clip stands at its target
        # joint's rest height (a foot on the floor).
        heights = positions[:, list(mapped_source)] @ up_s  # (T, M)
        lowest = int(heights.min(0).values.argmin())
        s_low = list(mapped_source)[lowest]
        ground = float(heights[:, lowest].min())
        height = hips @ up_s - ground
        travel = C @ (hips - hips[0]).T  # (3, T) in target axes
        travel = travel - up_t[:, None] * (up_t @ travel)[None]
        target_ground = float(target_rest[first_target[s_low]] @ up_t)
        horizontal = target_rest[root_t] - up_t * (target_rest[root_t] @ up_t)
        root_path = (
            horizontal[None]
            + scale * travel.T
            + up_t[None] * (target_ground + scale * height)[:, None]
        )
    roots = [j for j, p in enumerate(target.parents) if p < 0]
    root_positions = root_path if roots == [root_t] else target.offsets[roots[0]].repeat(T, 1)
    return Clip(target, local, root_positions, clip.fps, clip.source), reference, scale


def retarget_to_body(clip: Clip, body: BodyModel, shape: Tensor | None = None) -> Retargeted:
    """The clip on ``body``'s rig at ``shape`` (Anny bone names); LcaError when too few of
    its joints find a bone."""
    joint_map = map_joints(clip.skeleton.names, tuple(body.bone_names))
    driven = {t for _, t in joint_map.pairs}
    needed = [ANNY_ANCHORS.hips, ANNY_ANCHORS.left_leg, ANNY_ANCHORS.right_leg, ANNY_ANCHORS.neck]
    if len({s for s, _ in joint_map.pairs}) < MIN_MAPPED or not all(n in driven for n in needed):
        shown = ", ".join(clip.skeleton.names[:6])
        raise LcaError(
            f"{clip.source}: its skeleton ({shown} ...) has too few joints this project "
            "knows (it needs at least hips, both upper legs and the neck or chest); rename "
            "them to Mixamo, CMU, SMPL or Anny names."
        )
    source_of = {t: s for s, t in joint_map.pairs}
    source_anchors = Anchors(*(source_of[n] for n in needed))
    target = skeleton_of_body(body, shape)
    root = "rest" if joint_map.family == "anny" else "ground"
    moved, reference, scale = retarget(
        clip, target, joint_map.pairs, source_anchors, ANNY_ANCHORS, root
    )
    return Retargeted(moved, joint_map, reference, scale)


def clip_poses(clip: Clip, expression_count: int, expressions: Tensor | None = None) -> list[Pose]:
    """A clip on a body's own skeleton (``skeleton_of_body``) -> one core Pose per frame.

    expressions: (T, E) per-frame expression values, or None for neutral.
    """
    T = clip.frame_count
    rotvecs = _rotvecs(clip.rotations)
    root = clip.root_positions - clip.skeleton.offsets[0]
    if expressions is None:
        expressions = torch.zeros(T, expression_count)
    return [Pose(rotvecs[t].float(), expressions[t].float(), root[t].float()) for t in range(T)]


def _rotvecs(R: Tensor) -> Tensor:
    """(..., 3, 3) -> (..., 3) rotation vectors, batched."""
    q = rotmat_to_quat(R)
    sin_half = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[..., :1])
    factor = torch.where(sin_half > 1e-12, angle / sin_half.clamp(min=1e-12), 2.0)
    return q[..., 1:] * factor


def pose_rotations(clip: Clip) -> Tensor:
    """(T, J, 3) the clip's local rotations as rotation vectors (radians)."""
    return _rotvecs(clip.rotations)
