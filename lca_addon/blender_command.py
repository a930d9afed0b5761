"""``lca blender ...``: the extension's command-line commands from the ``lca`` command.

The project's pyproject.toml declares this module as the entry point ``blender`` of the group
"lca.commands", which ``core/commands/blender.py`` looks up, so ``lca`` reaches it without
core importing lca_addon. Outside Blender, lca_addon is imported as a top-level package, so
this module imports nothing of the extension that reaches core relatively (``..core``): only
``bpy_module.py``, and bpy only when the command runs.

``run`` hands the arguments to ``bpy_module.run_command``, which enables the extension from
the project's checkout in the bpy module and runs ``blender -c lca``'s callback.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "blender"
HELP = (
    "Run the Blender extension's commands (import, motion, render) with the bpy module; "
    "`lca blender render --help` for one."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``blender`` subcommand: everything after it is the Blender command line."""
    p = subparsers.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument(
        "blender_args",
        nargs=argparse.REMAINDER,
        metavar="COMMAND ...",
        help="import AVATAR.lca --blend FILE.blend | motion AVATAR --motion CLIP --blend OUT.blend "
        "| render FILE.blend --out DIR",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``args.blender_args`` as ``blender -c lca`` would, with the bpy module; returns its
    exit code. A missing checkout or bpy module is an LcaError (one sentence)."""
    from core.errors import LcaError

    from .bpy_module import run_command

    checkout = Path(__file__).resolve().parents[1]
    manifest = checkout / "blender_manifest.toml"
    if not manifest.is_file():
        raise LcaError(
            f"`lca blender` needs the project's checkout (no {manifest} found); run it from a "
            "source install of the project."
        )
    try:
        return run_command(list(args.blender_args), checkout)
    except ImportError as err:
        raise LcaError(
            f"`lca blender` needs the bpy module ({err}); install it with "
            "`pip install bpy==5.0.1` (Python 3.11)."
        ) from None
