"""``lca render``: an avatar in a pose, to colour, depth, normal and part passes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import render_motion
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


def stem_of(spec: str) -> str:
    """The file stem of a view's passes: a camera file's own stem, else the spec with ':' as
    '_' (``orbit:90:10`` -> ``orbit_90_10``)."""
    return Path(spec).stem if spec.endswith(".json") else spec.replace(":", "_")


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
    render_motion.add_arguments(p)
    add_smplx_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Every argument is checked (size, cameras, avatar, pose, output folder) before the
    output folder is made or anything is written."""
    if render_motion.wants_motion(args):
        return render_motion.run(args)
    from ..avatar.lca_file import load_lca
    from ..avatar.values import require_gaussians
    from ..fileio import check_output_dir, check_output_file, ensure_writable_dir
    from ..images import pass_paths, write_passes
    from ..posing import avatar_scene
    from ..render import render
    from ..render.named_views import camera_for, parse_size, parse_view

    width, height = parse_size(args.size)
    views = [parse_view(spec, width, height) for spec in args.camera or ["front"]]
    check_output_dir(Path(args.out))
    for view in views:
        for path in pass_paths(Path(args.out), stem_of(view.name)):
            check_output_file(path)
    avatar = require_gaussians(load_lca(args.avatar), args.avatar)
    scene = avatar_scene(avatar, *posed_vertices(avatar, args.pose, args.smplx_dir))
    cameras = [
        camera_for(view, scene.means, avatar.binding.part, avatar.part_names, width, height)
        for view in views
    ]
    out_dir = ensure_writable_dir(Path(args.out))
    start = time.perf_counter()
    for view, camera in zip(views, cameras, strict=True):
        spec = view.name
        result = render(scene, camera, background=args.background, backend=args.backend)
        paths = write_passes(result, out_dir, stem_of(spec), len(avatar.part_names))
        print(f"{spec}: wrote {', '.join(p.name for p in paths)}")
    print(f"Rendered {len(views)} view(s) in {time.perf_counter() - start:.2f} s to {out_dir}")
    return 0
