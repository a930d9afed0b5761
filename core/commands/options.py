"""What several ``lca`` commands share: the --threads and --smplx-dir options, torch's thread
count, and an avatar's vertices in a named pose."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

    from ..avatar.avatar import Avatar
    from ..body.poses import Pose


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """--threads: torch's CPU threads (None: torch's choice); see :func:`set_threads`."""
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads for torch (default: torch's choice, one per core); on a machine "
        "busy with other work, 1 is often much faster",
    )


def add_smplx_option(parser: argparse.ArgumentParser) -> None:
    """--smplx-dir: where the user's own SMPL-X model file is."""
    parser.add_argument("--smplx-dir", help="folder with your licensed smplx/SMPLX_NEUTRAL.npz")


def set_threads(threads: int | None) -> None:
    """Set torch's CPU thread count for this process (None: leave torch's choice); a count
    below 1 is refused (LcaError, one sentence)."""
    from ..create_settings import check_threads

    check_threads(threads)
    if threads is None:
        return
    import torch

    torch.set_num_threads(threads)


def posed_vertices(
    avatar: Avatar, pose_spec: str, smplx_dir: str | None
) -> tuple[Tensor, Pose | None]:
    """(V, 3) vertices of ``avatar`` in ``pose_spec`` (preset(s) joined by '+' or a pose
    .json) and that pose (for the avatar's pose correction); "rest" needs no body model and
    gives no pose (the correction is zero there)."""
    if pose_spec == "rest":
        return avatar.canonical_vertices, None
    from ..body import load_body_model
    from ..body.poses import parse_pose
    from ..posing import posed_vertices as pose_vertices

    body = load_body_model(avatar.body.model, smplx_dir=smplx_dir)
    pose = parse_pose(body, pose_spec)
    return pose_vertices(avatar, body, [pose])[0], pose
