"""``lca upgrade``: rewrite an avatar file in the current `.lca` schema, with its rig.

A file made before schema 3 holds no rig, so Blender computes one on the body model with
torch when it imports it; Blender 5.3+ without torch cannot. ``lca upgrade`` computes the rig
here (``core.rig.build_rig``, the body model the avatar names) and writes the avatar again
with it; every other value is kept as it was read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LcaError

HELP = "Rewrite an avatar file in the current .lca schema, with its rig (for Blender 5.3+)."


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("upgrade", help=HELP, description=HELP)
    p.add_argument("avatar", help="the .lca avatar file to read")
    p.add_argument(
        "-o", "--output", required=True, help="the .lca file to write (may be the same file)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    from ..avatar.lca_file import load_lca_with_rig, read_lca_header, save_lca
    from ..rig import avatar_rig

    source, output = Path(args.avatar), Path(args.output)
    if output.suffix.lower() != ".lca":
        raise LcaError(f"The output '{output}' must end in .lca; choose a name such as x.lca.")
    version = read_lca_header(source)["schema_version"]
    avatar, rig = load_lca_with_rig(source)
    made = rig is None
    if made:
        rig = avatar_rig(avatar)
    save_lca(avatar, output, rig)
    what = "computed its rig on the body model" if made else "kept its stored rig"
    print(
        f"Wrote {output} (schema {read_lca_header(output)['schema_version']}, from schema "
        f"{version}); {what}."
    )
    return 0
