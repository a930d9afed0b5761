"""Small seeded synthetic avatars and checks shared by the tests."""

from __future__ import annotations

import dataclasses

import torch

from core.avatar import Avatar, BodyIdentity
from core.avatar.benchmark import synthetic_avatar

PART_NAMES = ("torso", "head", "left_hand", "right_hand")


def octahedron() -> tuple[torch.Tensor, torch.Tensor]:
    """vertices (6, 3) float32 (unit octahedron, Z up), faces (8, 3) int64, outward normals."""
    vertices = torch.tensor(
        [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
        dtype=torch.float32,
    )
    faces = torch.tensor(
        [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]],
        dtype=torch.int64,
    )
    return vertices, faces


def tiny_avatar(n: int = 64, sh_degree: int = 1, seed: int = 0) -> Avatar:
    """A seeded avatar of ``n`` random, valid Gaussians bound to an octahedron."""
    avatar = synthetic_avatar(
        *octahedron(), n, sh_degree=sh_degree, seed=seed, part_names=PART_NAMES
    )
    return dataclasses.replace(
        avatar,
        body=BodyIdentity(model="anny", model_version="0.6.2", shape={"age": 0.5, "mass": 0.25}),
        metadata={"name": "tiny", "seed": str(seed)},
    )


def assert_one_sentence(err: BaseException, path) -> None:
    """``err`` is one sentence that names ``path`` (by its full path) and ends with a full stop."""
    message = str(err)
    assert str(path) in message, message
    rest = message.replace(str(path), "PATH")
    assert "\n" not in rest and rest.endswith("."), message
    assert ". " not in rest and "; " in rest, message


def random_correction(
    count: int,
    bones: int,
    expressions: int,
    seed: int = 0,
    *,
    hidden: int = 8,
    anchors: int = 6,
    neighbours: int = 2,
):
    """A random, non-zero pose correction (core.avatar.pose_correction) of ``count``
    Gaussians: ``hidden`` units, ``anchors`` anchors, ``neighbours`` anchors per Gaussian."""
    from core.avatar.pose_correction import PoseCorrection

    H, M, k = hidden, anchors, neighbours
    g = torch.Generator().manual_seed(seed)
    return PoseCorrection(
        bones=bones,
        expressions=expressions,
        fc1_weight=torch.randn(H, 3 * bones + expressions, generator=g),
        fc1_bias=torch.randn(H, generator=g),
        fc2_weight=0.05 * torch.randn(3 * M, H, generator=g),
        fc2_bias=torch.randn(3 * M, generator=g),
        anchor_index=torch.randint(0, M, (count, k), generator=g),
        anchor_weight=torch.full((count, k), 1.0 / k),
    )
