"""``lca create``: an avatar from photos of one person, NAME.lca and NAME.preview.png.

Its options are declared in ``core/commands/create_options.py``, shared with
``blender -c lca create``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from .create_options import add_create_options
from .options import set_threads

HELP = "Create an avatar from photos of one person (writes NAME.lca and NAME.preview.png)."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("create", help=HELP, description=HELP)
    add_create_options(p)
    p.add_argument(
        "--progress",
        choices=("line", "json"),
        default="line",
        help="line: a line per stage on stderr (default); json: one JSON object per line on "
        "stdout, for programs (see core/progress_events.py)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    if getattr(args, "progress", "line") == "json":
        from ..progress_events import JsonProgress

        with JsonProgress() as events:
            return create(args, events, sys.stderr)
    return create(args, None, sys.stdout)


def create(args: argparse.Namespace, events, report) -> int:
    """Create the avatar of ``args``; its progress goes to ``events`` (a JsonProgress) or,
    when None, to a StageLine; the lines for a person to ``report``."""
    from ..avatar.lca_file import save_lca
    from ..create_settings import CreateSettings
    from ..images import save_image
    from ..progress import StageLine
    from ..recon.create import create_avatar
    from ..rig import avatar_rig
    from .create_options import check_output, named, preview_path, render_preview

    output = Path(args.output)
    check_output(output)
    preview_file = preview_path(output)
    settings = CreateSettings.from_args(args)
    set_threads(settings.threads)
    with contextlib.nullcontext(events) if events is not None else StageLine() as progress:
        result = create_avatar([Path(p) for p in args.photos], settings, progress=progress)
        progress("preview", 0.0)
        avatar = named(result.avatar, output.stem)
        preview = render_preview(avatar)
        progress("preview", 1.0)
        rig = avatar_rig(avatar)  # stored, so Blender imports it without torch
    save_lca(avatar, output, rig)
    save_image(preview_file, preview)
    seconds = result.seconds
    print(
        f"Wrote {output} ({avatar.count:,} Gaussians) and {preview_file.name} in "
        f"{seconds.total:.1f} s (load {seconds.load:.1f}, perceive {seconds.perceive:.1f}, "
        f"body {seconds.body:.1f}, network {seconds.network:.1f}, appearance "
        f"{seconds.appearance:.1f}, score {seconds.score:.1f}).",
        file=report,
    )
    scores = ", ".join(
        f"{p.name} {v:.1f} dB" for p, v in zip(result.photos, result.psnr, strict=True)
    )
    print(f"Self-view PSNR inside the person: {scores}.", file=report)
    for note in result.notes:
        print(f"Note: {note}", file=report)
        if events is not None:
            events.note(note)
    if events is not None:
        events.done(
            path=str(output.resolve()),
            preview=str(preview_file.resolve()),
            gaussians=avatar.count,
            seconds=round(seconds.total, 2),
        )
    return 0
