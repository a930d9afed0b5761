"""The `lca` command.

Every command has --help. Bad input ends with one sentence on stderr and exit code 2; no
traceback (set LCA_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .create_command import add_create_options
from .errors import LcaError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _background(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' is not R,G,B with values in 0..1")
    return values  # type: ignore[return-value]


def _body_for(avatar, smplx_dir):
    from .body import load_body_model

    return load_body_model(avatar.body.model, smplx_dir=smplx_dir)


def _posed_vertices(avatar, pose_spec: str, smplx_dir):
    """(V, 3) vertices of the avatar in ``pose_spec``; 'rest' needs no body model."""
    if pose_spec == "rest":
        return avatar.canonical_vertices
    from .body.poses import parse_pose
    from .posing import posed_vertices

    body = _body_for(avatar, smplx_dir)
    return posed_vertices(avatar, body, [parse_pose(body, pose_spec)])[0]


def _set_threads(threads: int | None) -> None:
    from .create_command import check_threads

    check_threads(threads)
    if threads is None:
        return
    import torch

    torch.set_num_threads(threads)


# -- commands ---------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace) -> int:
    from .avatar.lca_file import load_lca
    from .fileio import ensure_writable_dir
    from .images import write_passes
    from .posing import avatar_scene
    from .render import render
    from .render.named_views import camera_for, parse_size

    width, height = parse_size(args.size)
    out_dir = ensure_writable_dir(Path(args.out))
    avatar = load_lca(args.avatar)
    scene = avatar_scene(avatar, _posed_vertices(avatar, args.pose, args.smplx_dir))
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


def cmd_export_ply(args: argparse.Namespace) -> int:
    from .avatar.lca_file import load_lca
    from .posing import export_avatar_ply

    avatar = load_lca(args.avatar)
    vertices = None if args.pose == "rest" else _posed_vertices(avatar, args.pose, args.smplx_dir)
    export_avatar_ply(avatar, args.output, vertices=vertices)
    print(f"Wrote {avatar.count:,} Gaussians ({args.pose} pose) to {args.output}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    if args.avatar is not None:
        from .avatar.lca_file import load_lca

        avatar = load_lca(args.avatar)
        lo = avatar.canonical_vertices.min(0).values.tolist()
        hi = avatar.canonical_vertices.max(0).values.tolist()
        print(f"file:          {args.avatar}")
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
        for key, value in sorted(avatar.metadata.items()):
            print(f"meta.{key}: {value}")
    if args.bones or args.expressions:
        from .body import load_body_model

        body = load_body_model(args.body, smplx_dir=args.smplx_dir)
        if args.bones:
            print(f"{len(body.bone_names)} bones: {' '.join(body.bone_names)}")
        if args.expressions:
            print(f"{len(body.expression_names)} expressions: {' '.join(body.expression_names)}")
    if args.avatar is None and not (args.bones or args.expressions):
        raise LcaError("Nothing to show; give an avatar file, --bones or --expressions.")
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from .avatar.lca_file import save_lca
    from .create_command import (
        check_output,
        create_settings,
        named,
        preview_path,
        render_preview,
    )
    from .images import save_image
    from .progress import StageLine
    from .recon.create import create_avatar

    output = Path(args.output)
    check_output(output)
    preview_file = preview_path(output)
    _set_threads(args.threads)
    line = StageLine()
    try:
        result = create_avatar(
            [Path(p) for p in args.photos], **create_settings(args), progress=line
        )
        line("preview", 0.0)
        avatar = named(result.avatar, output.stem)
        preview = render_preview(avatar)
        line("preview", 1.0)
    finally:
        line.close()
    save_lca(avatar, output)
    save_image(preview_file, preview)
    seconds = result.seconds
    print(
        f"Wrote {output} ({avatar.count:,} Gaussians) and {preview_file.name} in "
        f"{seconds.total:.1f} s (load {seconds.load:.1f}, perceive {seconds.perceive:.1f}, "
        f"body {seconds.body:.1f}, appearance {seconds.appearance:.1f}, score "
        f"{seconds.score:.1f})."
    )
    scores = ", ".join(
        f"{Path(p).name} {v:.1f} dB" for p, v in zip(args.photos, result.psnr, strict=True)
    )
    print(f"Self-view PSNR inside the person: {scores}.")
    for note in result.notes:
        print(f"Note: {note}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from .fileio import atomic_path, ensure_writable_dir
    from .images import save_image
    from .progress import StageLine
    from .recon.evaluate import evaluate, format_scores

    _set_threads(args.threads)
    out_dir = ensure_writable_dir(Path(args.out))
    train, held_out = list(args.train or []), list(args.held_out or [])
    if args.sample:
        from .body.anny_body import AnnyBody
        from .recon.sample_person import VIEWS, write_sample_photos

        chosen = args.sample.split(",")
        unknown = [v for v in chosen if v not in VIEWS]
        if unknown or not chosen:
            raise LcaError(f"Unknown sample view '{unknown[0]}'; choose from {', '.join(VIEWS)}.")
        paths = write_sample_photos(
            AnnyBody(), ensure_writable_dir(out_dir / "input"), tuple(VIEWS)
        )
        train += [p for p, v in zip(paths, VIEWS, strict=True) if v in chosen]
        held_out += [p for p, v in zip(paths, VIEWS, strict=True) if v not in chosen]
    if not train:
        raise LcaError("No training photos were given; use --train PHOTO ... or --sample.")
    line = StageLine()
    try:
        result = evaluate(
            [Path(p) for p in train],
            [Path(p) for p in held_out],
            quality=args.quality,
            device=args.device,
            seed=args.seed,
            person=args.person,
            allow_partial=args.allow_partial,
            progress=line,
        )
    finally:
        line.close()
    for score, panel in zip(result.scores, result.panels, strict=True):
        kind = "heldout" if score.held_out else "self"
        save_image(out_dir / f"{kind}_{Path(score.photo).stem}.png", panel)
    table = format_scores(result.scores)
    with atomic_path(out_dir / "scores.json") as tmp:
        tmp.write_text(json.dumps([vars(s) for s in result.scores], indent=2))
    print(table)
    print(
        f"Created from {len(train)} photo(s), scored {len(held_out)} held out, in "
        f"{result.seconds:.1f} s; side-by-side images (photo | avatar | 4x difference) and "
        f"scores.json in {out_dir}."
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    _set_threads(args.threads)
    if args.what == "blender":  # runs inside the bpy module, through the extension
        argv = ["bench", "--repeats", str(args.repeats or 5)]
        for count in args.count or []:
            argv += ["--count", str(count)]
        return _run_in_blender(argv)
    return bench.run(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .progress import StageLine

    _set_threads(args.threads)
    line = StageLine()
    try:
        result = run_demo(
            Path(args.out),
            photo=Path(args.photo) if args.photo else None,
            quality=args.quality,
            frames=args.frames,
            size=args.size,
            seed=args.seed,
            progress=line,
        )
    finally:
        line.close()
    print(f"Demo written to {args.out} in {result.seconds:.1f} s, from {result.photo}:")
    print(
        f"  {result.avatar.name}, {result.ply.name}, {result.comparison.name} (self view "
        f"{result.psnr:.1f} dB inside the person), posed/ ({len(result.posed)} views: "
        f"arm raised, fingers curled, smiling), {len(result.turntable)} turntable views, "
        f"{len(result.animation)} animation frames, turntable.gif, animation.gif"
    )
    return 0


def cmd_warm(args: argparse.Namespace) -> int:
    from .body.anny_body import AnnyBody, anny_cache_dir, anny_cache_is_warm

    if anny_cache_is_warm():
        print(f"Anny cache is ready in {anny_cache_dir()}")
    else:
        print(
            f"Building the Anny body model cache in {anny_cache_dir()} (once, about 40 s) ...",
            flush=True,
        )
    start = time.perf_counter()
    AnnyBody().forward()
    print(f"Anny body model ready ({time.perf_counter() - start:.1f} s).")
    return 0


def cmd_blender(args: argparse.Namespace) -> int:
    """Run the Blender extension's command (``blender -c lca ...``) with the bpy module."""
    return _run_in_blender(args.blender_args)


