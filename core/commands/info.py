"""``lca info``: what an avatar file holds, or the body model's bones and expressions."""

from __future__ import annotations

import argparse

from ..errors import LcaError
from .options import add_smplx_option

HELP = "Describe an avatar file, or list the body model's bones and expressions."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("info", help=HELP, description=HELP)
    p.add_argument("avatar", nargs="?", help="the .lca avatar file")
    p.add_argument("--bones", action="store_true", help="list the body model's bone names")
    p.add_argument("--expressions", action="store_true", help="list the expression names")
    p.add_argument("--body", default="anny", choices=("anny", "smplx"))
    add_smplx_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.avatar is not None:
        describe_avatar(args.avatar)
    if args.bones or args.expressions:
        from ..body import load_body_model

        body = load_body_model(args.body, smplx_dir=args.smplx_dir)
        if args.bones:
            print(f"{len(body.bone_names)} bones: {' '.join(body.bone_names)}")
        if args.expressions:
            print(f"{len(body.expression_names)} expressions: {' '.join(body.expression_names)}")
    if args.avatar is None and not (args.bones or args.expressions):
        raise LcaError("Nothing to show; give an avatar file, --bones or --expressions.")
    return 0


def describe_avatar(path: str) -> None:
    """Print the avatar file's name, size, body, mesh, parts, rig, pose correction and
    metadata."""
    from ..avatar.lca_file import load_lca_with_rig

    avatar, rig = load_lca_with_rig(path)
    lo = avatar.canonical_vertices.min(0).values.tolist()
    hi = avatar.canonical_vertices.max(0).values.tolist()
    print(f"file:          {path}")
    print(f"name:          {avatar.metadata.get('name', '')}")
    print(f"gaussians:     {avatar.count:,} (SH degree {avatar.binding.sh_degree})")
    print(f"body:          {avatar.body.model} {avatar.body.model_version}")
    shape = ", ".join(f"{k}={v:g}" for k, v in avatar.body.shape.items())
    print(f"shape:         {shape}")
    mesh = f"{avatar.canonical_vertices.shape[0]:,} vertices"
    print(f"mesh:          {mesh}, {avatar.faces.shape[0]:,} triangles, up {avatar.up_axis}")
    box = " x ".join(f"{b - a:.3f}" for a, b in zip(lo, hi, strict=True))
    print(f"size (m):      {box}")
    print(f"parts:         {', '.join(avatar.part_names)}")
    if rig is None:
        print("rig:           none (Blender computes it with torch; `lca upgrade` stores it)")
    else:
        print(
            f"rig:           {len(rig.bone_names)} bones, {len(rig.expression_names)} "
            f"expressions, {len(rig.shape_keys)} body-shape keys"
        )
    c = avatar.correction
    if c is None:
        print("correction:    none (posed by the binding alone)")
    else:
        print(
            f"correction:    pose correction of the network ({c.anchors:,} anchors, "
            f"{c.hidden} hidden units, {c.bones} bones, {c.expressions} expressions); "
            "Blender's native splats (5.3+) do not apply it"
        )
    for key, value in sorted(avatar.metadata.items()):
        print(f"meta.{key}: {value}")
