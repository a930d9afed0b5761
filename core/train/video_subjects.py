"""Video folders (`lca data video`) as training subjects: the cross-frame task.

One video folder is one subject: one person (one fitted shape) seen in many frames, each
with its own fitted pose and camera. A sample gives the network ``input_views`` frames (the
frame as decoded, background and all, with its person mask, fitted camera and the fitted
body posed as there: what `lca create` gives it of a photo) and scores its prediction in
``target_views`` other frames, posed and seen as fitted there, inside their person masks
(core.train.losses). The mesh drives the splats: the one prediction is deformed to each
target frame's fitted body.

There is no true avatar of a video (only the pseudo-labels), so nothing here uses one, and
no noise is added: the fitted bodies carry their real fitting error. Frames are read from
the folder when drawn, so a long video does not sit in memory.

Letters: V vertices, F frames.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..avatar.avatar import Avatar
from ..body.model import BodyModel
from ..body.poses import Pose
from ..deform.template import make_starter_avatar
from ..errors import PATH_LIMIT, LcaError, quoted
from ..model.inputs import ModelView
from ..posing import posed_vertices
from .config import DataConfig
from .data.video_folder import VideoFolder, read_video_folder
from .dataset import Sample, TargetView


@dataclass(frozen=True)
class VideoSubject:
    """A checked video folder with its template (canonical, at the video's fitted shape) and
    vertices (F', V, 3): the body posed as fitted in each labelled frame, in label order."""

    folder: VideoFolder
    template: Avatar
    vertices: Tensor

    def frame(self, i: int) -> tuple[Tensor, Tensor]:
        """(rgb (H, W, 3), mask (H, W)) float32 in [0, 1] of the i-th labelled frame."""
        label = self.folder.labels[i]
        rgb = self.folder.image(label.frame).float() / 255.0
        return rgb, label.mask.float() / 255.0

    def draw(self, config: DataConfig, g: torch.Generator) -> Sample:
        """A sample: ``input_views`` labelled frames in, ``target_views`` others scored
        (fewer where the video has fewer frames; at least one of each)."""
        count = len(self.folder.labels)
        order = [int(i) for i in torch.randperm(count, generator=g)]
        inputs = order[: min(config.input_views, count - 1)]
        targets = order[len(inputs) : len(inputs) + config.target_views]
        views = []
        for i in inputs:
            rgb, mask = self.frame(i)
            views.append(ModelView(rgb, mask, self.folder.labels[i].camera, self.vertices[i]))
        scored = []
        for i in targets:
            rgb, mask = self.frame(i)
            camera = self.folder.labels[i].camera
            label = self.folder.labels[i]
            scored.append(
                TargetView(
                    rgb,
                    mask,
                    camera,
                    self.vertices[i],
                    weight=mask,
                    rotations=label.rotations,
                    expression=label.expression,
                )
            )
        return Sample(self, tuple(views), tuple(scored))


def load_video_subject(body: BodyModel, path: Path | str, config: DataConfig) -> VideoSubject:
    """The subject of the video folder ``path``; a folder with fewer than two labelled frames
    (one to predict from, one to score in) is refused."""
    folder = read_video_folder(path)
    if len(folder.labels) < 2:
        raise LcaError(
            f"Video folder {quoted(path, PATH_LIMIT)} has {len(folder.labels)} frame(s) with a "
            "fitted person; training needs at least 2 (one to predict from, one to score in)."
        )
    if folder.shape.shape != (len(body.shape_parameters),) or tuple(
        folder.labels[0].rotations.shape
    ) != (len(body.bone_names), 3):
        raise LcaError(
            f"Video folder {quoted(path, PATH_LIMIT)} was fitted with another body model; make "
            "it again with `lca data video`."
        )
    seed = zlib.crc32(str(folder.manifest.get("source", "")).encode())
    template = make_starter_avatar(
        body, count=config.template_gaussians, seed=seed, shape=folder.shape
    )
    poses = [Pose(label.rotations, label.expression, torch.zeros(3)) for label in folder.labels]
    with torch.no_grad():
        vertices = posed_vertices(template, body, poses)
    return VideoSubject(folder, template, vertices.float())
