"""Photos -> avatar: the whole "create" job, stage by stage.

:func:`create_avatar` runs STAGES in order over one :class:`CreateState`, each a small
function that reads what earlier stages left in the state and adds its own part; each is
timed into :class:`StageSeconds` under its name. A new stage (a network's feedforward
prediction) slots into STAGES where it belongs, before "appearance".

Stages (each is timed and reports progress, under the names in quotes):
1. "load": read the photos (:func:`core.recon.load_photo`).
2. "perceive": find the one person in each (:func:`core.recon.perceive`); a face close-up
   (a face and no body) is taken as a face-only view beside at least one full-body photo.
3. body: build the body model on the device ("body model") and fit one shape, and a pose
   and camera per photo (:func:`core.recon.body_fit.fit_body`, "fitting body"). With
   several photos, photos that disagree about the colours of the body parts they both see
   are refused as showing different people ("checking photos", core/recon/consistency.py).
4. "network" (methods "feedforward" and "auto"): the LCA network's prediction of the
   Gaussians on the fitted body (:func:`core.recon.feedforward.feedforward_avatar`); without a
   usable checkpoint a note says so, and the "fit" path runs.
5. "appearance": Gaussians on the fitted body, coloured and refined from the photos
   (:func:`core.recon.appearance.fit_appearance`); after the network: nothing more
   ("feedforward") or a third of the preset's refinement steps ("auto").
6. "score": PSNR of the avatar against each photo, inside the person mask, at the fitting
   resolution (the "self view": how well the avatar explains the photos it was made from).

The body is posed as in each photo once, after fitting (:func:`core.recon.views.posed_vertices`),
and each photo cropped once per size: for the check of step 3 (core/recon/consistency.py SIZE)
and for steps 4 and 5 (the preset's size, :func:`core.recon.views.crop_views`).

Nothing is written here; the caller saves the avatar. Ctrl-C (KeyboardInterrupt) propagates
from whichever stage is running.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..avatar.avatar import Avatar
from ..body.model import BodyModel
from ..create_settings import DEVICES, CreateSettings
from ..errors import LcaError, quoted
from ..progress import Progress, no_progress
from .appearance import fit_appearance
from .errors import BackViewOnlyError, CloseUpOnlyError, DifferentPeopleError
from .fit_types import BodyFit
from .images import Photo, load_photo
from .perception import Perception, perceive, seen_from_behind
from .views import ViewTarget, crop_views, posed_vertices, view_psnr


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
    "draft": Quality(count=22_000, appearance_steps=100, body_steps=150, size=384),
    "standard": Quality(count=55_000, appearance_steps=250, body_steps=300, size=512),
    "high": Quality(count=130_000, appearance_steps=800, body_steps=600, size=768),
}
"""Presets, by the names of ``core.create_settings.QUALITIES``. One photo on a 2-core CPU (one
thread, docs/recon.md): draft about 50 s, standard about 3.5 minutes, high about 22 minutes,
nearly all of it appearance fitting."""


DEFAULT_SETTINGS = CreateSettings()
"""`lca create` and the Blender job create at standard quality unless told otherwise."""


@dataclass(frozen=True)
class StageSeconds:
    """Wall-clock seconds of each stage."""

    load: float
    perceive: float
    body: float
    network: float
    appearance: float
    score: float

    @property
    def total(self) -> float:
        return self.load + self.perceive + self.body + self.network + self.appearance + self.score


@dataclass(frozen=True)
class CreateResult:
    """avatar: the avatar in canonical pose; fit: the body fit it was made on; seconds: time
    per stage; psnr: (one per photo) dB of the avatar against the photo inside the person
    mask; notes: sentences for the user from stages that go on in a lesser way instead of
    failing (today: photos given more than once, used once; photos that seem to show
    different people are refused, not noted); both commands and the Blender job show any
    there are; photos: the photos used, in order, one per psnr and per view of ``fit`` (the
    paths given, less repeats of the same file content)."""

    avatar: Avatar
    fit: BodyFit
    seconds: StageSeconds
    psnr: tuple[float, ...]
    notes: tuple[str, ...]
    photos: tuple[Path, ...]


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


@dataclass
class CreateState:
    """What the stages of one creation hand on to each other (module docstring): the inputs,
    then each stage's part, filled in as the stages run. Made and changed only inside
    :func:`create_avatar`.

    paths: the photos; settings, preset, device: how to make the avatar; progress: the
    caller's callback; photos: one Photo per path ("load"); perceptions: one Perception per
    photo ("perceive"); body: the body model on the device, fit: its fit to the photos,
    vertices: (B, V, 3) the fitted body posed in each photo, and backend: the renderer's
    backend for the device ("body"); views: each photo cropped to the person at the preset's
    size, and avatar: the Gaussians ("appearance"); psnr: dB per photo ("score"); notes:
    sentences for the user.
    """

    paths: list[Path]
    settings: CreateSettings
    preset: Quality
    device: torch.device
    progress: Progress
    photos: list[Photo] = field(default_factory=list)
    perceptions: list[Perception] = field(default_factory=list)
    body: BodyModel | None = None
    fit: BodyFit | None = None
    vertices: Tensor | None = None
    backend: str = "torch"
    views: list[ViewTarget] = field(default_factory=list)
    avatar: Avatar | None = None
    psnr: tuple[float, ...] = ()
    notes: list[str] = field(default_factory=list)


def _load(state: CreateState) -> None:
    """Read the photos; a photo whose file content repeats one given before is dropped and
    named in a note (state.paths keeps the photos used)."""
    paths, progress = state.paths, state.progress
    kept: dict[bytes, Path] = {}
    repeats: dict[bytes, list[Path]] = {}
    for i, path in enumerate(paths):
        progress("load", i / len(paths))
        photo = load_photo(path)
        digest = _content_digest(path)
        if digest in kept:
            repeats.setdefault(digest, []).append(path)
            continue
        kept[digest] = path
        state.photos.append(photo)
    progress("load", 1.0)
    state.paths = list(kept.values())
    for digest, dropped in repeats.items():
        state.notes.append(repeat_note(kept[digest], dropped))


def _content_digest(path: Path) -> bytes:
    """A hash of the file's bytes (the photo was just read, so the file is there)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def repeat_note(first: Path, repeats: list[Path]) -> str:
    """The note that ``repeats`` hold the same file content as ``first`` and were dropped."""
    shown = ", ".join(quoted(p.name, 60) for p in repeats[:3])
    more = f" and {len(repeats) - 3} more" if len(repeats) > 3 else ""
    copies = "is a copy" if len(repeats) == 1 else "are copies"
    return (
        f"{shown}{more} {copies} of {quoted(first.name, 60)} (the same file content), so "
        f"{'it was' if len(repeats) == 1 else 'they were'} dropped: each photo counts once."
    )


