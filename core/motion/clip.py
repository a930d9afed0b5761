"""The neutral motion clip every reader makes and the retargeter takes.

A clip is a skeleton (names, parents, rest offsets) and, per frame, each joint's rotation
relative to its parent and the root's position. It follows BVH's conventions, which every
source (BVH files, FBX through Blender, the avatar's own rig) can be written in:

- ``world_rotation_j = world_rotation_parent(j) @ rotations[t, j]`` (a root: ``rotations[t, j]``);
- ``position_j = position_parent(j) + world_rotation_parent(j) @ offsets[j]``;
- a root's position is ``root_positions[t]`` (BVH's position channels), in the clip's units.

At rotation zero every joint frame is the world frame: the skeleton's rest pose is given by
its offsets alone (a T-pose for most mocap; an A-pose for Anny). Axes are the source's own
(Y-up for most BVH); the retargeter finds up and facing from the rest pose, so none is
assumed here.

Letters: T frames, J joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..deform.skinning import forward_kinematics
from ..errors import LcaError


@dataclass(frozen=True)
class Skeleton:
    """names: J joint names, unique; parents: J indices, -1 for the root, parents first;
    offsets: (J, 3) float64 rest offset of each joint from its parent (a root's: its rest
    position), in the clip's units."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: Tensor

    def __post_init__(self) -> None:
        J = len(self.names)
        if J == 0:
            raise LcaError("The skeleton has no joints.")
        if len(set(self.names)) != J:
            seen = {n for n in self.names if self.names.count(n) > 1}
            raise LcaError(f"The skeleton names joint '{sorted(seen)[0]}' more than once.")
        if len(self.parents) != J or any(p >= j for j, p in enumerate(self.parents)):
            raise LcaError("Each joint's parent must come before it in the skeleton.")
        if tuple(self.offsets.shape) != (J, 3) or not bool(torch.isfinite(self.offsets).all()):
            raise LcaError(f"The skeleton needs {J} finite rest offsets.")

    def index(self, name: str) -> int:
        return self.names.index(name)

    def rest_positions(self) -> Tensor:
        """(J, 3) joint positions in the rest pose (every rotation zero)."""
        positions = self.offsets.clone()
        for j, parent in enumerate(self.parents):
            if parent >= 0:
                positions[j] = positions[parent] + self.offsets[j]
        return positions


@dataclass(frozen=True)
class Clip:
    """rotations: (T, J, 3, 3) float64 local rotations (module docstring); root_positions:
    (T, 3) float64; fps: frames per second; source: where it came from (for messages)."""

    skeleton: Skeleton
    rotations: Tensor
    root_positions: Tensor
    fps: float
    source: str = "clip"

    def __post_init__(self) -> None:
        J = len(self.skeleton.names)
        T = self.rotations.shape[0] if self.rotations.ndim == 4 else -1
        if T < 1 or tuple(self.rotations.shape) != (T, J, 3, 3):
            raise LcaError(f"{self.source} needs rotations for {J} joints in at least 1 frame.")
        if tuple(self.root_positions.shape) != (T, 3):
            raise LcaError(f"{self.source} needs one root position per frame.")
        if not (self.fps > 0 and self.fps < 10000):
            raise LcaError(f"{self.source} has a frame rate of {self.fps:g}; it must be 0-10000.")
        if not (torch.isfinite(self.rotations).all() and torch.isfinite(self.root_positions).all()):
            raise LcaError(f"{self.source} has values that are not finite numbers.")

    @property
    def frame_count(self) -> int:
        return self.rotations.shape[0]

    def world(self) -> tuple[Tensor, Tensor]:
        """World rotations (T, J, 3, 3) and joint positions (T, J, 3) of every frame."""
        T, J = self.rotations.shape[:2]
        local = torch.zeros(T, J, 4, 4, dtype=torch.float64)
        local[..., :3, :3] = self.rotations
        local[..., :3, 3] = self.skeleton.offsets.to(torch.float64)
        local[..., 3, 3] = 1.0
        roots = [j for j, p in enumerate(self.skeleton.parents) if p < 0]
        local[:, roots, :3, 3] = self.root_positions[:, None].to(torch.float64)
        world = forward_kinematics(local, self.skeleton.parents)
        return world[..., :3, :3], world[..., :3, 3]

    def frames(self, start: int, stop: int) -> Clip:
        """Frames start..stop-1 as a clip of their own."""
        return Clip(
            self.skeleton,
            self.rotations[start:stop],
            self.root_positions[start:stop],
            self.fps,
            self.source,
        )


def resample(clip: Clip, fps: float) -> Clip:
    """The clip at another frame rate, same duration: root positions interpolated linearly,
    rotations by normalised linear blend of the neighbouring frames' quaternions (slerp to
    within 0.1 degree for neighbouring frames of mocap)."""
    from ..quaternion import quat_to_rotmat, rotmat_to_quat

    if abs(fps - clip.fps) < 1e-9:
        return clip
    T = clip.frame_count
    duration = (T - 1) / clip.fps
    count = max(1, int(round(duration * fps)) + 1)
    t = torch.arange(count, dtype=torch.float64) * (clip.fps / fps)
    t = t.clamp(max=T - 1)
    lo = t.floor().long()
    hi = (lo + 1).clamp(max=T - 1)
    w = (t - lo)[:, None]
    q = rotmat_to_quat(clip.rotations)
    q_lo, q_hi = q[lo], q[hi]
    sign = torch.where((q_lo * q_hi).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(q.dtype)
    blended = q_lo * (1 - w[..., None]) + q_hi * sign * w[..., None]
    blended = blended / blended.norm(dim=-1, keepdim=True)
    positions = clip.root_positions[lo] * (1 - w) + clip.root_positions[hi] * w
    return Clip(clip.skeleton, quat_to_rotmat(blended), positions, fps, clip.source)
