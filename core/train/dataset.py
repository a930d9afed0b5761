"""Training subjects: shards read once, each with its template, and the views of each step.

A subject's body is its true one with noise standing for body-fitting error (DataConfig:
shape_noise on the phenotypes, camera_noise on the input cameras' positions), drawn once per
subject from the run's seed: the network is trained on bodies as imprecise as the ones it
gets at inference. Its template (core.deform.template) is seeded on that noisy shape, as
``lca create`` seeds it on the fitted shape.

Which subjects and views a step uses is a function of (seed, step) alone, so a resumed run
draws what the uninterrupted run would have.

Letters: V vertices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..avatar.avatar import Avatar
from ..body.model import BodyModel
from ..body.poses import Pose
from ..deform.template import make_starter_avatar
from ..model.inputs import ModelView
from ..posing import posed_vertices
from ..render.types import Camera
from .config import DataConfig
from .data.shards import Shard, read_shard


@dataclass(frozen=True)
class Subject:
    """A shard with its noisy body: template (canonical, at the noisy shape) and vertices
    (V, 3) of that body in the subject's pose."""

    shard: Shard
    template: Avatar
    vertices: Tensor


@dataclass(frozen=True)
class TargetView:
    """A view the prediction is scored in: rgb (H, W, 3) float32 sRGB in [0, 1]; mask (H, W)
    float32 person mask; camera; vertices (V, 3) the body posed as there; weight: None scores
    the colours over the whole image (renders over black), or (H, W) float32 scores them
    inside this mask only (video frames, whose background the avatar does not hold);
    rotations (J, 3) and expression (E,): that pose, for the network's pose correction (None:
    the binding is posed without one)."""

    rgb: Tensor
    mask: Tensor
    camera: Camera
    vertices: Tensor
    weight: Tensor | None = None
    rotations: Tensor | None = None
    expression: Tensor | None = None


@dataclass(frozen=True)
class Sample:
    """One subject in one step: the photos the network gets and the views it is scored in.
    subject: anything with the ``template`` (Avatar) the network predicts on (a Subject, or a
    core.train.video_subjects.VideoSubject)."""

    subject: object
    inputs: tuple[ModelView, ...]
    targets: tuple[TargetView, ...]


def shard_target(subject: Subject, k: int) -> TargetView:
    """View ``k`` of a shard subject as a target (its true camera, the subject's body)."""
    shard = subject.shard
    view = shard.view(k, subject.vertices)
    return TargetView(
        view.rgb,
        view.mask,
        view.camera,
        view.vertices,
        rotations=shard.rotations,
        expression=shard.expression,
    )


def load_subject(body: BodyModel, path: Path, config: DataConfig, seed: int) -> Subject:
    """The subject of the shard ``path`` with its noisy body (module docstring)."""
    shard = read_shard(path)
    g = torch.Generator().manual_seed(seed * 1_000_003 + shard.seed)
    shape = (shard.shape + config.shape_noise * torch.randn(shard.shape.shape, generator=g)).clamp(
        0, 1
    )
    template = make_starter_avatar(
        body, count=config.template_gaussians, seed=shard.seed, shape=shape
    )
    pose = Pose(shard.rotations, shard.expression, shard.translation)
    vertices = posed_vertices(template, body, [pose])[0]
    return Subject(shard, template, vertices)


def _moved(camera: Camera, shift: Tensor) -> Camera:
    """``camera`` with its centre moved by ``shift`` (3,) metres."""
    w2c = camera.world_to_camera.clone()
    w2c[:3, 3] = w2c[:3, 3] - w2c[:3, :3] @ shift.to(w2c)
    return dataclasses.replace(camera, world_to_camera=w2c)


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 7_919 + step) * 104_729 + rank)


def draw_samples(
    subjects: list, config: DataConfig, seed: int, step: int, batch: int
) -> list[Sample]:
    """The ``batch`` samples of ``step`` (the same for every rank; ranks take their share).
    subjects: Subjects and VideoSubjects (core.train.video_subjects) in any mix."""
    g = step_generator(seed, step)
    order = torch.randperm(len(subjects), generator=g)
    samples = []
    for i in range(batch):
        subject = subjects[int(order[i % len(subjects)])]
        if not isinstance(subject, Subject):
            samples.append(subject.draw(config, g))
            continue
        shard = subject.shard
        body_views = [k for k, n in enumerate(shard.view_names) if n != "face"]
        picked = torch.randperm(len(body_views), generator=g)
        inputs = [body_views[int(k)] for k in picked[: config.input_views]]
        rest = [k for k in range(shard.count) if k not in inputs]
        chosen = torch.randperm(len(rest), generator=g)[: config.target_views]
        views = []
        for k in inputs:
            shift = config.camera_noise * torch.randn(3, generator=g)
            views.append(shard.view(k, subject.vertices, _moved(shard.camera(k), shift)))
        targets = tuple(shard_target(subject, rest[int(j)]) for j in chosen)
        samples.append(Sample(subject, tuple(views), targets))
    return samples
