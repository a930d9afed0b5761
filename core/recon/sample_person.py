"""A sample person the project makes itself: the embedded default input of `make demo`.

No photo is shipped with the project (photos of people carry their rights and identities),
so the demo and `lca eval`'s synthetic subject photograph a person made here: a starter
avatar (core.deform.template: skin, eyes, mouth, studio light) at a non-average body shape,
dressed by position on the canonical body (dark hair on the scalp, a teal shirt with light
stripes, grey-blue trousers, dark shoes), standing in the canonical A-pose, rendered by
``core.render`` over a studio backdrop (a wall fading into the floor). MediaPipe finds the
person, the face and the hands in it (tests/core/recon/test_sample_person.py), so it goes
through the whole `lca create` pipeline like a real photo.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..avatar.avatar import Avatar
from ..body import parts as body_parts
from ..body.anny_body import anny_uv_regions
from ..body.model import BodyModel
from ..body.poses import Pose, rest_pose
from ..deform.template import make_starter_avatar
from ..fileio import atomic_path
from ..render import render
from ..render.camera import orbit_camera
from ..render.sh import SH_C0
from ..render.types import Camera


@dataclasses.dataclass(frozen=True)
class Outfit:
    """sRGB colours that :func:`dress` paints on a starter avatar by body part; hair None
    leaves the head's skin (and the starter's eyes and mouth) as it is."""

    hair: tuple[float, float, float] | None
    shirt: tuple[float, float, float]
    stripe: tuple[float, float, float]
    trousers: tuple[float, float, float]
    shoes: tuple[float, float, float]


HAIR = (0.16, 0.10, 0.07)
SHIRT = (0.10, 0.45, 0.47)
STRIPE = (0.85, 0.86, 0.80)
TROUSERS = (0.25, 0.29, 0.38)
SHOES = (0.10, 0.09, 0.08)
OUTFIT = Outfit(hair=HAIR, shirt=SHIRT, stripe=STRIPE, trousers=TROUSERS, shoes=SHOES)
"""The sample person's outfit: dark hair, a teal shirt with light stripes, grey-blue
trousers, dark shoes."""
WALL = (0.78, 0.76, 0.72)
FLOOR = (0.55, 0.52, 0.48)

SHAPE = {"gender": 0.35, "age": 0.5, "muscle": 0.6, "weight": 0.55, "height": 0.6}
"""Non-default Anny phenotypes of the sample person (others keep their default)."""

VIEWS = {"front": 0.0, "three-quarter": 35.0, "left": 90.0, "back": 180.0, "right": -90.0}
"""Named camera azimuths in degrees (0: the person faces the camera)."""

_SHIRT_PARTS = ("torso", "upper_arm.L", "upper_arm.R", "neck")
_TROUSER_PARTS = ("torso", "upper_leg.L", "lower_leg.L", "upper_leg.R", "lower_leg.R")
_SHOE_PARTS = ("foot.L", "foot.R")


def sample_shape(body: BodyModel) -> torch.Tensor:
    """(S,) the sample person's body shape."""
    values = [SHAPE.get(p.name, p.default) for p in body.shape_parameters]
    return torch.tensor(values, dtype=torch.float32, device=body.device)


def _colours(avatar: Avatar, points: torch.Tensor, outfit: Outfit) -> torch.Tensor:
    """(N, 3) colours of the dressed person; points: (N, 3) canonical Gaussian centres
    (Anny: z up, facing -y)."""
    colour = avatar.binding.sh[:, 0].float() * SH_C0 + 0.5
    names = avatar.part_names
    part = avatar.binding.part

    def in_parts(wanted: tuple[str, ...]) -> torch.Tensor:
        return body_parts.in_parts(part, names, wanted)

    head = in_parts(("head",))
    z, y = points[:, 2], points[:, 1]
    head_z = points[head, 2]
    top, bottom = float(head_z.max()), float(head_z.min())
    head_y = points[head, 1]
    front, back = float(head_y.min()), float(head_y.max())
    height = top - bottom
    # Scalp: above the forehead, and the back of the head down to the nape.
    brow = bottom + 0.80 * height
    nape = bottom + 0.25 * height
    behind = front + 0.55 * (back - front)
    hair = head & ((z > brow) | ((y > behind) & (z > nape)))
    hair |= head & (y > front + 0.35 * (back - front)) & (z > bottom + 0.62 * height)

    waist = float(points[in_parts(("torso",)), 2].min()) + 0.16
    shirt = in_parts(_SHIRT_PARTS) & (z > waist)
    shirt &= ~(in_parts(("neck",)) & (z > float(points[in_parts(("neck",)), 2].min()) + 0.04))
    trousers = in_parts(_TROUSER_PARTS) & (z <= waist)
    shoes = in_parts(_SHOE_PARTS)
    stripes = shirt & (torch.remainder(z, 0.07) < 0.018)

    shade = colour.mean(-1, keepdim=True) / 0.72  # keep the starter's baked light
    for mask, value in (
        (hair, outfit.hair),
        (shirt, outfit.shirt),
        (stripes, outfit.stripe),
        (trousers, outfit.trousers),
        (shoes, outfit.shoes),
    ):
        if value is None:
            continue
        colour[mask] = (torch.tensor(value) * shade[mask]).clamp(0, 1)
    return colour


