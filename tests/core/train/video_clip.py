"""A tiny video the tests make themselves: the sample person (core.recon.sample_person)
raising an arm while the camera turns, 128 x 192 pixels, then one empty grey frame (no
person, so it is skipped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.body.model import BodyModel
from core.body.poses import preset_pose, rest_pose
from core.recon.sample_person import photograph, sample_avatar, sample_camera
from core.video import write_mp4

ARM = (0.0, 0.3, 0.6)
"""The arm raise of each frame with the person in it."""


def write_clip(body: BodyModel, path: Path) -> Path:
    avatar = sample_avatar(body, count=8000)
    cameras = [sample_camera(10.0 * i, 128, 192) for i in range(len(ARM))]
    frames = [
        photograph(avatar, body, rest_pose(body) + preset_pose(body, "arm-raise", w), camera)
        for w, camera in zip(ARM, cameras, strict=True)
    ]
    frames.append(np.full_like(frames[0], 200))
    write_mp4(path, frames, fps=4)
    return path
