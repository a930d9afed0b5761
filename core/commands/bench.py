"""``lca bench``: speed figures (``core.bench``), or the live link's in Blender."""

from __future__ import annotations

import argparse

from ..create_settings import DEVICES, QUALITIES
from .options import add_threads_option, set_threads

HELP = (
    "Measure speed: deform, render, io, create or blender (the live link per frame); "
    "prints figures and ratios."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("bench", help=HELP, description=HELP)
    p.add_argument("what", choices=("deform", "render", "io", "create", "blender"))
    p.add_argument(
        "--count",
        type=int,
        action="append",
        help="Gaussian count; repeat for several (defaults per benchmark)",
    )
    p.add_argument("--size", action="append", help="WIDTHxHEIGHT for render; repeatable")
    p.add_argument(
        "--repeats", type=int, help="timed runs; the median is reported (default 5; create 1)"
    )
    p.add_argument("--backend", choices=("auto", "torch", "gsplat"), default="torch")
    p.add_argument(
        "--quality",
        action="append",
        choices=QUALITIES,
        help="create: quality to time; repeatable (default draft and standard)",
    )
    p.add_argument("--photo", help="create: the photo (default: the sample person)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    add_threads_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    if args.what == "blender":  # runs inside the bpy module, through the extension
        from .blender import run_blender

        argv = ["bench", "--repeats", str(args.repeats or 5)]
        for count in args.count or []:
            argv += ["--count", str(count)]
        return run_blender(argv)
    from ..bench import BenchRequest
    from ..bench import run as run_bench

    request = BenchRequest(
        what=args.what,
        counts=tuple(args.count or ()),
        sizes=tuple(args.size or ()),
        repeats=args.repeats,
        backend=args.backend,
        qualities=tuple(args.quality or ()),
        photo=args.photo,
        device=args.device,
    )
    return run_bench(request)
