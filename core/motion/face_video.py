"""Synthetic face videos with known ARKit weights: Anny's head as a Gaussian avatar, rendered
by ``core.render`` in each expression and written as an H.264 MP4 by ``imageio_ffmpeg``.
For the accuracy test of face capture and for `lca bench face-capture`.

Letters: N frames, E expressions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..avatar.avatar import BINDING_FIELDS, Avatar
from ..body.anny_body import anny_uv_regions
from ..body.model import BodyModel
from ..body.parts import in_parts
from ..body.poses import rest_pose
from ..deform.template import make_starter_avatar
from ..fileio import atomic_path
from ..posing import avatar_scene, posed_vertices
from ..recon.sample_person import backdrop, dress
from ..render import render
from ..render.named_views import camera_for

HEAD_PARTS = ("head", "neck", "eyes")


def face_avatar(body: BodyModel, count: int = 400_000, seed: int = 0) -> Avatar:
    """The starter avatar of ``body`` (default shape, skin, eyes, mouth, dark hair) with only
    the Gaussians of the head, neck and eyes kept (about 12% of ``count``), sharp enough in a
    face close-up for MediaPipe."""
    avatar = dress(make_starter_avatar(body, count, seed, regions=anny_uv_regions(body.uvs)))
    keep = in_parts(avatar.binding.part, avatar.part_names, HEAD_PARTS)
    fields = {f: getattr(avatar.binding, f)[keep] for f in BINDING_FIELDS}
    return dataclasses.replace(avatar, binding=dataclasses.replace(avatar.binding, **fields))


def face_frames(
    avatar: Avatar, body: BodyModel, expressions: torch.Tensor, width: int, height: int
) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames of ``avatar`` in each expression (N, E) in ``body`` order,
    seen by the ``face`` close-up camera of the neutral face, over the studio backdrop."""
    camera = camera_for("face", avatar_scene(avatar).means, avatar.binding.part,
                        avatar.part_names, width, height)  # fmt: skip
    wall = backdrop(width, height)
    frames = []
    for expression in expressions:
        pose = dataclasses.replace(rest_pose(body), expression=expression.float())
        vertices = posed_vertices(avatar, body, [pose])[0]
        with torch.no_grad():
            result = render(
                avatar_scene(avatar, vertices, pose), camera, background=(0.0, 0.0, 0.0)
            )
        rgb = result.rgb.clamp(0, 1).cpu().numpy()
        alpha = result.alpha.cpu().numpy()[..., None]
        frames.append(((rgb + (1 - alpha) * wall).clip(0, 1) * 255 + 0.5).astype(np.uint8))
    return frames


def write_video(path: Path | str, frames: list[np.ndarray], fps: float) -> None:
    """Write equally sized (H, W, 3) uint8 frames as an H.264 MP4 (near lossless), atomically."""
    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", macro_block_size=1,
            output_params=["-crf", "12", "-f", "mp4"], ffmpeg_log_level="error",
        )  # fmt: skip
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
