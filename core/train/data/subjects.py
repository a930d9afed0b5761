"""Synthetic studio subjects: Anny identities dressed by the project.

A :class:`SubjectSpec` is drawn from one seed: body shape (every Anny phenotype uniform over
its range), skin tone (light to dark), a top (plain, stripes or checks, short or long
sleeves), a bottom (trousers, shorts or a skirt), shoes, hair (bald, short or long, as
Gaussians lifted off the scalp by an offset along the normal) and a pose (the A-pose with
arms lowered or raised towards a T, fingers curled, jaw and smile, each by a random share).
:func:`dress_subject` paints a starter avatar (core.deform.template) by body part and
position on the canonical body, keeping its baked studio light.

Letters: N Gaussians.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import torch
from torch import Tensor

from ...avatar.avatar import Avatar
from ...body.model import BodyModel
from ...body.poses import Pose, preset_pose, rest_pose
from ...deform.template import SKIN
from ...render.sh import SH_C0

SKIN_TONES = (
    (1.00, 0.86, 0.76),
    (0.92, 0.72, 0.58),
    (0.78, 0.56, 0.42),
    (0.55, 0.37, 0.26),
    (0.36, 0.24, 0.17),
)
"""Light to dark skin colours (sRGB); a subject's skin is a random mix of two neighbours."""
HAIR_COLOURS = (
    (0.08, 0.06, 0.05),
    (0.25, 0.15, 0.08),
    (0.55, 0.38, 0.20),
    (0.80, 0.68, 0.45),
    (0.55, 0.55, 0.55),
)
TOPS = ("plain", "stripes", "checks")
BOTTOMS = ("trousers", "shorts", "skirt")
HAIRS = ("bald", "short", "long")


@dataclass(frozen=True)
class SubjectSpec:
    """Everything random about one subject (module docstring); colours sRGB in [0, 1]."""

    seed: int
    shape: dict[str, float]
    skin: tuple[float, float, float]
    top: str
    top_colour: tuple[float, float, float]
    pattern_colour: tuple[float, float, float]
    pattern_period: float
    long_sleeves: bool
    bottom: str
    bottom_colour: tuple[float, float, float]
    shoes: tuple[float, float, float]
    hair: str
    hair_colour: tuple[float, float, float]
    arms: float
    fingers: float
    jaw: float
    smile: float


def _colour(rng: random.Random) -> tuple[float, float, float]:
    """A clothing colour: random hue, saturation and value."""
    import colorsys

    rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.95))
    return tuple(round(c, 4) for c in rgb)


def draw_subject(body: BodyModel, seed: int) -> SubjectSpec:
    """The subject of ``seed`` (the same seed, the same subject)."""
    rng = random.Random(seed)
    shape = {p.name: round(rng.uniform(0.0, 1.0), 4) for p in body.shape_parameters}
    i = rng.randrange(len(SKIN_TONES) - 1)
    t = rng.random()
    skin = tuple(
        round((1 - t) * a + t * b, 4) for a, b in zip(SKIN_TONES[i], SKIN_TONES[i + 1], strict=True)
    )
    return SubjectSpec(
        seed=seed,
        shape=shape,
        skin=skin,
        top=rng.choice(TOPS),
        top_colour=_colour(rng),
        pattern_colour=_colour(rng),
        pattern_period=round(rng.uniform(0.04, 0.12), 4),
        long_sleeves=rng.random() < 0.5,
        bottom=rng.choice(BOTTOMS),
        bottom_colour=_colour(rng),
        shoes=_colour(rng),
        hair=rng.choice(HAIRS),
        hair_colour=rng.choice(HAIR_COLOURS),
        arms=round(rng.uniform(-0.3, 0.5), 4),
        fingers=round(rng.uniform(0.0, 1.0), 4),
        jaw=round(rng.uniform(0.0, 0.5), 4),
        smile=round(rng.uniform(0.0, 0.6), 4),
    )


def subject_shape(body: BodyModel, spec: SubjectSpec) -> Tensor:
    """(S,) the subject's shape in ``body``'s parameter order."""
    return torch.tensor([spec.shape.get(p.name, p.default) for p in body.shape_parameters])


def subject_pose(body: BodyModel, spec: SubjectSpec) -> Pose:
    """The subject's pose: arms towards a T (or lowered), fingers, jaw and smile."""
    pose = rest_pose(body)
    for name, weight in (
        ("t-pose", spec.arms),
        ("finger-curl", spec.fingers),
        ("jaw-open", spec.jaw),
        ("smile", spec.smile),
    ):
        pose = pose + preset_pose(body, name, weight)
    return pose


