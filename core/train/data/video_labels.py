"""`lca data video`: a video -> a video folder (core.train.data.video_folder) of its frames,
decoded once, and each frame's pseudo-labels.

1. Decode: the frames (``fps``, ``max_frames``), shrunk so that their longer side is at most
   ``size`` pixels, written as PNG, then the manifest. A folder whose manifest says the same
   video and settings keeps its frames; one made with other settings is refused.
2. Label, frame by frame: perception (core.recon.perceive: one whole person; a frame with
   none, several or a cut-off one is skipped and its reason kept) and body fitting
   (core.recon.body_fit.fit_body). The first fitted frame fits the shape too
   (``fit_steps``), kept as the video's one shape; every later frame fits only its pose,
   expression and camera, warm-started from the last fitted frame (``track_steps``).
3. The manifest lists the labelled and skipped frames and is marked complete.

Each frame's label is written when it is done (through a temporary name and a rename), so
Ctrl-C loses at most the frame being fitted, and running again skips finished frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...body.model import BodyModel
from ...body.poses import Pose
from ...errors import PATH_LIMIT, LcaError, quoted
from ...fileio import atomic_path
from ...progress import Progress, no_progress
from .video_folder import (
    FrameLabel,
    VideoFolder,
    frame_name,
    label_path,
    read_body,
    read_label,
    read_manifest,
    read_video_folder,
    skip_path,
    write_body,
    write_label,
    write_manifest,
    write_skip,
)


@dataclass(frozen=True)
class VideoSettings:
    """fps: frames taken per second (None: every frame); max_frames: at most this many
    (None: all); size: frames' longer side at most this many pixels; fit_steps: body-fitting
    steps of the first fitted frame (shape included); track_steps: of each later frame."""

    fps: float | None = None
    max_frames: int | None = None
    size: int = 512
    fit_steps: int = 150
    track_steps: int = 30

    def __post_init__(self) -> None:
        if self.fps is not None and not self.fps > 0:
            raise LcaError(f"--fps must be above 0, not {self.fps}.")
        if self.max_frames is not None and self.max_frames < 1:
            raise LcaError(f"--max-frames must be 1 or more, not {self.max_frames}.")
        if not 64 <= self.size <= 4096:
            raise LcaError(f"--size must be 64 to 4096 pixels, not {self.size}.")
        if self.fit_steps < 1 or self.track_steps < 1:
            raise LcaError("The body-fitting steps must be 1 or more.")


def _shrunk(frame: np.ndarray, size: int) -> np.ndarray:
    """``frame`` (H, W, 3) uint8 with its longer side at most ``size`` pixels."""
    from PIL import Image

    H, W = frame.shape[:2]
    scale = size / max(H, W)
    if scale >= 1:
        return frame
    shape = (max(1, round(W * scale)), max(1, round(H * scale)))
    return np.asarray(Image.fromarray(frame).resize(shape, Image.Resampling.LANCZOS))


def decode_video(
    video: Path, folder: Path, settings: VideoSettings, progress: Progress = no_progress
) -> dict:
    """Step 1 (module docstring): the manifest of ``folder``, decoding ``video`` into it
    unless it holds that video's frames already."""
    from PIL import Image

    from ...video import read_frames

    wanted = {
        "source": video.name,
        "fps": settings.fps,
        "max_frames": settings.max_frames,
        "size": settings.size,
    }
    if (folder / "manifest.json").exists():
        manifest = read_manifest(folder)
        if {k: manifest.get(k) for k in wanted} != wanted:
            raise LcaError(
                f"Video folder {quoted(folder, PATH_LIMIT)} holds frames of another video or "
                "other settings; choose another --out or delete it."
            )
        return manifest
    names, size = [], None
    limit = settings.max_frames
    for i, frame in enumerate(read_frames(video, settings.fps, limit)):
        progress(f"decoding {video.name}", i / limit if limit else 0.0)
        frame = _shrunk(frame, settings.size)
        if size is None:  # the video is readable: now the folder is made
            size = frame.shape[:2]
            (folder / "frames").mkdir(parents=True, exist_ok=True)
        name = f"frames/{frame_name(i)}.png"
        with atomic_path(folder / name) as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")
        names.append(name)
    progress(f"decoding {video.name}", 1.0)
    manifest = dict(
        wanted,
        width=int(size[1]),
        height=int(size[0]),
        frames=names,
        fit_steps=[settings.fit_steps, settings.track_steps],
        complete=False,
    )
    write_manifest(folder, manifest)
    return manifest


