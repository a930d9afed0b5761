"""Photos -> avatar: the whole "create" job, stage by stage.

Stages (each is timed and reports progress, under the names in quotes):
1. "load": read the photos (:func:`core.recon.load_photo`).
2. "perceive": find the one person in each (:func:`core.recon.perceive`).
3. body: build the body model on the device ("body model") and fit one shape, and a pose
   and camera per photo (:func:`core.recon.body_fit.fit_body`, "fitting body"). With
   several photos, photos that disagree about the colours of the body parts they both see
   are refused as showing different people ("checking photos", core/recon/consistency.py).
4. "appearance": Gaussians on the fitted body, coloured and refined from the photos
   (:func:`core.recon.appearance.fit_appearance`).
The body is posed as in each photo once, after fitting (:func:`core.recon.views.posed_vertices`),
and each photo cropped once per size: for the check of step 3 (core/recon/consistency.py SIZE)
and for steps 4 and 5 (the preset's size, :func:`core.recon.views.crop_views`).
5. "score": PSNR of the avatar against each photo, inside the person mask, at the fitting
   resolution (the "self view": how well the avatar explains the photos it was made from).

Nothing is written here; the caller saves the avatar. Ctrl-C (KeyboardInterrupt) propagates
from whichever stage is running.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..avatar.avatar import Avatar
from ..body.model import BodyModel
from ..errors import LcaError
from .appearance import fit_appearance
from .errors import BackViewOnlyError, DifferentPeopleError
from .fit_types import BodyFit, Progress, no_progress
from .images import load_photo
from .perception import Perception, perceive, seen_from_behind
from .views import crop_views, posed_vertices, view_psnr


@dataclass(frozen=True)
class Quality:
    """count: Gaussians; appearance_steps: Adam steps of appearance fitting; body_steps:
    steps of body fitting; size: longer side in pixels of the person's crop that appearance
    fitting renders."""

    count: int
    appearance_steps: int
    body_steps: int
    size: int


QUALITIES = {
    "draft": Quality(count=20_000, appearance_steps=100, body_steps=150, size=384),
    "standard": Quality(count=50_000, appearance_steps=250, body_steps=300, size=512),
    "high": Quality(count=120_000, appearance_steps=800, body_steps=600, size=768),
}
"""Presets. One photo on a 2-core CPU (one thread, docs/recon.md): draft about 50 s,
standard about 3.5 minutes, high about 22 minutes, nearly all of it appearance fitting."""

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class StageSeconds:
    """Wall-clock seconds of each stage."""

    load: float
    perceive: float
    body: float
    appearance: float
    score: float

    @property
    def total(self) -> float:
        return self.load + self.perceive + self.body + self.appearance + self.score


@dataclass(frozen=True)
class CreateResult:
    """avatar: the avatar in canonical pose; fit: the body fit it was made on; seconds: time
    per stage; psnr: (one per photo) dB of the avatar against the photo inside the person
    mask; notes: sentences for the user (e.g. photos that seem to show different people)."""

    avatar: Avatar
    fit: BodyFit
    seconds: StageSeconds
    psnr: tuple[float, ...]
    notes: tuple[str, ...]


def resolve_device(device: str) -> torch.device:
    """The torch device for ``device``: "auto" is CUDA where available, else the CPU;
    "cuda" without CUDA is refused."""
    if device not in DEVICES:
        raise LcaError(f"Unknown device '{device}'; choose auto, cpu or cuda.")
    if device == "cuda" and not torch.cuda.is_available():
        raise LcaError(
            "The device 'cuda' was asked for but no CUDA GPU is available; use --device cpu "
            "or --device auto."
        )
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _body_model(device: torch.device) -> BodyModel:
    from ..body.anny_body import AnnyBody

    return AnnyBody(device=device)


def _fit_body(
    body: BodyModel, perceptions: list[Perception], steps: int, progress: Progress
) -> BodyFit:
    """Body fitting (step 3), imported when it runs."""
    from .body_fit import fit_body

    return fit_body(body, perceptions, steps=steps, progress=progress)


def _check_same_person(
    body: BodyModel,
    fit: BodyFit,
    vertices: Tensor,
    paths: list[Path],
    backend: str,
    progress: Progress,
) -> None:
    """Refuse photos that disagree about the person's colours (core/recon/consistency.py);
    vertices: (B, V, 3) the fitted body in each photo's pose."""
    from .consistency import SIZE, colour_disagreement, disagrees

    progress("checking photos", 0.0)
    result = colour_disagreement(body, fit, crop_views(fit, vertices, SIZE), backend)
    progress("checking photos", 1.0)
    if disagrees(result):
        a, b = result.pair
        raise DifferentPeopleError(
            f"The photos '{paths[a].name}' and '{paths[b].name}' seem to show different "
            f"people (their colours differ by {result.score:.2f} where both see the same "
            "body); use photos of one person in the same clothes, or allow different people "
            "(--allow-mixed, or Allow Different People in Blender) to use them anyway."
        )


