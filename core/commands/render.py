"""``lca render``: an avatar in a pose, to colour, depth, normal and part passes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .options import add_smplx_option, posed_vertices

HELP = "Render an avatar in a pose to colour, depth, normal and part passes."


def background(text: str) -> tuple[float, float, float]:
    """--background: "R,G,B" with values in 0..1."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' is not R,G,B with values in 0..1")
    return values  # type: ignore[return-value]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("render", help=HELP, description=HELP)
    p.add_argument("avatar", help="the .lca avatar file")
    p.add_argument(
        "--pose",
        default="rest",
        help="preset(s) joined by '+', e.g. arm-raise+finger-curl+jaw-open, "
        "or a pose .json file (default: rest)",
    )
    p.add_argument(
        "--camera",
        action="append",
        help="front, back, left, right, three-quarter, orbit:AZ[:EL], face, hand.L, "
        "hand.R or a camera .json; repeat for several views (default: front)",
    )
    p.add_argument("--size", default="512x512", help="WIDTHxHEIGHT (default 512x512)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--background",
        type=background,
        default=(0.0, 0.0, 0.0),
        help="R,G,B in 0..1, sRGB (default 0,0,0)",
    )
    p.add_argument("--backend", choices=("auto", "torch", "gsplat"), default="auto")
    add_smplx_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..avatar.lca_file import load_lca
    from ..avatar.values import require_gaussians
    from ..fileio import ensure_writable_dir
    from ..images import write_passes
    from ..posing import avatar_scene
    from ..render import render
    from ..render.named_views import camera_for, parse_size

    width, height = parse_size(args.size)
    out_dir = ensure_writable_dir(Path(args.out))
    avatar = require_gaussians(load_lca(args.avatar), args.avatar)
    scene = avatar_scene(avatar, posed_vertices(avatar, args.pose, args.smplx_dir))
    cameras = args.camera or ["front"]
    start = time.perf_counter()
    for spec in cameras:
        camera = camera_for(
            spec, scene.means, avatar.binding.part, avatar.part_names, width, height
        )
        result = render(scene, camera, background=args.background, backend=args.backend)
        stem = Path(spec).stem if spec.endswith(".json") else spec.replace(":", "_")
        paths = write_passes(result, out_dir, stem, len(avatar.part_names))
        print(f"{spec}: wrote {', '.join(p.name for p in paths)}")
    print(f"Rendered {len(cameras)} view(s) in {time.perf_counter() - start:.2f} s to {out_dir}")
    return 0
