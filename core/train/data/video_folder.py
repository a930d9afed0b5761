"""Video folders: one video's frames, decoded once, with per-frame pseudo-labels (the
person's mask and the body fitted to it) cached beside them (docs/data.md).

    <folder>/
      manifest.json              kind "lca-video", schema 1 (fields below)
      frames/000000.png ...      the decoded frames, sRGB, all one size
      body.safetensors           the video's one body shape (S,)
      labels/000000.safetensors  a fitted frame: mask, pose, expression, camera
      labels/000002.json         a skipped frame: {"frame": 2, "reason": "..."}

manifest.json: ``kind``, ``schema``, ``source`` (the video's file name), ``fps`` (the rate
frames were taken at, null: every frame), ``max_frames`` (null: all), ``size`` (the longer
side frames were shrunk to, null: as decoded), ``width``, ``height``, ``frames`` (the frame
files, in order), ``fit_steps`` (body-fitting steps of the first fitted frame and of each
warm-started one), and, once every frame is labelled, ``labelled`` (frame numbers with a
label), ``skipped`` ([{"frame", "reason"}]) and ``complete`` true.

A label file holds ``mask`` (H, W) uint8 (255 = person), ``rotations`` (J, 3),
``expression`` (E,), ``K`` (3, 3) and ``world_to_camera`` (4, 4) (OpenCV, docs/conventions.md),
float32; its header: kind "lca-video-label", schema 1, ``frame``, ``loss`` (the fit's).
body.safetensors holds ``shape`` (S,) float32; header: kind "lca-video-body", schema 1,
``frame`` (the frame it was fitted on).

:func:`read_video_folder` checks all of it and refuses, in one sentence each: a missing
folder or manifest, another kind or version, an unfinished folder, counts that do not add
up, a missing frame or label, a label of another size or body.

Letters: F frames, H x W pixels, J bones, E expressions, S shape parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...errors import PATH_LIMIT, LcaError, quoted
from ...fileio import atomic_write_bytes, read_json
from ...model.tensor_file import read_tensor_file, write_tensor_file
from ...render.types import Camera

VIDEO_SCHEMA = 1
KIND = "lca-video"
LABEL_KIND = "lca-video-label"
BODY_KIND = "lca-video-body"
MANIFEST = "manifest.json"
BODY_FILE = "body.safetensors"
LABEL_TENSORS = ("mask", "rotations", "expression", "K", "world_to_camera")


@dataclass(frozen=True)
class FrameLabel:
    """The pseudo-labels of one frame: mask (H, W) uint8, 255 = person; rotations (J, 3)
    and expression (E,) of the fitted pose (zero translation, as body fitting leaves it);
    camera: the frame's fitted OpenCV camera; loss: the fit's final loss."""

    frame: int
    mask: Tensor
    rotations: Tensor
    expression: Tensor
    camera: Camera
    loss: float


@dataclass(frozen=True)
class VideoFolder:
    """A checked video folder: frames (F paths, in order); shape (S,) the video's body shape;
    labels: one per fitted frame, in frame order; skipped: (frame, reason) of the others."""

    folder: Path
    manifest: dict
    frames: tuple[Path, ...]
    shape: Tensor
    labels: tuple[FrameLabel, ...]
    skipped: tuple[tuple[int, str], ...]

    @property
    def width(self) -> int:
        return int(self.manifest["width"])

    @property
    def height(self) -> int:
        return int(self.manifest["height"])

    def image(self, frame: int) -> Tensor:
        """(H, W, 3) uint8 frame ``frame``; a missing or broken file raises LcaError."""
        return torch.from_numpy(read_frame(self.folder, self.frames[frame], self._shown()))

    def _shown(self) -> str:
        return f"Video folder {quoted(self.folder, PATH_LIMIT)}"


def frame_name(frame: int) -> str:
    return f"{frame:06d}"


def label_path(folder: Path, frame: int) -> Path:
    return folder / "labels" / f"{frame_name(frame)}.safetensors"


def skip_path(folder: Path, frame: int) -> Path:
    return folder / "labels" / f"{frame_name(frame)}.json"


def write_manifest(folder: Path, manifest: dict) -> None:
    data = json.dumps({"kind": KIND, "schema": VIDEO_SCHEMA, **manifest}, indent=1)
    atomic_write_bytes(folder / MANIFEST, data.encode())


def write_label(folder: Path, label: FrameLabel) -> None:
    tensors = {
        "mask": label.mask.to(torch.uint8),
        "rotations": label.rotations.float(),
        "expression": label.expression.float(),
        "K": label.camera.K.float(),
        "world_to_camera": label.camera.world_to_camera.float(),
    }
    header = {"kind": LABEL_KIND, "schema": VIDEO_SCHEMA, "frame": label.frame, "loss": label.loss}
    write_tensor_file(label_path(folder, label.frame), tensors, header)


def write_skip(folder: Path, frame: int, reason: str) -> None:
    data = json.dumps({"frame": frame, "reason": reason})
    atomic_write_bytes(skip_path(folder, frame), data.encode())


def write_body(folder: Path, shape: Tensor, frame: int) -> None:
    header = {"kind": BODY_KIND, "schema": VIDEO_SCHEMA, "frame": frame}
    write_tensor_file(folder / BODY_FILE, {"shape": shape.float()}, header)


def read_body(folder: Path) -> Tensor | None:
    """The video's shape (S,), or None before the first frame was fitted."""
    if not (folder / BODY_FILE).exists():
        return None
    shown = f"Video folder {quoted(folder, PATH_LIMIT)}"
    tensors, header = read_tensor_file(folder / BODY_FILE, "Body file")
    shape = tensors.get("shape")
    if header.get("kind") != BODY_KIND or shape is None or shape.ndim != 1:
        raise LcaError(f"{shown} has a broken {BODY_FILE}; delete the folder and make it again.")
    if not bool(shape.isfinite().all()):
        raise LcaError(f"{shown} has non-finite values in {BODY_FILE}; make it again.")
    return shape


