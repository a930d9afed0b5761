"""Held-out scores: the network's feedforward prediction against today's initialisation, on
synthetic subjects it never saw, each alone and after refinement.

Per subject (a shard of `lca data synth` with seeds never used in training): the network and
today's initialisation (core.recon.appearance.initial_colours: the photo's colours projected
onto the seeded template, the rest filled from the nearest seen colours) each get the most
frontal body view, on the same template seeded at the subject's noisy body shape with the
same noisy camera (core.train.dataset). Both are rendered into the back view (the camera
nearest +Y, behind a body facing -Y), the two side views (nearest -X and +X), the two
three-quarter views (nearest the diagonals between the front and each side, when not
already one of those) and the face close-up, in the subject's true pose; PSNR and SSIM
(core.recon.losses: masked_psnr, masked_ssim) inside the true person mask (alpha >= 0.5).

Refinement curve: each start is refined by the photometric fitting `lca create` runs
(core.recon.appearance.refine: what fit_appearance runs after the initial colours, and what
`--method auto` runs on the network's prediction) on the input photo alone, with that same
body and camera, for each requested number of steps, and scored again. Each count is its own
run from the start (refine's learning rate follows a cosine over the steps it is given, so a
short run is not the beginning of a long one: it is what `lca create` with that many steps
does). Step 0 is the start itself.

Match (:func:`steps_to_match`): the fewest requested steps after which the network's start,
averaged over the held-out views (back, sides, three-quarter, face: the mean of the kinds'
mean PSNRs), is within MATCH_TOLERANCE dB of today's start after STANDARD_STEPS (the
standard quality's appearance steps), or above it.

Letters: K views.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch

from ..avatar.avatar import GaussianBinding
from ..body.model import BodyModel
from ..deform.binding import deform_gaussians
from ..errors import LcaError, quoted
from ..model.network import LcaNet, predict_avatar
from ..posing import pose_correction, splat_scene
from ..progress import Progress, no_progress
from ..recon.appearance import refine
from ..recon.create import QUALITIES
from ..recon.feedforward import base_colours, view_target
from ..recon.losses import masked_psnr, masked_ssim
from ..render import render
from ..render.sh import SH_C0
from .config import DataConfig
from .dataset import Subject, _moved, load_subject

KINDS = ("input", "back", "side", "three_quarter", "face")
HELD_OUT = ("back", "side", "three_quarter", "face")
"""The kinds the input photo does not show; the match is judged on them."""
STARTS = ("today", "network")
STANDARD_STEPS = QUALITIES["standard"].appearance_steps
MATCH_TOLERANCE = 0.1
"""dB below today's standard result that still counts as matching it."""
MAX_REFINE_STEPS = 10_000
REFINE_SEED = 0
"""The seed refinement draws its backgrounds from (`lca create`'s default seed)."""


@dataclass(frozen=True)
class ViewScore:
    """One held-out view of one subject: its kind (KINDS), PSNR (dB) and SSIM in the mask."""

    kind: str
    psnr: float
    ssim: float


@dataclass(frozen=True)
class SubjectScores:
    """One subject's views, per start, one tuple per step count (in ``steps`` order)."""

    steps: tuple[int, ...]
    today: tuple[tuple[ViewScore, ...], ...]
    network: tuple[tuple[ViewScore, ...], ...]


@dataclass(frozen=True)
class StepScores:
    """Mean PSNR (dB) and SSIM per view kind (KINDS; side: both sides) of one start after
    ``steps`` refinement steps, over the subjects (nan for a kind no subject had)."""

    steps: int
    psnr: dict[str, float]
    ssim: dict[str, float]


@dataclass(frozen=True)
class HeldoutScores:
    """Over ``subjects`` held-out subjects: per start, one StepScores per step count of
    ``steps`` (always starting at 0, the start itself)."""

    subjects: int
    steps: tuple[int, ...]
    today: tuple[StepScores, ...]
    network: tuple[StepScores, ...]


@dataclass(frozen=True)
class Match:
    """The network's start matches today's after ``reference`` steps after ``steps`` steps
    (None: not within the requested counts); ``ratio`` = steps / reference."""

    reference: int
    steps: int | None

    @property
    def ratio(self) -> float | None:
        return None if self.steps is None else self.steps / self.reference


