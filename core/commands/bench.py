"""``lca bench``: speed figures (``core.bench``), or the live link's in Blender."""

from __future__ import annotations

import argparse

from ..create_settings import DEVICES, QUALITIES
from .options import add_threads_option, set_threads

HELP = (
    "Measure speed: deform, render, io, create, motion (BVH read, retarget, face capture), "
    "face-capture, blender (the live link per frame), infer (the network's feedforward "
    "prediction) or train (training samples/s, 1 process vs 2 gloo ranks); "
    "prints figures and ratios. `lca bench fuzz` tries mutated inputs on every reader."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("bench", help=HELP, description=HELP)
    p.add_argument(
        "what",
        choices=(
            "deform",
            "render",
            "io",
            "create",
            "motion",
            "face-capture",
            "blender",
            "fuzz",
            "infer",
            "train",
        ),
    )
    p.add_argument(
        "--count",
        type=int,
        action="append",
        help="Gaussian count; repeat for several (defaults per benchmark)",
    )
    p.add_argument(
        "--size", action="append", help="WIDTHxHEIGHT for render and face-capture; repeatable"
    )
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
    p.add_argument(
        "--model",
        choices=("tiny", "small", "base", "large"),
        default="tiny",
        help="infer: the network's size (default tiny)",
    )
    p.add_argument("--data", help="train: a folder of shards (default data/synth)")
    p.add_argument("--cases", type=int, default=10_000, help="fuzz: most cases (default 10000)")
    p.add_argument("--seconds", type=float, default=60.0, help="fuzz: time limit (default 60)")
    p.add_argument("--seed", type=int, default=0, help="fuzz: seed of the cases (default 0)")
    p.add_argument(
        "--target",
        action="append",
        choices=("lca", "ply", "pose", "camera"),
        help="fuzz: reader to fuzz; repeatable (default all)",
    )
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
    if args.what == "motion":
        return _motion(args)
    if args.what == "fuzz":
        return _fuzz(args)
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
        model=args.model,
        data=args.data,
    )
    return run_bench(request)


def _motion(args: argparse.Namespace) -> int:
    """Core's figures (read, retarget, face capture), then Blender's keying where the bpy
    module is installed."""
    import importlib.util

    from ..bench import BenchRequest
    from ..bench import run as run_bench

    run_bench(BenchRequest(what="motion", repeats=args.repeats))
    if importlib.util.find_spec("bpy") is None:
        print("Blender keying: not measured (the bpy module is not installed).")
        return 0
    from .blender import run_blender

    return run_blender(["bench-motion", "--repeats", str(args.repeats or 3)])


def _fuzz(args: argparse.Namespace) -> int:
    """Exit 0 when every case loaded or was refused with the project's own error, else 1."""
    from ..fuzz.run import TARGETS, FuzzSettings, report_lines, run_fuzz

    settings = FuzzSettings(
        cases=max(0, args.cases),
        seconds=max(0.0, args.seconds),
        seed=args.seed,
        targets=tuple(args.target or TARGETS),
    )
    report = run_fuzz(settings)
    print("\n".join(report_lines(report, settings.seed)), flush=True)
    return 1 if report.failed else 0