def create_avatar(
    photo_paths: list[Path],
    *,
    quality: str = "standard",
    device: str = "auto",
    seed: int = 0,
    person: int | None = None,
    allow_partial: bool = False,
    allow_mixed: bool = False,
    progress: Progress = no_progress,
) -> CreateResult:
    """An avatar from photos of one person (see the module docstring for the stages).

    photo_paths: one or more photos; quality: "draft", "standard" or "high" (QUALITIES);
    device: "auto", "cpu" or "cuda"; seed: seeds the Gaussians and the fitting; person: which
    person to take in photos showing several (0 = leftmost); allow_partial: accept a person
    whose head or feet are cut off; allow_mixed: skip the check that several photos show one
    person.

    Raises LcaError (one sentence) for bad photos, photos without one usable person, an
    unknown quality or device.
    """
    if not photo_paths:
        raise LcaError("No photos were given; give one or more photos of the person.")
    if quality not in QUALITIES:
        raise LcaError(f"Unknown quality '{quality}'; choose {', '.join(QUALITIES)}.")
    preset = QUALITIES[quality]
    target = resolve_device(device)
    paths = [Path(p) for p in photo_paths]
    clock = time.perf_counter()
    times = {}

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[stage] = now - clock
        clock = now

    photos = []
    for i, path in enumerate(paths):
        progress("load", i / len(paths))
        photos.append(load_photo(path))
    progress("load", 1.0)
    lap("load")

    perceptions = []
    for i, photo in enumerate(photos):
        progress("perceive", i / len(photos))
        perceptions.append(perceive(photo, person=person, allow_partial=allow_partial))
    progress("perceive", 1.0)
    if all(seen_from_behind(p) for p in perceptions):
        names = ", ".join(f"'{p.name}'" for p in paths)
        raise BackViewOnlyError(
            f"{names} show{'s' if len(paths) == 1 else ''} the person only from behind, so "
            "there is no face to make; add a photo of them from the front."
        )
    lap("perceive")

    progress("body model", 0.0)
    body = _body_model(target)
    progress("body model", 1.0)
    notes = []
    fit = _fit_body(body, perceptions, preset.body_steps, progress)
    backend = "torch" if target.type == "cpu" else "auto"
    vertices = posed_vertices(body, fit)
    if len(perceptions) > 1 and not allow_mixed:
        _check_same_person(body, fit, vertices, paths, backend, progress)
    lap("body")

    views = crop_views(fit, vertices, preset.size)
    avatar = fit_appearance(
        body,
        fit,
        views,
        count=preset.count,
        steps=preset.appearance_steps,
        seed=seed,
        backend=backend,
        progress=progress,
    )
    lap("appearance")

    progress("score", 0.0)
    psnr = tuple(view_psnr(avatar, view, backend) for view in views)
    progress("score", 1.0)
    lap("score")

    metadata = dict(avatar.metadata)
    metadata.update(
        name=paths[0].stem,
        quality=quality,
        photos=", ".join(p.name for p in paths),
        self_view_psnr=", ".join(f"{v:.2f}" for v in psnr),
    )
    return CreateResult(
        avatar=dataclasses.replace(avatar, metadata=metadata),
        fit=fit,
        seconds=StageSeconds(**times),
        psnr=psnr,
        notes=tuple(notes),
    )