def parse_refine_steps(text: str) -> tuple[int, ...]:
    """``--refine-steps`` ("0,25,50,100,250") -> the counts, ascending; LcaError (one
    sentence) unless they are distinct whole numbers from 0 to MAX_REFINE_STEPS."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise LcaError(
            f"--refine-steps {quoted(text)} must be whole numbers of steps separated by "
            f"commas, such as 0,25,50,100,250."
        )
    steps = [int(p) for p in parts]
    if len(set(steps)) != len(steps) or max(steps) > MAX_REFINE_STEPS:
        raise LcaError(
            f"--refine-steps {quoted(text)} must list each step count once, none above "
            f"{MAX_REFINE_STEPS}."
        )
    return tuple(sorted(steps))


def _pick_views(subject: Subject) -> dict[str, list[int]]:
    """View indices of each kind (module docstring)."""
    shard = subject.shard
    centre = subject.vertices.mean(0)
    body = [k for k, n in enumerate(shard.view_names) if n != "face"]
    direction = {}
    for k in body:
        d = shard.camera(k).position - centre
        direction[k] = d / d.norm()

    def nearest(x: float, y: float) -> int:
        return max(body, key=lambda k: x * float(direction[k][0]) + y * float(direction[k][1]))

    front, back = nearest(0, -1), nearest(0, 1)
    left, right = nearest(-1, 0), nearest(1, 0)
    diagonal = math.sqrt(0.5)
    quarters = {nearest(-diagonal, -diagonal), nearest(diagonal, -diagonal)}
    face = [k for k, n in enumerate(shard.view_names) if n == "face"]
    return {
        "input": [front],
        "back": [back],
        "side": sorted({left, right} - {front, back}),
        "three_quarter": sorted(quarters - {front, back, left, right}),
        "face": face,
    }


def _score_view(
    binding: GaussianBinding, faces, subject: Subject, k: int, correction=None
) -> tuple[float, float]:
    """(PSNR, SSIM) of ``binding`` in view k against the true image, inside the true mask
    (posed with ``correction`` (1, N, 3), the avatar's pose correction there, if given)."""
    view = subject.shard.view(k, subject.vertices)
    with torch.no_grad():
        world = deform_gaussians(subject.vertices[None], faces, binding, correction)
        result = render(splat_scene(binding, world), view.camera, backend="torch")
    inside = view.mask >= 0.5
    return masked_psnr(result.rgb, view.rgb, inside), masked_ssim(result.rgb, view.rgb, inside)


def score_subject(
    net: LcaNet,
    body: BodyModel,
    path: Path,
    config: DataConfig,
    seed: int,
    steps: tuple[int, ...] = (0,),
    progress: Progress = no_progress,
) -> SubjectScores:
    """Every view of each kind of one held-out shard, from each start after each of
    ``steps`` refinement steps (module docstring); progress: ("refining", fraction)."""
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
    predicted = predict_avatar(net, template, [photo], colours)
    starts = {
        "today": dataclasses.replace(template.binding, sh=sh),
        "network": predicted.binding,
    }
    shard = subject.shard
    corrections = {
        "today": None,
        "network": pose_correction(
            predicted.correction, shard.rotations[None], shard.expression[None]
        ),
    }
    target = [view_target(photo)]
    faces = template.faces
    total, done = 2 * sum(steps), 0
    scores: dict[str, list[tuple[ViewScore, ...]]] = {name: [] for name in STARTS}
    for name, start in starts.items():
        avatar = dataclasses.replace(template, binding=start)
        for n in steps:
            binding = start
            if n > 0:
                binding = refine(avatar, target, n, seed=REFINE_SEED, backend="torch")
                done += n
                progress("refining", done / total)
            views = []
            for kind, indices in kinds.items():
                for i in indices:
                    scored = _score_view(binding, faces, subject, i, corrections[name])
                    views.append(ViewScore(kind, *scored))
            scores[name].append(tuple(views))
    return SubjectScores(tuple(steps), tuple(scores["today"]), tuple(scores["network"]))


def _means(per_subject: list[tuple[ViewScore, ...]], steps: int) -> StepScores:
    """Mean PSNR and SSIM per kind over the finite scores of the subjects' views."""

    def mean(values: list[float]) -> float:
        values = [x for x in values if math.isfinite(x)]
        return statistics.fmean(values) if values else math.nan

    views = [v for subject in per_subject for v in subject]
    return StepScores(
        steps=steps,
        psnr={kind: mean([v.psnr for v in views if v.kind == kind]) for kind in KINDS},
        ssim={kind: mean([v.ssim for v in views if v.kind == kind]) for kind in KINDS},
    )


def heldout_scores(
    net: LcaNet,
    body: BodyModel,
    paths: list[Path],
    config: DataConfig,
    seed: int = 12345,
    refine_steps: tuple[int, ...] = (),
    progress: Progress = no_progress,
) -> HeldoutScores:
    """Mean scores over the held-out shards ``paths`` (module docstring), after 0 and each
    of ``refine_steps`` refinement steps."""
    steps = tuple(sorted({0, *refine_steps}))
    if steps[0] < 0 or steps[-1] > MAX_REFINE_STEPS:
        raise ValueError(f"refine_steps must lie in 0..{MAX_REFINE_STEPS}, got {refine_steps}.")
    subjects: list[SubjectScores] = []
    for i, path in enumerate(paths):
        progress("scoring held-out subjects", i / len(paths))

        def within(stage: str, fraction: float, i: int = i) -> None:
            progress("scoring held-out subjects", (i + fraction) / len(paths))

        subjects.append(score_subject(net, body, path, config, seed, steps, within))
    progress("scoring held-out subjects", 1.0)
    return HeldoutScores(
        subjects=len(paths),
        steps=steps,
        today=tuple(_means([s.today[j] for s in subjects], n) for j, n in enumerate(steps)),
        network=tuple(_means([s.network[j] for s in subjects], n) for j, n in enumerate(steps)),
    )


def held_out_psnr(scores: StepScores, kinds: tuple[str, ...] = HELD_OUT) -> float:
    """The mean over ``kinds`` of their mean PSNRs (kinds without a score left out)."""
    values = [scores.psnr[k] for k in kinds if math.isfinite(scores.psnr[k])]
    return statistics.fmean(values) if values else math.nan


def steps_to_match(
    scores: HeldoutScores, kinds: tuple[str, ...] = HELD_OUT, reference: int = STANDARD_STEPS
) -> Match | None:
    """The fewest scored steps after which the network's start is within MATCH_TOLERANCE dB
    of today's after ``reference`` steps (or above) on the mean PSNR of ``kinds``; None if
    ``reference`` steps (above 0) were not scored."""
    if reference <= 0 or reference not in scores.steps:
        return None
    goal = held_out_psnr(scores.today[scores.steps.index(reference)], kinds) - MATCH_TOLERANCE
    for entry in scores.network:
        if held_out_psnr(entry, kinds) >= goal:
            return Match(reference, entry.steps)
    return Match(reference, None)
