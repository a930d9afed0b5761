"""``lca eval``: create an avatar from some photos of a person and score it on held-out ones
(``core.recon.evaluate``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LcaError, quoted
from .create_options import add_settings_options
from .options import set_threads

HELP = (
    "Create an avatar from some photos of a person and score it on held-out photos "
    "(PSNR and SSIM inside and outside the person mask, side-by-side images, and a face "
    "identity distance per photo where dlib is installed)."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("eval", help=HELP, description=HELP)
    p.add_argument("--train", nargs="+", metavar="PHOTO", help="photos to create from")
    p.add_argument(
        "--held-out",
        nargs="+",
        metavar="PHOTO",
        help="photos to score on (optional: without them only the training photos are scored)",
    )
    p.add_argument(
        "--sample",
        metavar="VIEWS",
        help="use the project's sample person: create from these views (comma-separated, "
        "e.g. front or front,back) and hold out the rest of front, three-quarter, left, "
        "back, right",
    )
    p.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="score the LCA network (--checkpoint, default the shipped model) against "
        "today's initialisation on N synthetic subjects made now with seeds never used in "
        "training (from 1,000,000), on held-out views (back, sides, three-quarter, face)",
    )
    p.add_argument(
        "--refine-steps",
        help="with --synthetic: also refine each start on its input photo for these step "
        "counts, as `lca create` does (such as 0,25,50,100,250)",
    )
    p.add_argument("--out", default="out/eval", help="output folder (default out/eval)")
    add_settings_options(p, quality="draft", mixed=False)
    return p


def run(args: argparse.Namespace) -> int:
    """The options, the sample views and the output folder are checked before anything is
    written; the folder is made when there is something to write (the sample photos, or the
    scores)."""
    import json

    from ..create_settings import CreateSettings
    from ..fileio import atomic_path, check_output_dir, check_output_file, ensure_writable_dir
    from ..images import save_image
    from ..progress import StageLine
    from ..recon.evaluate import evaluate, format_identity, format_scores

    if args.synthetic is not None:
        return _synthetic(args)
    settings = CreateSettings.from_args(args)
    set_threads(settings.threads)
    train, held_out = list(args.train or []), list(args.held_out or [])
    chosen = sample_views(args.sample) if args.sample else None
    if not train and chosen is None:
        raise LcaError("No training photos were given; use --train PHOTO ... or --sample.")
    check_output_dir(Path(args.out))
    for kind, photos in (("self", train), ("heldout", held_out)):
        for photo in photos:  # the side-by-side images' names, before the long work
            check_output_file(Path(args.out) / f"{kind}_{Path(photo).stem}.png")
    if chosen is not None:
        sample_train, sample_held_out = sample_photos(chosen, Path(args.out))
        train += sample_train
        held_out += sample_held_out
    with StageLine() as progress:
        result = evaluate(
            [Path(p) for p in train], [Path(p) for p in held_out], settings, progress=progress
        )
    out_dir = ensure_writable_dir(Path(args.out))
    for score, panel in zip(result.scores, result.panels, strict=True):
        kind = "heldout" if score.held_out else "self"
        save_image(out_dir / f"{kind}_{Path(score.photo).stem}.png", panel)
    table = format_scores(result.scores)
    with atomic_path(out_dir / "scores.json") as tmp:
        tmp.write_text(json.dumps([vars(s) for s in result.scores], indent=2))
    if result.identity:
        with atomic_path(out_dir / "identity.json") as tmp:
            tmp.write_text(json.dumps([vars(s) for s in result.identity], indent=2))
    print(table)
    if result.identity:
        print(format_identity(result.identity))
    for note in result.notes:
        print(note)
    print(
        f"Created from {len(train)} photo(s), scored {len(held_out)} held out, in "
        f"{result.seconds:.1f} s; side-by-side images (photo | avatar | 4x difference) and "
        f"scores.json in {out_dir}."
    )
    return 0


SYNTHETIC_SEED = 1_000_000
"""The first seed of `lca eval --synthetic`'s subjects; training sets use lower seeds
(docs/training.md)."""
SYNTHETIC_SIZE = 64
"""Pixels a side of their views: the held-out protocol of docs/models/lca-tiny.md (8 views
all around and a face close-up each)."""


def _synthetic(args: argparse.Namespace) -> int:
    """`lca eval --synthetic N`: N held-out synthetic subjects written to OUT/subjects and
    scored (core.train.heldout); the table printed and written to OUT/synthetic.json."""
    import dataclasses
    import json

    from ..body.anny_body import AnnyBody
    from ..fileio import atomic_path, check_output_dir, ensure_writable_dir
    from ..model.checkpoint import load_checkpoint
    from ..progress import StageLine
    from ..recon.feedforward import SHIPPED_CHECKPOINT
    from ..train.config import DataConfig
    from ..train.data.synth import SUBJECT_GAUSSIANS, SynthSettings, synthesize
    from ..train.heldout import heldout_scores, parse_refine_steps
    from ..train.heldout_report import report_lines

    if args.synthetic < 1:
        raise LcaError(f"--synthetic needs at least 1 subject, got {args.synthetic}.")
    if args.train or args.held_out or args.sample:
        raise LcaError(
            "--synthetic makes its own subjects; leave out --train, --held-out and --sample."
        )
    steps = () if args.refine_steps is None else parse_refine_steps(args.refine_steps)
    set_threads(args.threads)
    out = check_output_dir(Path(args.out))
    net, header = load_checkpoint(Path(args.checkpoint or SHIPPED_CHECKPOINT))
    body = AnnyBody()
    settings = SynthSettings(
        subjects=args.synthetic,
        views=8,
        size=SYNTHETIC_SIZE,
        seed=SYNTHETIC_SEED + args.seed,
        gaussians=SUBJECT_GAUSSIANS,
    )
    with StageLine() as line:
        paths = synthesize(body, ensure_writable_dir(out / "subjects"), settings, progress=line)
        scores = heldout_scores(net, body, paths, DataConfig(), refine_steps=steps, progress=line)
    lines = [
        f"model {header.config.name}, {header.training.steps} steps ({header.training.stage}); "
        f"{args.synthetic} synthetic subject(s) from seed {settings.seed}",
        *report_lines(scores),
    ]
    with atomic_path(out / "synthetic.json") as tmp:
        tmp.write_text(json.dumps(dataclasses.asdict(scores), indent=2))
    print("\n".join(lines))
    return 0


def sample_views(views: str) -> tuple[str, ...]:
    """``--sample``'s comma-separated names of ``core.recon.sample_person.VIEWS``, checked."""
    from ..recon.sample_person import VIEWS

    chosen = tuple(views.split(","))
    unknown = [v for v in chosen if v not in VIEWS]
    if unknown:
        raise LcaError(f"Unknown sample view {quoted(unknown[0])}; choose from {', '.join(VIEWS)}.")
    return chosen


def sample_photos(chosen: tuple[str, ...], out_dir: Path) -> tuple[list[Path], list[Path]]:
    """(train, held out): photos of the sample person written to ``out_dir/input``, those of
    ``chosen`` (names of ``core.recon.sample_person.VIEWS``) to train on."""
    from ..body.anny_body import AnnyBody
    from ..fileio import ensure_writable_dir
    from ..recon.sample_person import VIEWS, write_sample_photos

    paths = write_sample_photos(AnnyBody(), ensure_writable_dir(out_dir / "input"), tuple(VIEWS))
    train = [p for p, v in zip(paths, VIEWS, strict=True) if v in chosen]
    return train, [p for p, v in zip(paths, VIEWS, strict=True) if v not in chosen]
