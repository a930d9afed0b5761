"""Writing rendered passes as image files (PNG, GIF, NPZ), atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .fileio import atomic_path
from .render.types import RenderResult


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(H, W[, C]) floats in [0, 1] -> uint8 array."""
    array = image.detach().float().clamp(0, 1).cpu().numpy()
    return (array * 255.0 + 0.5).astype(np.uint8)


def save_image(path: Path, image: Image.Image) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format=path.suffix.lstrip(".").upper().replace("JPG", "JPEG"))


def rgba_image(result: RenderResult) -> Image.Image:
    """The colour pass with alpha as an 8-bit RGBA image (sRGB)."""
    rgba = torch.cat((result.rgb, result.alpha[..., None]), dim=-1)
    return Image.fromarray(to_uint8(rgba), mode="RGBA")


def rgb_image(result: RenderResult) -> Image.Image:
    return Image.fromarray(to_uint8(result.rgb), mode="RGB")


def part_palette(count: int) -> np.ndarray:
    """(count + 1, 3) distinct uint8 colours; the last row (index -1) is black."""
    hues = (np.arange(count) * 0.618034) % 1.0
    colours = [_hsv_to_rgb(h, 0.65, 0.95) for h in hues] + [(0.0, 0.0, 0.0)]
    return (np.array(colours) * 255).astype(np.uint8)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


PASS_SUFFIXES = (".png", "_depth.png", "_normal.png", "_part.png", "_passes.npz")
"""What :func:`write_passes` appends to a view's stem, one file per pass."""


def pass_paths(directory: Path, stem: str) -> list[Path]:
    """The files :func:`write_passes` writes for ``stem`` in ``directory``, in its order."""
    return [Path(directory) / f"{stem}{suffix}" for suffix in PASS_SUFFIXES]


def write_passes(result: RenderResult, directory: Path, stem: str, part_count: int) -> list[Path]:
    """Write every pass of one view; returns the paths written.

    {stem}.png RGBA colour; {stem}_depth.png 16-bit depth in millimetres (0 = empty);
    {stem}_normal.png world normal * 0.5 + 0.5; {stem}_part.png body parts in a palette;
    {stem}_passes.npz float arrays rgb, alpha, depth, normal and int part (no pickle).
    """
    paths = pass_paths(directory, stem)
    save_image(paths[0], rgba_image(result))
    depth_mm = (result.depth.detach().cpu().numpy() * 1000.0).clip(0, 65535).astype(np.uint16)
    save_image(paths[1], Image.fromarray(depth_mm))
    normal = (result.normal * 0.5 + 0.5) * result.alpha[..., None]
    save_image(paths[2], Image.fromarray(to_uint8(normal), mode="RGB"))
    palette = part_palette(part_count)
    part = result.part.detach().cpu().numpy()
    save_image(paths[3], Image.fromarray(palette[np.where(part < 0, part_count, part)], mode="RGB"))
    with atomic_path(paths[4]) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                rgb=result.rgb.detach().cpu().numpy(),
                alpha=result.alpha.detach().cpu().numpy(),
                depth=result.depth.detach().cpu().numpy(),
                normal=result.normal.detach().cpu().numpy(),
                part=part,
            )
    return paths


def save_gif(path: Path, frames: list[Image.Image], fps: float = 12.0) -> None:
    """An endlessly looping animated GIF of ``frames``."""
    with atomic_path(path) as tmp:
        frames[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=int(round(1000 / fps)),
            loop=0,
            disposal=2,
        )
