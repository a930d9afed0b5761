"""``lca face-capture``: a video of a face -> ARKit face curves as a Live Link Face CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Capture ARKit face curves (52 blendshapes, head rotation) from a video of a face."
SHOWN_MISSING = 12
"""Frames without a face listed by number in the note; the rest are counted."""


def neutral_frame(text: str) -> int | None:
    """--neutral: a frame number from 0, or 'none'."""
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a frame number (0, 1, ...) or none")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("face-capture", help=HELP, description=HELP)
    p.add_argument("video", help="the video (MP4, MOV, MKV ...) of one face")
    p.add_argument("-o", "--output", required=True, help="the curves .csv (Live Link Face CSV)")
    p.add_argument("--fps", type=float, help="frame rate of the curves (default: the video's)")
    p.add_argument(
        "--neutral",
        type=neutral_frame,
        default=0,
        help="frame (from 0) showing the relaxed face the others are measured from, or none "
        "(default 0: start the take with a relaxed face)",
    )
    p.add_argument("--no-smooth", action="store_true", help="leave out the One Euro smoothing")
    return p


def run(args: argparse.Namespace) -> int:
    """The output name is checked before the video is read; the file is written at the end,
    atomically (Ctrl-C leaves nothing behind)."""
    from ..fileio import check_output_file
    from ..motion.face_capture import capture_face
    from ..motion.face_curves import write_live_link_csv
    from ..progress import StageLine

    output = check_output_file(Path(args.output))
    with StageLine() as progress:
        capture = capture_face(
            args.video,
            fps=args.fps,
            neutral=args.neutral,
            smooth=not args.no_smooth,
            progress=progress,
        )
    write_live_link_csv(capture.curves, output)
    curves = capture.curves
    print(
        f"Wrote {curves.frames} frames at {curves.fps:g} fps ({capture.video_frames} video "
        f"frames at {capture.video_fps:g} fps) to {output}"
    )
    if capture.missing:
        listed = ", ".join(str(i) for i in capture.missing[:SHOWN_MISSING])
        more = len(capture.missing) - SHOWN_MISSING
        listed += f" and {more} more" if more > 0 else ""
        print(
            f"Note: no face in {len(capture.missing)} of {capture.video_frames} frames "
            f"({listed}); they hold the last value found."
        )
    return 0
