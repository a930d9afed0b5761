"""Fuzzing the pose JSON and camera JSON readers with mutated, valid seeds.

Pose files go through the public parser ``core.body.poses.parse_pose`` with the Anny body
(loaded once, on the first pose case); camera files through
``core.render.named_views.camera_from_json``, and a small camera is then rendered.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import torch

from ..avatar.benchmark import synthetic_avatar, torus_mesh
from ..body.poses import parse_pose
from ..posing import avatar_scene
from ..render import render
from ..render.named_views import camera_from_json
from .mutate import json_text, mutate_bytes, mutate_json

MAX_IMAGE_SIDE = 16384
"""The largest width or height a camera may have (as ``--size`` allows)."""

_POSES = (
    {"bones": {"upperarm01.L": [0, 0, 60], "lowerarm01.R": [10, 0, 0]}},
    {"expression": {"jawOpen": 0.7, "eyeBlinkLeft": 1.0}, "translation": [0, 0, 0.1]},
    {"bones": {"root": [0, 90, 0]}, "expression": {}, "translation": [1, 2, 3]},
)
_CAMERAS = (
    {
        "K": [[500, 0, 32], [0, 500, 24], [0, 0, 1]],
        "world_to_camera": [[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 3], [0, 0, 0, 1]],
        "width": 64,
        "height": 48,
    },
    {
        "K": [[80, 0, 16], [0, 80, 16], [0, 0, 1]],
        "world_to_camera": [[0, 1, 0, 0], [0, 0, -1, 0], [-1, 0, 0, 2], [0, 0, 0, 1]],
    },
)


def _case(seeds: tuple[dict, ...], rng: random.Random) -> bytes:
    seed = rng.choice(seeds)
    if rng.random() < 0.25:
        return mutate_bytes(json.dumps(seed).encode(), rng)
    return json_text(mutate_json(seed, rng), rng)


class PoseTarget:
    """Pose JSON files through ``parse_pose``; a parsed pose must be finite."""

    name = "pose"
    suffix = ".json"

    def __init__(self) -> None:
        self._body = None

    def make_case(self, rng: random.Random) -> bytes:
        return _case(_POSES, rng)

    def check(self, path: Path) -> None:
        if self._body is None:
            from ..body import load_body_model

            self._body = load_body_model("anny")
        pose = parse_pose(self._body, str(path))
        for values in (pose.rotations, pose.expression, pose.translation):
            assert bool(torch.isfinite(values).all()), "parse_pose returned non-finite values"


class CameraTarget:
    """Camera JSON files through ``camera_from_json``; a camera must be usable as given."""

    name = "camera"
    suffix = ".json"

    def __init__(self) -> None:
        vertices, faces = torus_mesh(rings=4, segments=6)
        self._scene = avatar_scene(synthetic_avatar(vertices, faces, 16, sh_degree=0))

    def make_case(self, rng: random.Random) -> bytes:
        return _case(_CAMERAS, rng)

    def check(self, path: Path) -> None:
        camera = camera_from_json(path, 32, 32)
        assert 1 <= camera.width <= MAX_IMAGE_SIDE and 1 <= camera.height <= MAX_IMAGE_SIDE, (
            "camera_from_json accepted an image size beyond the cap"
        )
        assert math.isfinite(float(camera.K.abs().sum()))
        if camera.width * camera.height <= 128 * 128:  # render small cameras only
            render(self._scene, camera, background=(0.0, 0.0, 0.0), backend="torch")
