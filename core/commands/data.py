"""``lca data synth``: a synthetic multi-view training set (core.train.data.synth);
``lca data video``: video folders with cached pseudo-labels (core.train.data.video_labels);
``lca data score``: held-out scores."""

from __future__ import annotations

import argparse

from .options import add_threads_option, set_threads

HELP = (
    "Training data: `lca data synth --out DIR` photographs synthetic studio subjects from "
    "all around into shards (docs/data.md); `lca data video VIDEO... --out DIR` decodes "
    "videos into video folders with each frame's person mask and fitted body; "
    "`lca data score --data DIR --checkpoint CKPT` scores a trained network against today's "
    "initialisation on held-out subjects (PSNR and SSIM; with --refine-steps also after "
    "refinement)."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("data", help=HELP, description=HELP)
    p.add_argument("what", choices=("synth", "video", "score"))
    p.add_argument("videos", nargs="*", help="video: the video files")
    p.add_argument("--out", help="synth: folder for the shards; video: for the video folders")
    p.add_argument("--data", help="score: folder of held-out shards")
    p.add_argument("--checkpoint", help="score: the trained network")
    p.add_argument(
        "--gaussians",
        type=int,
        help="synth: Gaussians of each subject (default 15000); score: of the template (4000)",
    )
    p.add_argument(
        "--subjects",
        type=int,
        help="synth: subjects (default 16); score: the first N held-out subjects (default all)",
    )
    p.add_argument(
        "--refine-steps",
        help="score: also refine each start on the input photo for these step counts, as "
        "`lca create` does, and score each (such as 0,25,50,100,250; default: no refinement)",
    )
    p.add_argument("--views", type=int, default=8, help="full-body views each (default 8)")
    p.add_argument(
        "--size",
        type=int,
        help="synth: image side in pixels (default 96); video: frames' longer side at most "
        "(default 512)",
    )
    p.add_argument("--fps", type=float, help="video: frames taken per second (default: all)")
    p.add_argument("--max-frames", type=int, help="video: at most this many frames per video")
    p.add_argument(
        "--fit-steps",
        type=int,
        default=150,
        help="video: body-fitting steps of the first frame (later frames: a fifth, warm-started)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first subject (default 0)")
    add_threads_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import LcaError

    if args.videos and args.what != "video":
        raise LcaError(f"`lca data {args.what}` takes no file names; only `lca data video` does.")
    if args.what == "score":
        if not (args.data and args.checkpoint):
            raise LcaError("`lca data score` needs --data DIR and --checkpoint FILE.")
        return _score(args)
    if args.what == "video":
        return _video(args)
    if not args.out:
        raise LcaError("`lca data synth` needs --out DIR, the folder for the shards.")

    from ..fileio import check_output_dir
    from ..progress import StageLine
    from ..train.data.synth import SUBJECT_GAUSSIANS, SynthSettings, synthesize

    set_threads(args.threads)
    settings = SynthSettings(
        subjects=16 if args.subjects is None else args.subjects,
        views=args.views,
        size=args.size or 96,
        seed=args.seed,
        gaussians=args.gaussians or SUBJECT_GAUSSIANS,
    )
    out = check_output_dir(Path(args.out))
    from ..body.anny_body import AnnyBody

    with StageLine() as line:
        paths = synthesize(AnnyBody(), out, settings, progress=line)
    print(f"Wrote {len(paths)} subjects ({settings.views} views + a face close-up each) to {out}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..body.anny_body import AnnyBody
    from ..errors import LcaError
    from ..model.checkpoint import load_checkpoint
    from ..progress import StageLine
    from ..train.config import DataConfig
    from ..train.data.shards import list_shards
    from ..train.heldout import heldout_scores, parse_refine_steps
    from ..train.heldout_report import report_lines

    set_threads(args.threads)
    steps = () if args.refine_steps is None else parse_refine_steps(args.refine_steps)
    if args.subjects is not None and args.subjects < 1:
        raise LcaError(f"--subjects must be at least 1, got {args.subjects}.")
    net, header = load_checkpoint(Path(args.checkpoint))
    paths = list_shards(args.data)[: args.subjects]
    config = DataConfig(template_gaussians=args.gaussians or 4000)
    with StageLine() as line:
        scores = heldout_scores(net, AnnyBody(), paths, config, refine_steps=steps, progress=line)
    print(f"model {header.config.name}, {header.training.steps} steps ({header.training.stage})")
    print("\n".join(report_lines(scores)))
    return 0


def _video(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import LcaError, quoted
    from ..fileio import check_output_dir
    from ..progress import StageLine
    from ..train.data.video_labels import VideoSettings, make_video_folder

    if not (args.videos and args.out):
        raise LcaError("`lca data video` needs one or more video files and --out DIR.")
    videos = [Path(v) for v in args.videos]
    stems = [v.stem for v in videos]
    for video in videos:
        if not video.is_file():
            raise LcaError(f"Video {quoted(video, 120)} does not exist; check the path.")
        if stems.count(video.stem) > 1:
            raise LcaError(
                f"Two videos are named {quoted(video.stem)}; their folders would clash, so "
                "rename one."
            )
    settings = VideoSettings(
        fps=args.fps,
        max_frames=args.max_frames,
        size=args.size or 512,
        fit_steps=args.fit_steps,
        track_steps=max(1, args.fit_steps // 5),
    )
    set_threads(args.threads)
    out = check_output_dir(Path(args.out))
    from ..body.anny_body import AnnyBody

    body = AnnyBody()
    folders = []
    with StageLine() as line:
        for video in videos:
            folders.append(make_video_folder(body, video, out / video.stem, settings, line))
    for folder in folders:
        print(
            f"{folder.folder}: {len(folder.frames)} frames, {len(folder.labels)} labelled, "
            f"{len(folder.skipped)} skipped (no single whole person)"
        )
    return 0