def _run_in_blender(argv: list[str]) -> int:
    import importlib.util

    checkout = Path(__file__).resolve().parents[1]
    bridge = checkout / "lca_addon" / "bpy_module.py"
    if not bridge.is_file():
        raise LcaError(
            f"`lca blender` needs the project's checkout (no {bridge} found); run it from a "
            "source install of the project."
        )
    spec = importlib.util.spec_from_file_location("lca_blender_bridge", bridge)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return module.run_command(argv, checkout)
    except ImportError as err:
        raise LcaError(
            f"`lca blender` needs the bpy module ({err}); install it with "
            "`pip install bpy==5.0.1` (Python 3.11)."
        ) from None


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lca", description="Gaussian avatars from photos: render, export, inspect, bench."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def threads_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--threads",
            type=int,
            help="CPU threads for torch (default: torch's choice, one per core); on a machine "
            "busy with other work, 1 is often much faster",
        )

    def smplx_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--smplx-dir", help="folder with your licensed smplx/SMPLX_NEUTRAL.npz")

    p = add(
        "render", "Render an avatar in a pose to colour, depth, normal and part passes.", cmd_render
    )
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
        type=_background,
        default=(0.0, 0.0, 0.0),
        help="R,G,B in 0..1, sRGB (default 0,0,0)",
    )
    p.add_argument("--backend", choices=("auto", "torch", "gsplat"), default="auto")
    smplx_option(p)

    p = add("export-ply", "Export an avatar's Gaussians as a standard 3DGS PLY.", cmd_export_ply)
    p.add_argument("avatar", help="the .lca avatar file")
    p.add_argument("-o", "--output", required=True, help="the .ply file to write")
    p.add_argument("--pose", default="rest", help="rest (default), preset(s) or a pose .json")
    smplx_option(p)

    p = add(
        "info", "Describe an avatar file, or list the body model's bones and expressions.", cmd_info
    )
    p.add_argument("avatar", nargs="?", help="the .lca avatar file")
    p.add_argument("--bones", action="store_true", help="list the body model's bone names")
    p.add_argument("--expressions", action="store_true", help="list the expression names")
    p.add_argument("--body", default="anny", choices=("anny", "smplx"))
    smplx_option(p)

    p = add(
        "create",
        "Create an avatar from photos of one person (writes NAME.lca and NAME.preview.png).",
        cmd_create,
    )
    add_create_options(p)

    p = add(
        "eval",
        "Create an avatar from some photos of a person and score it on held-out photos "
        "(PSNR and SSIM inside and outside the person mask, side-by-side images).",
        cmd_eval,
    )
    p.add_argument("--train", nargs="+", metavar="PHOTO", help="photos to create from")
    p.add_argument("--held-out", nargs="+", metavar="PHOTO", help="photos to score on")
    p.add_argument(
        "--sample",
        metavar="VIEWS",
        help="use the project's sample person: create from these views (comma-separated, "
        "e.g. front or front,back) and hold out the rest of front, three-quarter, left, "
        "back, right",
    )
    p.add_argument("--out", default="out/eval", help="output folder (default out/eval)")
    p.add_argument(
        "--quality",
        choices=("draft", "standard", "high"),
        default="draft",
        help="create quality (default draft)",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--person", type=int, help="which person in photos of several, 0 = leftmost")
    p.add_argument("--allow-partial", action="store_true", help="accept a cut-off person")
    threads_option(p)

    p = add(
        "bench",
        "Measure speed: deform, render, io, create or blender (the live link per frame); "
        "prints figures and ratios.",
        cmd_bench,
    )
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
        choices=("draft", "standard", "high"),
        help="create: quality to time; repeatable (default draft and standard)",
    )
    p.add_argument("--photo", help="create: the photo (default: the sample person)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    threads_option(p)

    p = add(
        "demo",
        "Create an avatar from a photo (default: the project's own sample person) and render "
        "it posed, turning and animated.",
        cmd_demo,
    )
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--photo", help="your full-body photo (default: the sample person)")
    p.add_argument(
        "--quality",
        choices=("draft", "standard", "high"),
        default="draft",
        help="create quality (default draft, about a minute on a CPU)",
    )
    p.add_argument("--frames", type=int, default=24, help="animation frames (default 24)")
    p.add_argument("--size", type=int, default=512, help="full-body image size (default 512)")
    p.add_argument("--seed", type=int, default=0)
    threads_option(p)

    add("warm", "Build the Anny body model's cache (done once by `make`).", cmd_warm)

    p = add(
        "blender",
        "Run the Blender extension's commands (import, render) with the bpy module; "
        "`lca blender render --help` for one.",
        cmd_blender,
    )
    p.add_argument(
        "blender_args",
        nargs=argparse.REMAINDER,
        metavar="COMMAND ...",
        help="import AVATAR.lca --blend FILE.blend | render FILE.blend --out DIR",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LcaError as err:
        print(f"lca: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lca: interrupted; no partial files were left behind.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # a bug, not bad input: say so in one sentence
        if os.environ.get("LCA_DEBUG"):
            raise
        print(
            f"lca: internal error ({type(err).__name__}: {err}); rerun with LCA_DEBUG=1 "
            "and report the traceback.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
