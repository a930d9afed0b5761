"""``lca bench motion``: BVH reading and retargeting per 1000 frames, beside the body model's
own forward pass on the same frames (what playing the motion costs anyway)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from ..body.model import BodyModel
from ..quaternion import axis_angle_to_rotmat
from .bvh import read_bvh, write_bvh
from .clip import Clip
from .retarget import clip_poses, retarget_to_body, skeleton_of_body


def _clip_file(body: BodyModel, folder: Path, frames: int) -> Path:
    """A BVH of ``frames`` frames on the body's own skeleton with seeded random rotations:
    the same clip on every machine, so the figures compare."""
    skeleton = skeleton_of_body(body)
    g = torch.Generator().manual_seed(0)
    rotations = axis_angle_to_rotmat(
        0.2 * torch.randn(frames, len(skeleton.names), 3, generator=g, dtype=torch.float64)
    )
    roots = skeleton.offsets[0].repeat(frames, 1)
    path = folder / "bench.bvh"
    write_bvh(Clip(skeleton, rotations, roots, 30.0, "bench"), path)
    return path


def bench_motion(
    body: BodyModel,
    repeats: int,
    median_seconds: Callable[[Callable[[], object], int], tuple[float, float]],
    folder: Path,
    frames: int = 1000,
) -> None:
    """Print seconds per 1000 frames: read, retarget, and the body forward pass (ratio)."""
    path = _clip_file(body, folder, frames)
    clip = read_bvh(path).clip
    read_s, _ = median_seconds(lambda: read_bvh(path), repeats)
    retarget_s, _ = median_seconds(lambda: retarget_to_body(clip, body), repeats)
    poses = clip_poses(retarget_to_body(clip, body).clip, len(body.expression_names))
    rotations = torch.stack([p.rotations for p in poses])

    def forward() -> None:
        with torch.no_grad():
            for start in range(0, frames, 100):
                body.forward(pose=rotations[start : start + 100])

    forward_s, _ = median_seconds(forward, repeats)
    per = 1000 / frames
    print(f"BVH read ({len(clip.skeleton.names)} joints): {read_s * per:.3f} s per 1000 frames")
    print(
        f"retarget onto the avatar's rig: {retarget_s * per:.3f} s per 1000 frames, "
        f"{retarget_s / forward_s:.2f}x the body model's forward pass on the same frames "
        f"({forward_s * per:.3f} s); median of {repeats}"
    )
