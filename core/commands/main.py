"""The `lca` command: its parser, built from the one tuple of command modules, and
:func:`main`.

Every command has --help. Bad input ends with one sentence on stderr and exit code 2; no
traceback (set LCA_DEBUG=1 to see one). A reader that goes away early (``lca info X | head
-1``) ends the command quietly with exit code 141, as a program killed by SIGPIPE reports
itself to a shell (128 + 13), so ``set -o pipefail`` still sees that output was cut short.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import LcaError, one_line
from . import (
    bench,
    blender,
    create,
    data,
    demo,
    evaluate,
    export_ply,
    face_capture,
    info,
    render,
    train,
    upgrade,
    warm,
)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

COMMANDS = (
    render,
    export_ply,
    info,
    create,
    evaluate,
    face_capture,
    bench,
    demo,
    upgrade,
    warm,
    blender,
    data,
    train,
)
"""The command modules, in the order ``lca --help`` lists them; each has
``add_parser(subparsers)`` and ``run(args) -> int``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lca", description="Gaussian avatars from photos: render, export, inspect, bench."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except LcaError as err:
        print(f"lca: error: {one_line(str(err))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lca: interrupted; no partial files were left behind.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # a bug, not bad input: say so in one sentence
        if os.environ.get("LCA_DEBUG"):
            raise
        print(
            f"lca: internal error ({type(err).__name__}: {one_line(str(err), 300)}); rerun "
            "with LCA_DEBUG=1 and report the traceback.",
            file=sys.stderr,
        )
        return 1


def _drop_stdout() -> None:
    """Point stdout at the null device after its reader went away, so that Python's own flush
    at exit does not fail again and print "Exception ignored" (as the CPython docs on SIGPIPE
    advise)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout replaced by one without a descriptor
        pass


if __name__ == "__main__":
    sys.exit(main())
