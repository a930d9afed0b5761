"""``lca render --motion/--face``: an avatar animated by a body clip (BVH) and/or ARKit
face curves, to PNG frames, an MP4 and a GIF per camera.

Layout in ``--out``: ``<view>/frame_0000.png ...``, ``<view>.mp4`` and ``<view>.gif`` (the
GIF at most 15 fps and 384 pixels wide, to stay small). The camera follows the hips across the
floor (not up and down, so jumps show) and frames the whole animation around them (every
frame's Gaussians, close-ups included); ``--fixed-camera`` keeps it still, framing everything
the avatar covers. Everything is checked (avatar, clip, curves,
cameras, output names) before the first file is written; Ctrl-C leaves finished files and
no partial one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

MAX_GIF_FPS = 15.0
MAX_GIF_WIDTH = 384


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--motion", help="a body motion (.bvh) to play on the avatar")
    p.add_argument("--face", help="ARKit face curves (Live Link Face .csv or .json) to play")
    p.add_argument(
        "--fps", type=float, help="output frames per second (default: the motion's, else 30)"
    )
    p.add_argument("--frames", help="output frames A..B to render, from 0 (default: all)")
    p.add_argument(
        "--fixed-camera",
        action="store_true",
        help="keep the camera still (default: it follows the hips across the floor)",
    )


def wants_motion(args: argparse.Namespace) -> bool:
    return bool(args.motion or args.face)


def _gif_frame(image, width: int):
    from PIL import Image

    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def _moved(camera, offset):
    """The camera moved by ``offset`` (3,) in world space."""
    import dataclasses

    import torch

    shift = torch.eye(4, dtype=camera.world_to_camera.dtype)
    shift[:3, 3] = -offset.to(shift.dtype)
    return dataclasses.replace(camera, world_to_camera=camera.world_to_camera @ shift)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..avatar.lca_file import load_lca
    from ..avatar.values import require_gaussians
    from ..body import load_body_model
    from ..errors import LcaError
    from ..fileio import check_output_dir, check_output_file, ensure_writable_dir
    from ..images import rgb_image, save_gif, save_image
    from ..motion.animation import build_animation, parse_frames
    from ..posing import avatar_scene, posed_vertices
    from ..progress import StageLine
    from ..render import render
    from ..render.named_views import camera_for, parse_size, parse_view
    from ..video import ffmpeg_available, write_mp4
    from .render import stem_of

    if args.pose != "rest":
        raise LcaError("--pose and --motion/--face cannot be combined; give one or the other.")
    width, height = parse_size(args.size)
    views = [parse_view(spec, width, height) for spec in args.camera or ["front"]]
    frames = parse_frames(args.frames) if args.frames else None
    if args.fps is not None and not 1 <= args.fps <= 1000:
        raise LcaError(f"--fps {args.fps:g} is not between 1 and 1000 frames per second.")
    out = Path(args.out)
    check_output_dir(out)
    for view in views:
        for suffix in (".mp4", ".gif", ""):
            check_output_file(out / f"{stem_of(view.name)}{suffix}")
    if not ffmpeg_available():
        raise LcaError(
            "Rendering motion to MP4 needs the imageio-ffmpeg package "
            "(pip install imageio-ffmpeg==0.8.1)."
        )
    avatar = require_gaussians(load_lca(args.avatar), args.avatar)
    body = load_body_model(avatar.body.model, smplx_dir=args.smplx_dir)
    motion = face = None
    if args.motion:
        from ..motion.bvh import read_bvh

        bvh = read_bvh(args.motion)
        motion = bvh.clip
        for note in bvh.notes:
            print(note)
    if args.face:
        from ..motion.face_curves import read_face_curves

        face = read_face_curves(args.face)
        if face.unknown:
            print(f"{args.face}: columns not used: {', '.join(face.unknown[:8])}")
    animation = build_animation(avatar, body, motion, face, args.fps, frames)
    for note in animation.notes:
        print(note)

    with StageLine() as progress:
        batches = []
        count = len(animation.poses)
        for start in range(0, count, 32):
            batches.append(posed_vertices(avatar, body, animation.poses[start : start + 32]))
            progress("posing", min(1.0, (start + 32) / count))
        vertices = torch.cat(batches)
        # The camera's travel: the hips across the floor (Z up), or none.
        travel = torch.stack([p.translation for p in animation.poses]).to(vertices.dtype)
        travel[:, 2] = 0.0
        if args.fixed_camera:
            travel.zero_()
        # Frame the whole animation around the travel: Gaussian centres of 64 frames.
        means = torch.cat(
            [
                avatar_scene(avatar, vertices[t], animation.poses[t]).means - travel[t]
                for t in range(0, count, max(1, count // 64))
            ]
        )
        parts = avatar.binding.part.repeat(means.shape[0] // avatar.binding.part.shape[0])
        cameras = [
            camera_for(view, means, parts, avatar.part_names, width, height) for view in views
        ]
        out_dir = ensure_writable_dir(out)
        started = time.perf_counter()
        gif_step = max(1, round(animation.fps / MAX_GIF_FPS))
        for view, camera in zip(views, cameras, strict=True):
            stem = stem_of(view.name)
            frame_dir = ensure_writable_dir(out_dir / stem)
            gif: list = []

            def frames_of(view_name=view.name, camera=camera, frame_dir=frame_dir, gif=gif):
                for t in range(count):
                    scene = avatar_scene(avatar, vertices[t], animation.poses[t])
                    result = render(
                        scene,
                        _moved(camera, travel[t]),
                        background=args.background,
                        backend=args.backend,
                    )
                    image = rgb_image(result)
                    save_image(frame_dir / f"frame_{t:04d}.png", image)
                    if t % gif_step == 0:
                        gif.append(_gif_frame(image, MAX_GIF_WIDTH))
                    progress(f"rendering {view_name}", (t + 1) / count)
                    yield np.asarray(image)

            write_mp4(out_dir / f"{stem}.mp4", frames_of(), animation.fps)
            save_gif(out_dir / f"{stem}.gif", gif, fps=animation.fps / gif_step)
    seconds = time.perf_counter() - started
    print(
        f"Rendered {count} frame(s) x {len(views)} view(s) at {animation.fps:g} fps in "
        f"{seconds:.1f} s to {out_dir}"
    )
    return 0
