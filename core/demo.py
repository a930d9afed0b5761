"""`lca demo`: a starter avatar, a turntable and a short animation, rendered from Gaussians.

Writes to the output folder:
    avatar.lca, avatar.ply              the starter avatar (canonical pose) and its 3DGS PLY
    turntable/view_00.png .. view_07.png and turntable.gif    8 views around the avatar
    animation/frame_000.png ..  and animation.gif   arm raise, finger curl, jawOpen,
        eyeBlinkLeft; each frame shows the full body, a face close-up and a left-hand close-up
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from .avatar.lca_file import load_lca, save_lca
from .avatar.ply import export_avatar_ply
from .avatar.starter import make_starter_avatar
from .body.anny_body import AnnyBody, anny_uv_regions
from .body.poses import Pose, preset_pose, rest_pose
from .fileio import ensure_writable_dir
from .images import rgb_image, save_gif, save_image
from .posing import avatar_scene, posed_vertices
from .render import render
from .views import camera_for

BACKGROUND = (0.16, 0.17, 0.19)


@dataclass(frozen=True)
class DemoResult:
    avatar: Path
    ply: Path
    turntable: list[Path]
    animation: list[Path]
    seconds: float


def _smoothstep(a: float, b: float, t: float) -> float:
    x = min(max((t - a) / (b - a), 0.0), 1.0)
    return x * x * (3 - 2 * x)


def _bump(a: float, b: float, t: float) -> float:
    """0 outside [a, b], rising to 1 in the middle."""
    return math.sin(math.pi * min(max((t - a) / (b - a), 0.0), 1.0)) ** 2


def animation_weights(t: float) -> dict[str, float]:
    """Preset weights at time t in [0, 1]: the arm rises, the fingers curl, the jaw opens,
    the left eye blinks."""
    return {
        "arm-raise": _smoothstep(0.0, 0.35, t),
        "finger-curl": _smoothstep(0.3, 0.6, t),
        "jaw-open": _bump(0.5, 0.85, t),
        "blink-left": _bump(0.82, 0.98, t),
    }


def animation_pose(presets: dict[str, Pose], t: float, base: Pose) -> Pose:
    pose = base
    for name, weight in animation_weights(t).items():
        pose = pose + presets[name].scaled(weight)
    return pose


def run_demo(
    out_dir: Path, count: int = 120_000, frames: int = 24, size: int = 512, seed: int = 0
) -> DemoResult:
    start = time.perf_counter()
    out_dir = ensure_writable_dir(Path(out_dir))
    body = AnnyBody()
    print(f"Making a starter avatar of {count:,} Gaussians on the Anny body ...", flush=True)
    avatar = make_starter_avatar(body, count=count, seed=seed, regions=anny_uv_regions(body.uvs))
    lca_path, ply_path = out_dir / "avatar.lca", out_dir / "avatar.ply"
    save_lca(avatar, lca_path)
    export_avatar_ply(avatar, ply_path)
    avatar = load_lca(lca_path)  # render what was written, not what is in memory
    background = BACKGROUND

    turntable_dir = ensure_writable_dir(out_dir / "turntable")
    rest_scene = avatar_scene(avatar)
    turntable, turntable_frames = [], []
    for i in tqdm(range(8), desc="turntable", unit="view"):
        camera = camera_for(
            f"orbit:{45 * i}", rest_scene.means, avatar.binding.part, avatar.part_names, size, size
        )
        image = rgb_image(render(rest_scene, camera, background=background))
        path = turntable_dir / f"view_{i:02d}.png"
        save_image(path, image)
        turntable.append(path)
        turntable_frames.append(image)
    save_gif(out_dir / "turntable.gif", turntable_frames, fps=2.0)

    presets = {name: preset_pose(body, name) for name in animation_weights(0.0)}
    base = rest_pose(body)
    times = [i / max(frames - 1, 1) for i in range(frames)]
    vertices = posed_vertices(avatar, body, [animation_pose(presets, t, base) for t in times])
    # One full-body camera for the whole clip, framed on the rest and the final pose.
    final_scene = avatar_scene(avatar, vertices[-1])
    both = torch.cat((rest_scene.means, final_scene.means))
    both_parts = torch.cat((avatar.binding.part, avatar.binding.part))
    body_camera = camera_for("front", both, both_parts, avatar.part_names, size, size)
    face_camera = camera_for(
        "face", rest_scene.means, avatar.binding.part, avatar.part_names, size // 2, size // 2
    )
    animation_dir = ensure_writable_dir(out_dir / "animation")
    animation, animation_frames = [], []
    for i in tqdm(range(frames), desc="animation", unit="frame"):
        scene = avatar_scene(avatar, vertices[i])
        hand_camera = camera_for(
            "hand.L", scene.means, avatar.binding.part, avatar.part_names, size // 2, size // 2
        )
        panel = Image.new("RGB", (size + size // 2, size))
        panel.paste(rgb_image(render(scene, body_camera, background=background)), (0, 0))
        panel.paste(rgb_image(render(scene, face_camera, background=background)), (size, 0))
        panel.paste(rgb_image(render(scene, hand_camera, background=background)), (size, size // 2))
        path = animation_dir / f"frame_{i:03d}.png"
        save_image(path, panel)
        animation.append(path)
        animation_frames.append(panel)
    save_gif(out_dir / "animation.gif", animation_frames, fps=12.0)
    return DemoResult(
        avatar=lca_path,
        ply=ply_path,
        turntable=turntable,
        animation=animation,
        seconds=time.perf_counter() - start,
    )