def _perceive(state: CreateState) -> None:
    """Find the one person in each photo; refuse photos that show them only from behind."""
    photos, paths, progress = state.photos, state.paths, state.progress
    settings = state.settings
    for i, photo in enumerate(photos):
        progress("perceive", i / len(photos))
        state.perceptions.append(
            perceive(
                photo,
                person=settings.person,
                allow_partial=settings.allow_partial,
                allow_close_up=True,
            )
        )
    progress("perceive", 1.0)
    if all(p.close_up for p in state.perceptions):
        names = ", ".join(f"'{p.name}'" for p in paths)
        raise CloseUpOnlyError(
            f"{names} show{'s' if len(paths) == 1 else ''} only a face; face close-ups are "
            "used beside a photo of the whole person, so add a full-body photo of them."
        )
    if all(seen_from_behind(p) for p in state.perceptions):
        names = ", ".join(f"'{p.name}'" for p in paths)
        raise BackViewOnlyError(
            f"{names} show{'s' if len(paths) == 1 else ''} the person only from behind, so "
            "there is no face to make; add a photo of them from the front."
        )


def _body(state: CreateState) -> None:
    """Build the body model and fit it; refuse photos of different people."""
    progress, perceptions = state.progress, state.perceptions
    progress("body model", 0.0)
    body = _body_model(state.device)
    progress("body model", 1.0)
    fit = _fit_body(body, perceptions, state.preset.body_steps, progress)
    backend = "torch" if state.device.type == "cpu" else "auto"
    vertices = posed_vertices(body, fit)
    if len(perceptions) > 1 and not state.settings.allow_mixed:
        _check_same_person(body, fit, vertices, state.paths, backend, progress)
    state.body, state.fit, state.vertices, state.backend = body, fit, vertices, backend