def read_label(folder: Path, frame: int, width: int, height: int) -> FrameLabel:
    """The label of ``frame``; a broken one raises LcaError naming the folder and frame."""
    shown = f"Video folder {quoted(folder, PATH_LIMIT)}"
    tensors, header = read_tensor_file(label_path(folder, frame), "Label")
    if header.get("kind") != LABEL_KIND or header.get("schema") != VIDEO_SCHEMA:
        raise LcaError(
            f"{shown}: the label of frame {frame} is not a version-{VIDEO_SCHEMA} label."
        )
    missing = [n for n in LABEL_TENSORS if n not in tensors]
    if missing or header.get("frame") != frame:
        raise LcaError(f"{shown}: the label of frame {frame} is incomplete; make the folder again.")
    mask = tensors["mask"]
    if mask.dtype != torch.uint8 or tuple(mask.shape) != (height, width):
        raise LcaError(
            f"{shown}: the mask of frame {frame} is not {width}x{height} bytes like its frames."
        )
    rotations, expression = tensors["rotations"], tensors["expression"]
    if rotations.ndim != 2 or rotations.shape[1] != 3 or expression.ndim != 1:
        raise LcaError(f"{shown}: the pose of frame {frame} is broken; make the folder again.")
    for name in ("rotations", "expression", "K", "world_to_camera"):
        if not bool(tensors[name].isfinite().all()):
            raise LcaError(f"{shown}: the label of frame {frame} has non-finite '{name}'.")
    try:
        camera = Camera(tensors["K"], tensors["world_to_camera"], width, height)
    except (ValueError, RuntimeError) as err:
        raise LcaError(
            f"{shown}: the camera of frame {frame} is broken ({str(err).rstrip('.')})."
        ) from None
    return FrameLabel(frame, mask, rotations, expression, camera, float(header.get("loss", 0.0)))


