"""``lca export-ply``: an avatar's Gaussians as a standard 3DGS PLY."""

from __future__ import annotations

import argparse

from ..errors import one_line
from .options import add_smplx_option, posed_vertices

HELP = "Export an avatar's Gaussians as a standard 3DGS PLY."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export-ply", help=HELP, description=HELP)
    p.add_argument("avatar", help="the .lca avatar file")
    p.add_argument("-o", "--output", required=True, help="the .ply file to write")
    p.add_argument("--pose", default="rest", help="rest (default), preset(s) or a pose .json")
    add_smplx_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    """The output name and folder are checked before the avatar is read; nothing is written
    unless every argument is good."""
    from ..avatar.lca_file import load_lca
    from ..avatar.values import require_gaussians
    from ..fileio import check_output_file
    from ..posing import export_avatar_ply

    check_output_file(args.output)
    avatar = require_gaussians(load_lca(args.avatar), args.avatar)
    vertices, pose = posed_vertices(avatar, args.pose, args.smplx_dir)
    export_avatar_ply(avatar, args.output, vertices=vertices, pose=pose)
    print(f"Wrote {avatar.count:,} Gaussians ({one_line(args.pose, 60)} pose) to {args.output}")
    return 0