def _network(state: CreateState) -> None:
    """The network's prediction on the fitted body (methods "feedforward" and "auto"); without
    a usable checkpoint a note says so and the "fit" path runs instead."""
    if state.settings.method == "fit":
        return
    from .feedforward import feedforward_avatar, load_network

    state.progress("network", 0.0)
    net, note = load_network(state.settings.checkpoint, state.body)
    if net is None:
        state.notes.append(note)
        state.progress("network", 1.0)
        return
    from ..deform.template import make_starter_avatar

    preset = state.preset
    state.views = crop_views(state.fit, state.vertices, preset.size)
    template = make_starter_avatar(
        state.body,
        count=preset.count,
        seed=state.settings.seed,
        name="avatar",
        shape=state.fit.shape,
    )
    state.avatar = feedforward_avatar(net, template, state.views)
    state.progress("network", 1.0)


def _appearance(state: CreateState) -> None:
    """The Gaussians on the fitted body, coloured and refined from the photos; after the
    network, none ("feedforward") or a third of the preset's refinement steps ("auto")."""
    preset = state.preset
    if state.avatar is not None:
        if state.settings.method == "auto":
            state.avatar = refine_prediction(
                state.avatar, state.views, preset.appearance_steps // 3, state
            )
        return
    state.views = crop_views(state.fit, state.vertices, preset.size)
    state.avatar = fit_appearance(
        state.body,
        state.fit,
        state.views,
        count=preset.count,
        steps=preset.appearance_steps,
        seed=state.settings.seed,
        backend=state.backend,
        progress=state.progress,
    )


def refine_prediction(
    avatar: Avatar, views: list[ViewTarget], steps: int, state: CreateState
) -> Avatar:
    """``avatar`` (the network's) refined by ``steps`` steps of core.recon.appearance.refine."""
    from .appearance import refine

    state.progress("appearance", 0.0)
    binding = refine(
        avatar,
        views,
        steps,
        seed=state.settings.seed,
        backend=state.backend,
        progress=state.progress,
    )
    metadata = dict(avatar.metadata, appearance_steps=str(steps))
    state.progress("appearance", 1.0)
    return dataclasses.replace(avatar, binding=binding, metadata=metadata)


def _score(state: CreateState) -> None:
    """The self view: PSNR of the avatar against each photo, inside the person mask."""
    progress, avatar, backend = state.progress, state.avatar, state.backend
    progress("score", 0.0)
    state.psnr = tuple(view_psnr(avatar, view, backend) for view in state.views)
    progress("score", 1.0)


@dataclass(frozen=True)
class Stage:
    """name: the stage's field of StageSeconds; run: does the stage's work on the state."""

    name: str
    run: Callable[[CreateState], None]


STAGES = (
    Stage("load", _load),
    Stage("perceive", _perceive),
    Stage("body", _body),
    Stage("network", _network),
    Stage("appearance", _appearance),
    Stage("score", _score),
)
"""The stages of a creation, in the order they run (module docstring)."""


def create_avatar(
    photo_paths: list[Path],
    settings: CreateSettings = DEFAULT_SETTINGS,
    progress: Progress = no_progress,
) -> CreateResult:
    """An avatar from photos of one person (see the module docstring for the stages).

    photo_paths: one or more photos; settings: quality, device, seed, person, allow_partial,
    allow_mixed (``core.create_settings.CreateSettings``; its threads are the caller's to
    set); progress: called with each stage's name and fraction done.

    Raises LcaError (one sentence) for bad photos, photos without one usable person, or a
    device that is not there.
    """
    if not photo_paths:
        raise LcaError("No photos were given; give one or more photos of the person.")
    state = CreateState(
        paths=[Path(p) for p in photo_paths],
        settings=settings,
        preset=QUALITIES[settings.quality],
        device=resolve_device(settings.device),
        progress=progress,
    )
    times = {}
    clock = time.perf_counter()
    for stage in STAGES:
        stage.run(state)
        now = time.perf_counter()
        times[stage.name] = now - clock
        clock = now
    return _result(state, StageSeconds(**times))


def _result(state: CreateState, seconds: StageSeconds) -> CreateResult:
    """The CreateResult of a finished state: the avatar named after the first photo, its
    quality, photos and self-view scores in its metadata."""
    avatar, paths, psnr = state.avatar, state.paths, state.psnr
    metadata = dict(avatar.metadata)
    metadata.update(
        name=paths[0].stem,
        quality=state.settings.quality,
        photos=", ".join(p.name for p in paths),
        self_view_psnr=", ".join(f"{v:.2f}" for v in psnr),
    )
    return CreateResult(
        avatar=dataclasses.replace(avatar, metadata=metadata),
        fit=state.fit,
        seconds=seconds,
        psnr=psnr,
        notes=tuple(state.notes),
        photos=tuple(paths),
    )
