"""``lca create``: an avatar from photos of one person, NAME.lca and NAME.preview.png.

Its options are declared in ``core/commands/create_options.py``, shared with
``blender -c lca create``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .create_options import add_create_options
from .options import set_threads

HELP = "Create an avatar from photos of one person (writes NAME.lca and NAME.preview.png)."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("create", help=HELP, description=HELP)
    add_create_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..avatar.lca_file import save_lca
    from ..create_settings import CreateSettings
    from ..images import save_image
    from ..progress import StageLine
    from ..recon.create import create_avatar
    from .create_options import check_output, named, preview_path, render_preview

    output = Path(args.output)
    check_output(output)
    preview_file = preview_path(output)
    settings = CreateSettings.from_args(args)
    set_threads(settings.threads)
    with StageLine() as progress:
        result = create_avatar([Path(p) for p in args.photos], settings, progress=progress)
        progress("preview", 0.0)
        avatar = named(result.avatar, output.stem)
        preview = render_preview(avatar)
        progress("preview", 1.0)
    save_lca(avatar, output)
    save_image(preview_file, preview)
    seconds = result.seconds
    print(
        f"Wrote {output} ({avatar.count:,} Gaussians) and {preview_file.name} in "
        f"{seconds.total:.1f} s (load {seconds.load:.1f}, perceive {seconds.perceive:.1f}, "
        f"body {seconds.body:.1f}, network {seconds.network:.1f}, appearance "
        f"{seconds.appearance:.1f}, score "
        f"{seconds.score:.1f})."
    )
    scores = ", ".join(
        f"{p.name} {v:.1f} dB" for p, v in zip(result.photos, result.psnr, strict=True)
    )
    print(f"Self-view PSNR inside the person: {scores}.")
    for note in result.notes:
        print(f"Note: {note}")
    return 0
