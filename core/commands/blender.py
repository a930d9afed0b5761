"""``lca blender ...``: the Blender extension's commands run with the bpy module.

The command belongs to the Blender side: the lca_addon package provides it as the entry
point ``blender`` of the group "lca.commands" (pyproject.toml; ``lca_addon/blender_command.py``,
a module with ``add_parser(subparsers)`` and ``run(args) -> int`` that imports bpy only when
run). This module finds it through the installed package's metadata, so core never imports
lca_addon. Where the package is not installed, ``lca blender`` still has a parser and says
so in one sentence.
"""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points
from types import ModuleType

from ..errors import LcaError

GROUP = "lca.commands"
"""The entry point group of commands that other packages add to ``lca``."""

NAME = "blender"

MISSING_HELP = (
    "Run the Blender extension's commands with the bpy module (needs the project's source "
    "install, which provides them)."
)


def bridge() -> ModuleType | None:
    """The module of the entry point ``blender`` in GROUP, or None where none is installed."""
    for point in entry_points(group=GROUP, name=NAME):
        try:
            return point.load()
        except ModuleNotFoundError:
            return None
    return None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    found = bridge()
    if found is not None:
        return found.add_parser(subparsers)
    p = subparsers.add_parser(NAME, help=MISSING_HELP, description=MISSING_HELP)
    p.add_argument("blender_args", nargs=argparse.REMAINDER, metavar="COMMAND ...")
    return p


def run(args: argparse.Namespace) -> int:
    found = bridge()
    if found is None:
        raise LcaError(
            "`lca blender` needs the project's Blender package lca_addon, which is not "
            "installed; install the project from its checkout (pip install -e .)."
        )
    return found.run(args)


def run_blender(argv: list[str]) -> int:
    """``lca blender ARGV``: run the Blender command line ``argv`` (e.g. ["bench",
    "--repeats", "5"]) with the bpy module; returns its exit code."""
    parser = argparse.ArgumentParser(prog="lca")
    add_parser(parser.add_subparsers())
    return run(parser.parse_args([NAME, *argv]))
