"""`lca data synth`: synthetic studio subjects photographed all around, written as shards.

Each subject (core.train.data.subjects) is photographed in its pose by ``core.render`` from
``views`` full-body cameras spread around it (azimuths evenly spaced from a random start,
elevations -10..30 degrees, vertical fields of view 20..50 degrees, framed to fit) and one
face close-up, square ``size`` pixels, over black with the alpha as the person mask.

The body parameters a shard holds are the true ones; training perturbs them to stand for
body-fitting error (core.train.dataset), instead of fitting bodies to the renders.

Letters: K views, S pixels, V vertices, J bones, E expressions.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ...avatar.lca_file import save_lca
from ...body.model import BodyModel
from ...deform.template import make_starter_avatar
from ...posing import avatar_scene, posed_vertices
from ...progress import Progress, no_progress
from ...render import render
from ...render.camera import frame_points
from ...render.types import Camera
from .shards import Shard, write_shard
from .subjects import draw_subject, dress_subject, subject_pose, subject_shape

SUBJECT_GAUSSIANS = 15_000
"""Gaussians of each synthetic subject's true avatar."""


@dataclass(frozen=True)
class SynthSettings:
    """subjects: how many; views: full-body views each (a face close-up is added); size:
    square image side in pixels; seed: the first subject's seed (subject i has seed + i);
    gaussians: of each true avatar."""

    subjects: int
    views: int
    size: int
    seed: int = 0
    gaussians: int = SUBJECT_GAUSSIANS

    def __post_init__(self) -> None:
        from ...errors import LcaError

        for name in ("subjects", "views", "size", "gaussians"):
            if getattr(self, name) < 1:
                raise LcaError(f"--{name} must be 1 or more, not {getattr(self, name)}.")
        if self.size < 16 or self.size > 2048:
            raise LcaError(f"--size must be 16 to 2048 pixels, not {self.size}.")


def subject_cameras(
    vertices: Tensor, head: Tensor, views: int, size: int, seed: int
) -> list[Camera]:
    """``views`` full-body cameras around the posed body (V, 3) and one face close-up framing
    the ``head`` vertices (bool (V,)); names: view_names."""
    rng = random.Random(seed)
    start = rng.uniform(0.0, 360.0)
    cameras = []
    for i in range(views):
        azimuth = (start + 360.0 * i / views + rng.uniform(-10, 10)) % 360.0
        cameras.append(
            frame_points(
                vertices,
                azimuth,
                rng.uniform(-10.0, 30.0),
                size,
                size,
                fov_y_deg=rng.uniform(20.0, 50.0),
                margin=rng.uniform(1.03, 1.2),
            )
        )
    face = frame_points(
        vertices[head],
        rng.uniform(-35.0, 35.0),
        rng.uniform(-5.0, 15.0),
        size,
        size,
        fov_y_deg=30.0,
        margin=1.3,
    )
    cameras.append(face)
    return cameras


def make_subject_shard(body: BodyModel, seed: int, settings: SynthSettings) -> tuple[Shard, object]:
    """(shard, true avatar) of the subject of ``seed``."""
    spec = draw_subject(body, seed)
    shape = subject_shape(body, spec)
    from ...body.anny_body import anny_uv_regions

    regions = anny_uv_regions(body.uvs)
    starter = make_starter_avatar(
        body, count=settings.gaussians, seed=seed, regions=regions, shape=shape
    )
    avatar = dress_subject(starter, spec)
    pose = subject_pose(body, spec)
    vertices = posed_vertices(avatar, body, [pose])[0]
    head = body.vertex_parts.cpu() == avatar.part_names.index("head")
    cameras = subject_cameras(vertices, head, settings.views, settings.size, seed)
    images, masks = [], []
    scene = avatar_scene(avatar, vertices)
    for camera in cameras:
        with torch.no_grad():
            shot = render(scene, camera, background=(0.0, 0.0, 0.0), backend="torch")
        images.append((shot.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8))
        masks.append((shot.alpha.clamp(0, 1) * 255 + 0.5).to(torch.uint8))
    shard = Shard(
        seed=seed,
        spec=dataclasses.asdict(spec),
        images=torch.stack(images),
        masks=torch.stack(masks),
        K=torch.stack([c.K.float() for c in cameras]),
        world_to_camera=torch.stack([c.world_to_camera.float() for c in cameras]),
        view_names=tuple([f"body{i}" for i in range(settings.views)] + ["face"]),
        shape=shape.float(),
        rotations=pose.rotations.float(),
        expression=pose.expression.float(),
        translation=pose.translation.float(),
        vertices=vertices.float(),
    )
    return shard, avatar


def synthesize(
    body: BodyModel, out: Path, settings: SynthSettings, progress: Progress = no_progress
) -> list[Path]:
    """Write ``settings.subjects`` shards (``subject_<seed>.safetensors``) and their true
    avatars (``subject_<seed>.lca``) into ``out``; returns the shard paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(settings.subjects):
        progress("synthesizing subjects", i / settings.subjects)
        seed = settings.seed + i
        shard, avatar = make_subject_shard(body, seed, settings)
        path = out / f"subject_{seed:06d}.safetensors"
        save_lca(avatar, path.with_suffix(".lca"))
        write_shard(path, shard)
        paths.append(path)
    progress("synthesizing subjects", 1.0)
    return paths