def dress(avatar: Avatar, outfit: Outfit = OUTFIT) -> Avatar:
    """``avatar`` (a starter avatar on Anny) with its colours painted by body part and height:
    hair on the scalp, a striped shirt down to the waist, trousers below it, shoes; the
    starter's baked light is kept."""
    from ..posing import avatar_scene

    points = avatar_scene(avatar).means.detach().cpu()
    colour = _colours(avatar, points, outfit)
    sh = avatar.binding.sh.clone()
    sh[:, 0] = (colour - 0.5) / SH_C0
    return dataclasses.replace(avatar, binding=dataclasses.replace(avatar.binding, sh=sh))


def sample_avatar(body: BodyModel, count: int = 60_000, seed: int = 7) -> Avatar:
    """The sample person as an avatar in the canonical pose."""
    avatar = make_starter_avatar(
        body, count=count, seed=seed, regions=anny_uv_regions(body.uvs), shape=sample_shape(body)
    )
    return dress(avatar)


def sample_camera(azimuth: float, width: int = 720, height: int = 1080) -> Camera:
    """A camera 3.6 m from the person at ``azimuth`` degrees and chest height, 36 degrees
    vertical field of view."""
    return orbit_camera((0.0, 0.0, -0.05), 3.6, azimuth, 3.0, width, height, fov_y_deg=36.0)


FACE_PHOTO_SIZE = (720, 960)
"""Width and height of the sample person's face close-up photo."""


def face_camera(avatar: Avatar, width: int = 720, height: int = 960) -> Camera:
    """A portrait camera in front of the avatar's head (canonical pose): the head fills about
    60% of the height, seen from slightly above, 30 degrees vertical field of view."""
    from ..posing import avatar_scene
    from ..render.camera import frame_points

    head = avatar.binding.part == avatar.part_names.index("head")
    means = avatar_scene(avatar).means[head]
    return frame_points(means, 0.0, 3.0, width, height, fov_y_deg=30.0, margin=1.6)


def backdrop(width: int, height: int) -> np.ndarray:
    """(H, W, 3) float studio backdrop: the wall fading into the floor below 80% height."""
    t = np.clip((np.arange(height, dtype=np.float32) / height - 0.78) / 0.06, 0.0, 1.0)
    rows = (1 - t)[:, None] * np.array(WALL, np.float32) + t[:, None] * np.array(FLOOR)
    return np.broadcast_to(rows[:, None, :], (height, width, 3)).astype(np.float32)


def photograph(avatar: Avatar, body: BodyModel, pose: Pose, camera: Camera) -> np.ndarray:
    """(H, W, 3) uint8 sRGB photo of ``avatar`` in ``pose`` seen by ``camera``."""
    from ..posing import avatar_scene, posed_vertices

    vertices = posed_vertices(avatar, body, [pose])[0]
    with torch.no_grad():
        result = render(avatar_scene(avatar, vertices), camera, background=(0.0, 0.0, 0.0))
    rgb = result.rgb.clamp(0, 1).cpu().numpy()
    alpha = result.alpha.cpu().numpy()[..., None]
    photo = rgb + (1 - alpha) * backdrop(camera.width, camera.height)
    return (photo.clip(0, 1) * 255 + 0.5).astype(np.uint8)


def write_sample_photos(
    body: BodyModel,
    out_dir: Path,
    views: tuple[str, ...] = ("front",),
    size: tuple[int, int] = (720, 1080),
    count: int = 60_000,
    seed: int = 7,
) -> list[Path]:
    """Photograph the sample person from each named view (VIEWS, or "face" for a face
    close-up of FACE_PHOTO_SIZE, :func:`face_camera`) in the canonical pose; writes
    ``sample_<view>.png`` in ``out_dir`` and returns the paths. ``seed`` places the
    Gaussians (:func:`sample_avatar`)."""
    from PIL import Image

    avatar = sample_avatar(body, count=count, seed=seed)
    pose = rest_pose(body)
    paths = []
    for view in views:
        if view == "face":
            camera = face_camera(avatar, *FACE_PHOTO_SIZE)
        else:
            camera = sample_camera(VIEWS[view], *size)
        image = photograph(avatar, body, pose, camera)
        path = Path(out_dir) / f"sample_{view}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
        paths.append(path)
    return paths
