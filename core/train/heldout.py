"""Held-out scores: the network's feedforward prediction against today's initialisation, on
synthetic subjects it never saw.

Per subject (a shard of `lca data synth` with seeds never used in training): the network and
today's initialisation (core.recon.appearance.initial_colours: the photo's colours projected
onto the seeded template, the rest filled from the nearest seen colours) each get the most
frontal body view, on the same template seeded at the subject's noisy body shape with the
same noisy camera (core.train.dataset). Both are rendered into the back view (the camera
nearest +Y, behind a body facing -Y), the two side views (nearest -X and +X) and the
face close-up, in the subject's true pose; PSNR inside the true person mask (alpha >= 0.5).

Letters: K views.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch

from ..body.model import BodyModel
from ..deform.binding import deform_gaussians
from ..model.network import LcaNet, predict_avatar
from ..posing import pose_correction, splat_scene
from ..progress import Progress, no_progress
from ..recon.feedforward import base_colours
from ..recon.losses import masked_psnr
from ..render import render
from ..render.sh import SH_C0
from .config import DataConfig
from .dataset import Subject, _moved, load_subject

KINDS = ("input", "back", "side", "face")


@dataclass(frozen=True)
class HeldoutScores:
    """Mean PSNR (dB) per view kind (KINDS) of today's initialisation and of the network's
    prediction, over ``subjects`` held-out subjects (side: both sides)."""

    subjects: int
    today: dict[str, float]
    network: dict[str, float]


def _pick_views(subject: Subject) -> dict[str, list[int]]:
    """View indices of each kind (module docstring)."""
    shard = subject.shard
    centre = subject.vertices.mean(0)
    body = [k for k, n in enumerate(shard.view_names) if n != "face"]
    direction = {}
    for k in body:
        d = shard.camera(k).position - centre
        direction[k] = d / d.norm()
    front = max(body, key=lambda k: -float(direction[k][1]))
    back = max(body, key=lambda k: float(direction[k][1]))
    left = max(body, key=lambda k: -float(direction[k][0]))
    right = max(body, key=lambda k: float(direction[k][0]))
    face = [k for k, n in enumerate(shard.view_names) if n == "face"]
    return {
        "input": [front],
        "back": [back],
        "side": sorted({left, right} - {front, back}),
        "face": face,
    }


def _psnr(avatar_binding, faces, subject: Subject, k: int, correction=None) -> float:
    """PSNR in view ``k`` of the binding posed as the subject (plus ``correction`` (1, N, 3),
    the avatar's pose correction there, if given)."""
    view = subject.shard.view(k, subject.vertices)
    with torch.no_grad():
        world = deform_gaussians(subject.vertices[None], faces, avatar_binding, correction)
        result = render(splat_scene(avatar_binding, world), view.camera, backend="torch")
    return masked_psnr(result.rgb, view.rgb, view.mask >= 0.5)


def score_subject(
    net: LcaNet, body: BodyModel, path: Path, config: DataConfig, seed: int
) -> tuple[dict, dict]:
    """(today, network): PSNR lists per kind for one held-out shard."""
    import dataclasses

    subject = load_subject(body, path, config, seed)
    kinds = _pick_views(subject)
    k = kinds["input"][0]
    g = torch.Generator().manual_seed(seed * 31 + subject.shard.seed)
    camera = _moved(subject.shard.camera(k), config.camera_noise * torch.randn(3, generator=g))
    photo = subject.shard.view(k, subject.vertices, camera)
    template = subject.template
    colours = base_colours(template, [photo])
    sh = template.binding.sh.clone()
    sh[:, 0] = (colours - 0.5) / SH_C0
    today = dataclasses.replace(template.binding, sh=sh)
    avatar = predict_avatar(net, template, [photo], colours)
    predicted = avatar.binding
    shard = subject.shard
    correction = pose_correction(avatar.correction, shard.rotations[None], shard.expression[None])
    faces = template.faces
    out_today: dict[str, list[float]] = {kind: [] for kind in KINDS}
    out_net: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for kind, indices in kinds.items():
        for i in indices:
            out_today[kind].append(_psnr(today, faces, subject, i))
            out_net[kind].append(_psnr(predicted, faces, subject, i, correction))
    return out_today, out_net


def heldout_scores(
    net: LcaNet,
    body: BodyModel,
    paths: list[Path],
    config: DataConfig,
    seed: int = 12345,
    progress: Progress = no_progress,
) -> HeldoutScores:
    """Mean scores over the held-out shards ``paths`` (module docstring)."""
    today: dict[str, list[float]] = {kind: [] for kind in KINDS}
    network: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for i, path in enumerate(paths):
        progress("scoring held-out subjects", i / len(paths))
        a, b = score_subject(net, body, path, config, seed)
        for kind in KINDS:
            today[kind] += [x for x in a[kind] if math.isfinite(x)]
            network[kind] += [x for x in b[kind] if math.isfinite(x)]
    progress("scoring held-out subjects", 1.0)

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else math.nan

    return HeldoutScores(
        subjects=len(paths),
        today={k: mean(v) for k, v in today.items()},
        network={k: mean(v) for k, v in network.items()},
    )


def report_lines(scores: HeldoutScores) -> list[str]:
    """The table `lca data score` prints."""
    lines = [
        f"{scores.subjects} held-out subjects, PSNR inside the person mask (dB):",
        "view    today  network  gain",
    ]
    for kind in KINDS:
        a, b = scores.today[kind], scores.network[kind]
        lines.append(f"{kind:<6} {a:6.2f}  {b:7.2f}  {b - a:+5.2f}")
    return lines