def _perceive(folder: Path, name: str):
    """The one whole person in a frame, or the sentence why not."""
    from ...recon.errors import PerceptionError
    from ...recon.images import Photo
    from ...recon.perception import perceive
    from .video_folder import read_frame

    rgb = read_frame(folder, folder / name, f"Video folder {quoted(folder, PATH_LIMIT)}")
    rgb.setflags(write=False)
    H, W = rgb.shape[:2]
    photo = Photo(rgb=rgb, path=folder / name, original_size=(W, H), scale=1.0, format="PNG")
    try:
        return perceive(photo), None
    except PerceptionError as err:
        return None, str(err)


def _start(perception, label: FrameLabel):
    """The FittedView of ``label`` for a warm start of the frame ``perception`` sees."""
    from ...recon.fit_types import FittedView

    pose = Pose(label.rotations, label.expression, torch.zeros(3))
    return FittedView(perception, pose, label.camera)


def label_video(
    body: BodyModel, folder: Path, manifest: dict, settings: VideoSettings, progress: Progress
) -> None:
    """Step 2 (module docstring): every frame without a label or a skip note gets one."""
    from ...recon.body_fit import fit_body

    frames = manifest["frames"]
    W, H = int(manifest["width"]), int(manifest["height"])
    shape = read_body(folder)
    last: FrameLabel | None = None
    stage = f"labelling {manifest['source']}"
    for i, name in enumerate(frames):
        progress(stage, i / len(frames))
        if label_path(folder, i).exists():
            last = read_label(folder, i, W, H)
            continue
        if skip_path(folder, i).exists():
            continue
        perception, reason = _perceive(folder, name)
        if perception is None:
            write_skip(folder, i, reason)
            continue
        if shape is None:
            fit = fit_body(body, [perception], steps=settings.fit_steps)
            write_body(folder, fit.shape, i)
            shape = fit.shape
        else:
            start = _start(perception, last) if last is not None else None
            steps = settings.track_steps if start is not None else settings.fit_steps
            fit = fit_body(body, [perception], steps=steps, shape=shape, start=start)
        view = fit.views[0]
        mask = torch.from_numpy((np.clip(perception.mask, 0, 1) * 255 + 0.5).astype(np.uint8))
        pose = view.pose
        last = FrameLabel(i, mask, pose.rotations, pose.expression, view.camera, fit.loss)
        write_label(folder, last)
    progress(stage, 1.0)


def make_video_folder(
    body: BodyModel,
    video: Path | str,
    folder: Path | str,
    settings: VideoSettings,
    progress: Progress = no_progress,
) -> VideoFolder:
    """The video folder of ``video`` in ``folder`` (module docstring), made or finished."""
    import json

    video, folder = Path(video), Path(folder)
    manifest = decode_video(video, folder, settings, progress)
    label_video(body, folder, manifest, settings, progress)
    labelled, skipped = [], []
    for i in range(len(manifest["frames"])):
        if label_path(folder, i).exists():
            labelled.append(i)
        else:
            note = json.loads(skip_path(folder, i).read_text())
            skipped.append({"frame": i, "reason": str(note.get("reason", ""))})
    manifest = {k: v for k, v in manifest.items() if k not in ("kind", "schema")}
    write_manifest(folder, dict(manifest, labelled=labelled, skipped=skipped, complete=True))
    return read_video_folder(folder)