def read_frame(folder: Path, path: Path, shown: str) -> np.ndarray:
    """(H, W, 3) uint8 of the frame file ``path``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB")).copy()
    except FileNotFoundError:
        raise LcaError(
            f"{shown} lacks frame {quoted(path.name, 80)}; make the folder again."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise LcaError(f"{shown}: frame {quoted(path.name, 80)} is not a readable PNG.") from None


def read_manifest(folder: Path) -> dict:
    """The manifest of ``folder`` after its kind and version are checked."""
    folder = Path(folder)
    shown = f"Video folder {quoted(folder, PATH_LIMIT)}"
    if not folder.is_dir():
        raise LcaError(f"{shown} does not exist; make one with `lca data video VIDEO --out DIR`.")
    if not (folder / MANIFEST).is_file():
        raise LcaError(
            f"{shown} has no {MANIFEST}, so it is not a video folder of `lca data video`."
        )
    manifest = read_json(folder / MANIFEST, "Video manifest")
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise LcaError(f"{shown} has a {MANIFEST} of another kind; make it with `lca data video`.")
    if manifest.get("schema") != VIDEO_SCHEMA:
        raise LcaError(
            f"{shown} is version {quoted(manifest.get('schema'))}, not {VIDEO_SCHEMA}; make it "
            "again with this version's `lca data video`."
        )
    frames = manifest.get("frames")
    width, height = manifest.get("width"), manifest.get("height")
    if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames) or not frames:
        raise LcaError(f"{shown}: {MANIFEST} lists no frames; make the folder again.")
    if not all(isinstance(v, int) and v > 0 for v in (width, height)):
        raise LcaError(f"{shown}: {MANIFEST} has no usable width and height; make it again.")
    return manifest


def read_video_folder(folder: Path | str) -> VideoFolder:
    """The checked video folder ``folder`` (module docstring); frames are read when used."""
    folder = Path(folder)
    shown = f"Video folder {quoted(folder, PATH_LIMIT)}"
    manifest = read_manifest(folder)
    if manifest.get("complete") is not True:
        raise LcaError(f"{shown} is unfinished; run `lca data video` on its video again.")
    frames = tuple(folder / f for f in manifest["frames"])
    labelled, skipped = manifest.get("labelled"), manifest.get("skipped")
    try:
        skips = tuple((int(s["frame"]), str(s["reason"])) for s in skipped)
        labelled = [int(i) for i in labelled]
    except (TypeError, KeyError, ValueError):
        raise LcaError(f"{shown}: {MANIFEST} has broken labelled or skipped lists.") from None
    numbers = sorted(labelled + [i for i, _ in skips])
    if numbers != list(range(len(frames))):
        raise LcaError(
            f"{shown} lists {len(frames)} frames but {len(labelled)} labelled and {len(skips)} "
            "skipped ones; make the folder again."
        )
    on_disk = len(list((folder / "frames").glob("*.png")))
    if on_disk != len(frames):
        raise LcaError(
            f"{shown} holds {on_disk} frame files but its {MANIFEST} lists {len(frames)}; "
            "make the folder again."
        )
    for path in frames:
        if not path.is_file():
            raise LcaError(f"{shown} lacks frame {quoted(path.name, 80)}; make the folder again.")
    shape = read_body(folder)
    if shape is None and labelled:
        raise LcaError(f"{shown} lacks {BODY_FILE}; make the folder again.")
    width, height = int(manifest["width"]), int(manifest["height"])
    labels = tuple(read_label(folder, i, width, height) for i in sorted(labelled))
    bones = {tuple(label.rotations.shape) for label in labels}
    expressions = {tuple(label.expression.shape) for label in labels}
    if len(bones) > 1 or len(expressions) > 1:
        raise LcaError(f"{shown} has labels of different bodies; make the folder again.")
    return VideoFolder(
        folder, manifest, frames, shape if shape is not None else torch.zeros(0), labels, skips
    )
