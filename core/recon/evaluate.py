"""`lca eval`: create an avatar from some photos of a person and score it on the others.

1. Create the avatar from the training photos (:func:`core.recon.create.create_avatar`).
2. Fit only pose, expression and camera to each held-out photo, keeping the created avatar's
   body shape (:func:`core.recon.body_fit.fit_body` with ``shape=``); appearance stays frozen.
3. Render the avatar in each held-out view, over the photo itself (so outside the avatar the
   photo is unchanged), at the fitting resolution of the quality preset, and compare with the
   photo: PSNR and SSIM inside the person mask (how the avatar looks where the person is) and
   outside it (where the avatar spills past the person's outline). The training photos are
   scored the same way (the "self view").
4. A side-by-side image per view: the photo, the render, and 4x the absolute difference.
5. Face identity (``core.recon.identity``, where dlib is installed): per photo with a face,
   the descriptor distance between the photo's face and the avatar's, rendered in the
   photo's fitted pose and camera, and from a frontal face camera. Without dlib the scores
   are left out and ``EvalResult.notes`` says why in one sentence.

Held-out views fitted from landmarks alone are never pixel-aligned the way the training
views are, so their scores include fitting error as well as appearance error.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..avatar.avatar import Avatar
from ..create_settings import CreateSettings
from ..errors import LcaError
from ..progress import Progress, no_progress
from .create import QUALITIES, CreateResult, _body_model, create_avatar, resolve_device
from .fit_types import BodyFit
from .identity import IdentityScore
from .images import load_photo
from .losses import masked_psnr, ssim_map
from .perception import perceive
from .views import MASK_THRESHOLD, ViewTarget, prepare_views, render_view

DIFFERENCE_GAIN = 4.0
"""The difference image shows 4x |render - photo|."""

DEFAULT_SETTINGS = CreateSettings(quality="draft")
"""`lca eval` creates at draft quality unless told otherwise."""


@dataclass(frozen=True)
class ViewScore:
    """Scores of one view. psnr_*: dB; ssim_*: mean SSIM over the pixels; *_person: inside
    the person mask (at least MASK_THRESHOLD), *_background: outside it."""

    photo: str
    held_out: bool
    psnr_person: float
    ssim_person: float
    psnr_background: float
    ssim_background: float


@dataclass(frozen=True)
class EvalResult:
    """created: the create run on the training photos; scores: training views first, then
    held-out views; panels: one side-by-side image per score; seconds: wall-clock total."""

    created: CreateResult
    scores: tuple[ViewScore, ...]
    panels: tuple[Image.Image, ...]
    seconds: float
    identity: tuple[IdentityScore, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def held_out(self) -> tuple[ViewScore, ...]:
        return tuple(s for s in self.scores if s.held_out)


def score_view(
    avatar: Avatar, view: ViewTarget, name: str, held_out: bool, backend: str = "torch"
) -> tuple[ViewScore, Image.Image]:
    """Scores and the side-by-side image of ``avatar`` in one fitted view."""
    with torch.no_grad():
        result = render_view(avatar, view, backend=backend)
        shown = (result.rgb + (1 - result.alpha[..., None]) * view.rgb).clamp(0, 1)
        person = view.mask >= MASK_THRESHOLD
        similarity = ssim_map(shown, view.rgb)
    score = ViewScore(
        photo=name,
        held_out=held_out,
        psnr_person=masked_psnr(shown, view.rgb, person),
        ssim_person=_masked_mean(similarity, person),
        psnr_background=masked_psnr(shown, view.rgb, ~person),
        ssim_background=_masked_mean(similarity, ~person),
    )
    difference = ((shown - view.rgb).abs() * DIFFERENCE_GAIN).clamp(0, 1)
    row = torch.cat((view.rgb, shown, difference), dim=1).cpu().numpy()
    return score, Image.fromarray((row * 255 + 0.5).astype(np.uint8))


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> float:
    return float(values[mask].mean()) if bool(mask.any()) else math.nan


def evaluate(
    train: list[Path],
    held_out: list[Path],
    settings: CreateSettings = DEFAULT_SETTINGS,
    progress: Progress = no_progress,
) -> EvalResult:
    """Create from ``train`` with ``settings``, score on ``train`` (self view) and
    ``held_out`` (module docstring); the held-out photos are read with the settings' person
    and allow_partial. Raises LcaError for bad photos or options, as `lca create` does."""
    if not train:
        raise LcaError("No training photos were given; give at least one photo to create from.")
    start = time.perf_counter()
    created = create_avatar(train, settings, progress=progress)
    preset = QUALITIES[settings.quality]
    target = resolve_device(settings.device)
    backend = "torch" if target.type == "cpu" else "auto"
    person, allow_partial = settings.person, settings.allow_partial
    perceptions = []
    for i, path in enumerate(held_out):
        progress("held-out photos", i / len(held_out))
        perceptions.append(perceive(load_photo(path), person=person, allow_partial=allow_partial))
    progress("held-out photos", 1.0)
    body = _body_model(target)
    test_fit = None
    if perceptions:
        test_fit = _fit_held_out(body, perceptions, created.fit, preset.body_steps, progress)

    scores, panels = [], []
    groups = [(created.fit, list(created.photos), False)]
    if test_fit is not None:
        groups.append((test_fit, list(held_out), True))
    for fit, paths, is_held_out in groups:
        for view, path in zip(prepare_views(body, fit, preset.size), paths, strict=True):
            score, panel = score_view(created.avatar, view, Path(path).name, is_held_out, backend)
            scores.append(score)
            panels.append(panel)
    identity, notes = _identity(body, created.avatar, groups, progress)
    progress("score", 1.0)
    return EvalResult(
        created=created,
        scores=tuple(scores),
        panels=tuple(panels),
        seconds=time.perf_counter() - start,
        identity=identity,
        notes=notes,
    )


def _identity(body, avatar: Avatar, groups, progress: Progress):
    """(identity scores of every scored photo, notes): core.recon.identity where dlib is
    installed, else no scores and one sentence why."""
    from .identity import identity_scores, load_identity_model

    try:
        model = load_identity_model()
    except LcaError as error:
        return (), (str(error),)
    progress("face identity", 0.0)
    scores: list[IdentityScore] = []
    for fit, paths, _ in groups:
        names = [Path(p).name for p in paths]
        scores.extend(identity_scores(model, body, avatar, fit, names))
    progress("face identity", 1.0)
    return tuple(scores), ()


def format_identity(scores: tuple[IdentityScore, ...]) -> str:
    """A Markdown table of the face identity distances ("-": no face in the photo)."""
    lines = [
        "| photo | identity distance, fitted view | identity distance, frontal |",
        "| --- | --- | --- |",
    ]
    for s in scores:
        cells = ["-" if v is None else f"{v:.3f}" for v in (s.in_view, s.frontal)]
        lines.append(f"| {s.photo} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _fit_held_out(body, perceptions, fit: BodyFit, steps: int, progress: Progress) -> BodyFit:
    """Pose, expression and camera of each held-out photo at the created body shape."""
    from .body_fit import fit_body

    def held(stage: str, fraction: float) -> None:
        progress("fitting held-out", fraction)

    return fit_body(body, perceptions, steps=steps, shape=fit.shape, progress=held)


def format_scores(scores: tuple[ViewScore, ...]) -> str:
    """A Markdown table of the scores."""
    lines = [
        "| photo | view | PSNR person dB | SSIM person | PSNR background dB | SSIM background |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in scores:
        kind = "held out" if s.held_out else "self"
        lines.append(
            f"| {s.photo} | {kind} | {s.psnr_person:.2f} | {s.ssim_person:.3f} | "
            f"{s.psnr_background:.2f} | {s.ssim_background:.3f} |"
        )
    return "\n".join(lines)
