"""`lca demo`: photo -> avatar -> posed renders, on the embedded default input or your photo.

With no photo, the demo photographs the project's own sample person
(core.recon.sample_person) from the front and in a face close-up, and creates the avatar
from both photos through the whole `lca create` pipeline (perception, body fit, the
close-up's head and camera, appearance). Writes to the output folder:
    input/sample_front.png, input/sample_face.png   the default input (only when no photo
                                    is given)
    avatar.lca, avatar.ply          the created avatar (canonical pose) and its 3DGS PLY
    comparison.png                  the photo beside the avatar rendered in the fitted pose
                                    and camera (the self view)
    posed/*.png                     arm raised, fingers curled, smiling: full body, three
                                    quarter, face and left-hand close-ups
    turntable/view_00.png .. view_07.png and turntable.gif    8 views around the avatar
    animation/frame_000.png ..  and animation.gif   arm raise, finger curl, smile, jawOpen,
        eyeBlinkLeft; each frame shows the full body, a face close-up and a left-hand close-up
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .avatar.avatar import Avatar
from .avatar.lca_file import load_lca, save_lca
from .body.model import BodyModel
from .body.poses import Pose, parse_pose, preset_pose, rest_pose
from .create_settings import CreateSettings
from .fileio import ensure_writable_dir
from .images import rgb_image, save_gif, save_image
from .posing import avatar_scene, export_avatar_ply, posed_vertices
from .progress import Progress, no_progress
from .render import render
from .render.named_views import camera_for

BACKGROUND = (0.16, 0.17, 0.19)
POSED = "arm-raise+finger-curl+smile"
"""The pose of the posed stills."""
POSED_VIEWS = ("front", "three-quarter", "face", "hand.L")
DEFAULT_SETTINGS = CreateSettings(quality="draft")
"""`lca demo` creates at draft quality (about a minute on a CPU) unless told otherwise."""


@dataclass(frozen=True)
class DemoResult:
    photo: Path
    avatar: Path
    ply: Path
    comparison: Path
    posed: list[Path]
    turntable: list[Path]
    animation: list[Path]
    psnr: float
    seconds: float


def _smoothstep(a: float, b: float, t: float) -> float:
    x = min(max((t - a) / (b - a), 0.0), 1.0)
    return x * x * (3 - 2 * x)


def _bump(a: float, b: float, t: float) -> float:
    """0 outside [a, b], rising to 1 in the middle."""
    return math.sin(math.pi * min(max((t - a) / (b - a), 0.0), 1.0)) ** 2


def animation_weights(t: float) -> dict[str, float]:
    """Preset weights at time t in [0, 1]: the arm rises, the fingers curl, a smile, the jaw
    opens, the left eye blinks."""
    return {
        "arm-raise": _smoothstep(0.0, 0.35, t),
        "finger-curl": _smoothstep(0.3, 0.6, t),
        "smile": _bump(0.35, 0.65, t),
        "jaw-open": _bump(0.6, 0.85, t),
        "blink-left": _bump(0.82, 0.98, t),
    }


def animation_pose(presets: dict[str, Pose], t: float, base: Pose) -> Pose:
    pose = base
    for name, weight in animation_weights(t).items():
        pose = pose + presets[name].scaled(weight)
    return pose


def default_photos(body: BodyModel, out_dir: Path) -> list[Path]:
    """Photograph the sample person (front view and face close-up) into ``out_dir/input``."""
    from .recon.sample_person import write_sample_photos

    return write_sample_photos(body, ensure_writable_dir(out_dir / "input"), ("front", "face"))


def _camera(spec: str, avatar: Avatar, means: torch.Tensor, width: int, height: int):
    return camera_for(spec, means, avatar.binding.part, avatar.part_names, width, height)


def _comparison(photo: Path, avatar: Avatar, body: BodyModel, fit, size: int) -> Image.Image:
    """The photo beside the avatar rendered in the fitted pose and camera of that photo."""
    from .recon.images import load_photo

    view = fit.views[0]
    vertices = posed_vertices(avatar, body, [view.pose])[0]
    with torch.no_grad():
        result = render(
            avatar_scene(avatar, vertices, view.pose), view.camera, background=(1.0, 1.0, 1.0)
        )
    shown = Image.fromarray(load_photo(photo).rgb)
    rendered = rgb_image(result).resize(shown.size)
    scale = size / shown.height
    width = round(shown.width * scale)
    panel = Image.new("RGB", (2 * width, size), (255, 255, 255))
    panel.paste(shown.resize((width, size), Image.LANCZOS), (0, 0))
    panel.paste(rendered.resize((width, size), Image.LANCZOS), (width, 0))
    return panel


def _posed_stills(avatar: Avatar, body: BodyModel, out_dir: Path, size: int) -> list[Path]:
    pose = parse_pose(body, POSED)
    vertices = posed_vertices(avatar, body, [pose])[0]
    scene = avatar_scene(avatar, vertices, pose)
    directory = ensure_writable_dir(out_dir / "posed")
    paths = []
    for spec in POSED_VIEWS:
        side = size if spec in ("front", "three-quarter") else size // 2
        camera = _camera(spec, avatar, scene.means, side, side)
        with torch.no_grad():
            image = rgb_image(render(scene, camera, background=BACKGROUND))
        path = directory / f"{spec.replace('.', '_')}.png"
        save_image(path, image)
        paths.append(path)
    return paths


def _turntable(avatar: Avatar, out_dir: Path, size: int) -> list[Path]:
    directory = ensure_writable_dir(out_dir / "turntable")
    scene = avatar_scene(avatar)
    paths, frames = [], []
    for i in range(8):
        camera = _camera(f"orbit:{45 * i}", avatar, scene.means, size, size)
        with torch.no_grad():
            image = rgb_image(render(scene, camera, background=BACKGROUND))
        path = directory / f"view_{i:02d}.png"
        save_image(path, image)
        paths.append(path)
        frames.append(image)
    save_gif(out_dir / "turntable.gif", frames, fps=2.0)
    return paths


def _animation(
    avatar: Avatar, body: BodyModel, out_dir: Path, frames: int, size: int, progress: Progress
) -> list[Path]:
    presets = {name: preset_pose(body, name) for name in animation_weights(0.0)}
    base = rest_pose(body)
    times = [i / max(frames - 1, 1) for i in range(frames)]
    poses = [animation_pose(presets, t, base) for t in times]
    vertices = posed_vertices(avatar, body, poses)
    # One full-body camera for the whole clip, framed on the rest and the final pose.
    rest_means = avatar_scene(avatar).means
    both = torch.cat((rest_means, avatar_scene(avatar, vertices[-1], poses[-1]).means))
    both_parts = torch.cat((avatar.binding.part, avatar.binding.part))
    body_camera = camera_for("front", both, both_parts, avatar.part_names, size, size)
    face_camera = _camera("face", avatar, rest_means, size // 2, size // 2)
    directory = ensure_writable_dir(out_dir / "animation")
    paths, images = [], []
    for i in range(frames):
        progress("animation", i / frames)
        scene = avatar_scene(avatar, vertices[i], poses[i])
        hand_camera = _camera("hand.L", avatar, scene.means, size // 2, size // 2)
        panel = Image.new("RGB", (size + size // 2, size))
        with torch.no_grad():
            panel.paste(rgb_image(render(scene, body_camera, background=BACKGROUND)), (0, 0))
            panel.paste(rgb_image(render(scene, face_camera, background=BACKGROUND)), (size, 0))
            hand = rgb_image(render(scene, hand_camera, background=BACKGROUND))
        panel.paste(hand, (size, size // 2))
        path = directory / f"frame_{i:03d}.png"
        save_image(path, panel)
        paths.append(path)
        images.append(panel)
    progress("animation", 1.0)
    save_gif(out_dir / "animation.gif", images, fps=12.0)
    return paths


def run_demo(
    out_dir: Path,
    photo: Path | None = None,
    settings: CreateSettings = DEFAULT_SETTINGS,
    frames: int = 24,
    size: int = 512,
    progress: Progress = no_progress,
) -> DemoResult:
    """Create an avatar from ``photo`` (default: the sample person's front photo and face
    close-up) with ``settings`` and render it posed: ``frames`` animation frames, full-body
    images ``size`` pixels square."""
    from .body.anny_body import AnnyBody
    from .recon.create import create_avatar

    start = time.perf_counter()
    out_dir = ensure_writable_dir(Path(out_dir))
    body = AnnyBody()
    photos = [Path(photo)] if photo is not None else []
    if photo is None:
        progress("sample photo", 0.0)
        photos = default_photos(body, out_dir)
        photo = photos[0]
        progress("sample photo", 1.0)
    created = create_avatar(photos, settings, progress=progress)
    lca_path, ply_path = out_dir / "avatar.lca", out_dir / "avatar.ply"
    from .rig import build_rig

    save_lca(created.avatar, lca_path, build_rig(body, created.avatar))  # with its rig
    export_avatar_ply(created.avatar, ply_path)
    avatar = load_lca(lca_path)  # render what was written, not what is in memory

    progress("renders", 0.0)
    comparison = out_dir / "comparison.png"
    save_image(comparison, _comparison(Path(photo), avatar, body, created.fit, size))
    posed = _posed_stills(avatar, body, out_dir, size)
    progress("renders", 0.5)
    turntable = _turntable(avatar, out_dir, size)
    progress("renders", 1.0)
    animation = _animation(avatar, body, out_dir, frames, size, progress)
    return DemoResult(
        photo=Path(photo),
        avatar=lca_path,
        ply=ply_path,
        comparison=comparison,
        posed=posed,
        turntable=turntable,
        animation=animation,
        psnr=created.psnr[0],
        seconds=time.perf_counter() - start,
    )
