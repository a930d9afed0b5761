"""``lca demo``: photo -> avatar -> posed, turning and animated renders (``core.demo``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..create_settings import QUALITIES
from ..errors import LcaError, quoted
from .options import add_threads_option, set_threads

HELP = (
    "Create an avatar from a photo (default: the project's own sample person) and render "
    "it posed, turning and animated."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("demo", help=HELP, description=HELP)
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--photo", help="your full-body photo (default: the sample person)")
    p.add_argument(
        "--quality",
        choices=QUALITIES,
        default="draft",
        help="create quality (default draft, about a minute on a CPU)",
    )
    p.add_argument("--frames", type=int, default=24, help="animation frames (default 24)")
    p.add_argument("--size", type=int, default=512, help="full-body image size (default 512)")
    p.add_argument("--seed", type=int, default=0)
    add_threads_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..create_settings import CreateSettings
    from ..demo import run_demo
    from ..fileio import check_output_dir
    from ..progress import StageLine

    settings = CreateSettings.from_args(args)
    set_threads(settings.threads)
    check_demo_args(args)
    check_output_dir(Path(args.out))
    with StageLine() as progress:
        result = run_demo(
            Path(args.out),
            photo=Path(args.photo) if args.photo else None,
            settings=settings,
            frames=args.frames,
            size=args.size,
            progress=progress,
        )
    print(f"Demo written to {args.out} in {result.seconds:.1f} s, from {result.photo}:")
    print(
        f"  {result.avatar.name}, {result.ply.name}, {result.comparison.name} (self view "
        f"{result.psnr:.1f} dB inside the person), posed/ ({len(result.posed)} views: "
        f"arm raised, fingers curled, smiling), {len(result.turntable)} turntable views, "
        f"{len(result.animation)} animation frames, turntable.gif, animation.gif"
    )
    return 0


MAX_FRAMES = 1000
"""The most animation frames ``lca demo`` renders."""


def check_demo_args(args: argparse.Namespace) -> None:
    """Refuse, before the output folder is made, a frame count or image size out of range and
    a ``--photo`` that cannot be read as a photo (LcaError, one sentence)."""
    from ..render.types import MAX_IMAGE_SIDE

    if not 1 <= args.frames <= MAX_FRAMES:
        raise LcaError(f"--frames must be 1 to {MAX_FRAMES}, not {quoted(args.frames)}.")
    if not 16 <= args.size <= MAX_IMAGE_SIDE:
        raise LcaError(f"--size must be 16 to {MAX_IMAGE_SIDE} pixels, not {quoted(args.size)}.")
    if args.photo:
        from ..recon.images import load_photo

        load_photo(Path(args.photo))
