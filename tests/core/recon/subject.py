"""A synthetic person the project renders itself: known shape, pose, camera and colours.

A starter avatar is dressed as the sample person is (core.recon.sample_person.dress) but in
other colours (a red shirt with white stripes, blue trousers, dark shoes, no hair), posed and
rendered over a green-grey background; the render is the "photo" and its alpha the person
mask. A BodyFit carrying the true shape, pose and camera stands in for body fitting.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from core.avatar import Avatar
from core.body.model import BodyModel
from core.body.poses import Pose, preset_pose
from core.deform.template import make_starter_avatar
from core.posing import avatar_scene
from core.recon import BodyLandmarks, Box, Perception, Photo
from core.recon.fit_types import BodyFit, FittedView
from core.recon.sample_person import Outfit, dress
from core.render import render
from core.render.camera import orbit_camera
from core.render.types import Camera

OUTFIT = Outfit(
    hair=None,
    shirt=(0.80, 0.12, 0.10),
    stripe=(0.95, 0.95, 0.92),
    trousers=(0.10, 0.18, 0.70),
    shoes=(0.12, 0.10, 0.09),
)
BACKGROUND = (0.35, 0.45, 0.35)
SHAPE = {"gender": 0.3, "age": 0.55, "muscle": 0.6, "weight": 0.55, "height": 0.6}
"""Non-default Anny shape values of the subject (others keep their default)."""


def subject_shape(body: BodyModel) -> torch.Tensor:
    """(S,) the subject's shape."""
    values = [SHAPE.get(p.name, p.default) for p in body.shape_parameters]
    return torch.tensor(values, dtype=torch.float32)


def subject_pose(body: BodyModel) -> Pose:
    """A known pose: the left arm half raised, the body moved a little."""
    pose = preset_pose(body, "arm-raise", 0.4)
    return dataclasses.replace(pose, translation=torch.tensor([0.05, 0.0, 0.02]))


def dressed_avatar(body: BodyModel, count: int, seed: int = 11) -> Avatar:
    """A starter avatar at the subject's shape in the subject's OUTFIT."""
    avatar = make_starter_avatar(body, count=count, seed=seed, shape=subject_shape(body))
    return dress(avatar, OUTFIT)


def subject_camera(azimuth: float, width: int = 240, height: int = 320) -> Camera:
    """A camera 3.2 m from the subject at ``azimuth`` degrees (0: the front)."""
    return orbit_camera((0.0, 0.0, -0.05), 3.2, azimuth, 3.0, width, height, fov_y_deg=36.0)


def photograph(body: BodyModel, avatar: Avatar, pose: Pose, camera: Camera, name: str):
    """(Perception, rgb (H, W, 3) float) of ``avatar`` in ``pose`` seen by ``camera``."""
    from core.posing import posed_vertices

    vertices = posed_vertices(avatar, body, [pose])[0]
    with torch.no_grad():
        result = render(avatar_scene(avatar, vertices), camera, background=BACKGROUND)
    rgb = (result.rgb.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    rgb.flags.writeable = False
    photo = Photo(
        rgb=rgb,
        path=Path(name),
        original_size=(camera.width, camera.height),
        scale=1.0,
        format="PNG",
    )
    mask = result.alpha.numpy().astype(np.float32)
    rows, cols = np.nonzero(mask > 0.5)
    perception = Perception(
        photo=photo,
        body=BodyLandmarks(
            pixels=np.zeros((33, 2), np.float32),
            depth=np.zeros(33, np.float32),
            visibility=np.zeros(33, np.float32),
            world=np.zeros((33, 3), np.float32),
        ),
        left_hand=None,
        right_hand=None,
        face=None,
        mask=mask,
        box=Box(float(cols.min()), float(rows.min()), float(cols.max()), float(rows.max())),
        missing=(),
        person=0,
        people=1,
    )
    return perception, result.rgb


def subject_fit(
    body: BodyModel,
    avatar: Avatar,
    azimuths: tuple[float, ...] = (0.0,),
    width: int = 240,
    height: int = 320,
) -> BodyFit:
    """A BodyFit with the true shape, pose and camera, one view per azimuth."""
    pose = subject_pose(body)
    views = []
    for azimuth in azimuths:
        camera = subject_camera(azimuth, width, height)
        perception, _ = photograph(body, avatar, pose, camera, f"subject_{azimuth:g}.png")
        views.append(FittedView(perception=perception, pose=pose, camera=camera))
    return BodyFit(shape=subject_shape(body), views=tuple(views), loss=0.0)
