"""Video files through the ffmpeg that the imageio-ffmpeg package ships (no system ffmpeg):
frames -> H.264 MP4, written atomically; a video file -> its frames (``read_frames``).

imageio-ffmpeg is the ``video`` extra (``pip install lca-avatar[video]``; ``make`` installs
it); without it, writing a video is refused in one sentence and the PNG frames stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .errors import PATH_LIMIT, LcaError, quoted
from .fileio import atomic_path


def ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_mp4(path: Path | str, frames: Iterable[np.ndarray], fps: float) -> None:
    """H.264 MP4 (yuv420p, plays everywhere) of ``frames``, (H, W, 3) uint8 each, same size;
    odd sizes are padded by one pixel (H.264 needs even sides)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise LcaError(
            "Writing MP4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg==0.8.1)."
        ) from None
    path = Path(path)
    writer = None
    with atomic_path(path) as temporary:
        try:
            for frame in frames:
                if writer is None:
                    height, width = frame.shape[:2]
                    writer = imageio_ffmpeg.write_frames(
                        str(temporary),
                        (width + width % 2, height + height % 2),
                        fps=fps,
                        codec="libx264",
                        pix_fmt_out="yuv420p",
                        output_params=["-f", "mp4"],
                        macro_block_size=1,
                        ffmpeg_log_level="error",
                    )
                    writer.send(None)
                if frame.shape[0] % 2 or frame.shape[1] % 2:
                    frame = np.pad(
                        frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0))
                    )
                writer.send(np.ascontiguousarray(frame))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise LcaError(f"No frames to write to {path.name}.")


def open_video(path: Path, shown: str, output_params: list[str] | None = None):
    """(reader, meta): imageio-ffmpeg's raw-frame generator of the video ``path`` (RGB24)
    past its first item, and that item, the video's metadata (size, fps, duration). A
    missing package or file, or one ffmpeg cannot read, raises LcaError naming ``shown``.
    The caller closes the reader."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise LcaError(
            "Reading videos needs the imageio-ffmpeg package (pip install imageio-ffmpeg==0.8.1)."
        ) from None
    if not path.is_file():
        raise LcaError(f"{shown} does not exist; check the path.")
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=output_params)
    try:
        return reader, next(reader)
    except (OSError, RuntimeError, StopIteration):
        reader.close()
        raise LcaError(
            f"{shown} is not a video ffmpeg can read; give an MP4, MOV or MKV file."
        ) from None


def read_frames(
    path: Path | str, fps: float | None = None, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """The frames of the video ``path``, (H, W, 3) uint8 sRGB each, decoded once in order;
    fps: resample to this rate (ffmpeg's fps filter), None keeps every frame; max_frames:
    stop after this many. A missing or undecodable file raises LcaError."""
    path = Path(path)
    shown = f"Video {quoted(path, PATH_LIMIT)}"
    params = ["-vf", f"fps={fps:g}"] if fps is not None else None
    reader, meta = open_video(path, shown, params)
    try:
        width, height = meta["size"]
        count = 0
        while max_frames is None or count < max_frames:
            try:
                data = next(reader)
            except StopIteration:
                break
            except (OSError, RuntimeError):
                raise LcaError(f"{shown} is damaged after frame {count}; re-encode it.") from None
            count += 1
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
        if count == 0:
            raise LcaError(f"{shown} has no frames to read.")
    finally:
        reader.close()
