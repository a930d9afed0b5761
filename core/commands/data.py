"""``lca data synth``: a synthetic multi-view training set (core.train.data.synth)."""

from __future__ import annotations

import argparse

from .options import add_threads_option, set_threads

HELP = (
    "Make training data: `lca data synth --out DIR` photographs synthetic studio subjects "
    "from all around into shards (docs/data.md)."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("data", help=HELP, description=HELP)
    p.add_argument("what", choices=("synth",))
    p.add_argument("--out", required=True, help="folder for the shards")
    p.add_argument("--subjects", type=int, default=16, help="subjects (default 16)")
    p.add_argument("--views", type=int, default=8, help="full-body views each (default 8)")
    p.add_argument("--size", type=int, default=96, help="image side in pixels (default 96)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first subject (default 0)")
    add_threads_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..fileio import check_output_dir
    from ..progress import StageLine
    from ..train.data.synth import SynthSettings, synthesize

    set_threads(args.threads)
    settings = SynthSettings(
        subjects=args.subjects, views=args.views, size=args.size, seed=args.seed
    )
    out = check_output_dir(Path(args.out))
    from ..body.anny_body import AnnyBody

    with StageLine() as line:
        paths = synthesize(AnnyBody(), out, settings, progress=line)
    print(f"Wrote {len(paths)} subjects ({settings.views} views + a face close-up each) to {out}")
    return 0