def _masks(
    avatar: Avatar, points: Tensor, spec: SubjectSpec
) -> list[tuple[Tensor, tuple[float, float, float]]]:
    """(mask (N,), colour) in painting order; points: (N, 3) canonical centres (Z up, -Y front)."""
    names, part = avatar.part_names, avatar.binding.part

    def parts(*wanted: str) -> Tensor:
        return torch.isin(part, torch.tensor([names.index(p) for p in wanted if p in names]))

    x, y, z = points.unbind(-1)
    head = parts("head")
    top_z, bottom_z = float(z[head].max()), float(z[head].min())
    front_y, back_y = float(y[head].min()), float(y[head].max())
    height = top_z - bottom_z
    torso_z = z[parts("torso")]
    waist = float(torso_z.min()) + 0.16
    knee = float(z[parts("lower_leg.L")].max())
    ankle = float(z[parts("foot.L")].max()) + 0.02
    sleeves = ("upper_arm.L", "upper_arm.R") + (
        ("lower_arm.L", "lower_arm.R") if spec.long_sleeves else ()
    )
    top = (parts("torso", "neck", *sleeves) & (z > waist)) & ~(
        parts("neck") & (z > float(z[parts("neck")].min()) + 0.04)
    )
    legs = parts("torso", "upper_leg.L", "upper_leg.R", "lower_leg.L", "lower_leg.R") & (z <= waist)
    if spec.bottom == "shorts":
        legs &= z > knee + 0.08
    elif spec.bottom == "skirt":
        legs &= z > knee - 0.05
    else:
        legs &= z > ankle
    out = []
    out.append((top, spec.top_colour))
    period = spec.pattern_period
    if spec.top == "stripes":
        out.append((top & (torch.remainder(z, period) < 0.35 * period), spec.pattern_colour))
    elif spec.top == "checks":
        cells = torch.floor(z / period) + torch.floor(x / period) + torch.floor(y / period)
        out.append((top & (torch.remainder(cells, 2) == 0), spec.pattern_colour))
    out.append((legs, spec.bottom_colour))
    out.append((parts("foot.L", "foot.R"), spec.shoes))
    if spec.hair != "bald":
        hair = head & (
            (z > bottom_z + 0.80 * height)
            | ((y > front_y + 0.55 * (back_y - front_y)) & (z > bottom_z + 0.25 * height))
        )
        hair |= head & (y > front_y + 0.35 * (back_y - front_y)) & (z > bottom_z + 0.62 * height)
        if spec.hair == "long":
            shoulders = float(z[parts("neck")].min())
            hair |= parts("neck", "torso") & (y > 0.0) & (z > shoulders - 0.12) & (x.abs() < 0.12)
        out.append((hair, spec.hair_colour))
    return out


def dress_subject(avatar: Avatar, spec: SubjectSpec) -> Avatar:
    """``avatar`` (a starter avatar on Anny at the subject's shape) painted as ``spec``:
    skin tone, clothes, shoes and hair (hair lifted off the scalp along the normal)."""
    from ...posing import avatar_scene

    points = avatar_scene(avatar).means.detach().cpu()
    colour = avatar.binding.sh[:, 0].float() * SH_C0 + 0.5
    shade = colour.mean(-1, keepdim=True) / (sum(SKIN) / 3)  # the starter's baked light
    skin = avatar.binding.sh[:, 0].float() * SH_C0 + 0.5
    is_skin = (skin - torch.tensor(SKIN) * shade).abs().max(-1).values < 0.02
    colour[is_skin] = (torch.tensor(spec.skin) * shade[is_skin]).clamp(0, 1)
    offset = avatar.binding.offset.clone()
    for mask, value in _masks(avatar, points, spec):
        colour[mask] = (torch.tensor(value) * shade[mask]).clamp(0, 1)
    if spec.hair != "bald":
        hair = _masks(avatar, points, spec)[-1][0]
        lift = 0.8 if spec.hair == "short" else 1.6  # triangle sizes (about 1 cm each)
        offset[hair, 2] = lift * (
            0.6
            + 0.4 * torch.rand(int(hair.sum()), generator=torch.Generator().manual_seed(spec.seed))
        )
    sh = avatar.binding.sh.clone()
    sh[:, 0] = (colour - 0.5) / SH_C0
    binding = dataclasses.replace(avatar.binding, sh=sh, offset=offset)
    metadata = dict(avatar.metadata, name=f"subject {spec.seed}", made_by="lca data synth")
    return dataclasses.replace(avatar, binding=binding, metadata=metadata)
