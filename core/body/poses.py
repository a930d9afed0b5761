"""Poses: named presets and JSON pose files, as tensors a body model takes.

A pose file is JSON::

    {"bones": {"upperarm01.L": [0, -110, 0]},   # rotation vectors, degrees, canonical axes
     "expression": {"jawOpen": 1.0},            # ARKit names, 0..1
     "translation": [0, 0, 0]}                  # metres

Rotation vectors follow the BodyModel convention: each bone's rotation relative to its
parent, in the canonical world axes (Z-up, the body faces -Y for Anny).
Presets combine with '+' and take an optional weight: ``arm-raise+finger-curl:0.5``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..errors import LcaError
from .model import BodyModel


@dataclass(frozen=True)
class Pose:
    """rotations: (J, 3) radians; expression: (E,) ; translation: (3,) metres."""

    rotations: Tensor
    expression: Tensor
    translation: Tensor

    def __add__(self, other: Pose) -> Pose:
        return Pose(
            self.rotations + other.rotations,
            self.expression + other.expression,
            self.translation + other.translation,
        )

    def scaled(self, weight: float) -> Pose:
        return Pose(self.rotations * weight, self.expression * weight, self.translation * weight)


def rest_pose(body: BodyModel) -> Pose:
    """The canonical pose: no rotation, neutral expression."""
    return Pose(
        torch.zeros(len(body.bone_names), 3),
        torch.zeros(len(body.expression_names)),
        torch.zeros(3),
    )


def stack_poses(poses: list[Pose]) -> tuple[Tensor, Tensor, Tensor]:
    """B poses -> pose (B, J, 3), expression (B, E), translation (B, 3)."""
    return (
        torch.stack([p.rotations for p in poses]),
        torch.stack([p.expression for p in poses]),
        torch.stack([p.translation for p in poses]),
    )


def pose_from_dict(body: BodyModel, data: dict, source: str = "pose") -> Pose:
    """A Pose from the JSON structure in the module docstring; unknown names are errors."""
    if not isinstance(data, dict):
        raise LcaError(f"{source} must be a JSON object with 'bones' and/or 'expression'.")
    unknown_keys = set(data) - {"bones", "expression", "translation"}
    if unknown_keys:
        raise LcaError(
            f"{source} has unknown keys {sorted(unknown_keys)}; use 'bones', 'expression' "
            "and 'translation'."
        )
    pose = rest_pose(body)
    for bone, rotvec in dict(data.get("bones", {})).items():
        if bone not in body.bone_names:
            raise LcaError(
                f"{source} names bone '{bone}', which the {body.name} body does not have; "
                "run `lca info --bones` for the names."
            )
        if not (isinstance(rotvec, list) and len(rotvec) == 3):
            raise LcaError(f"{source}: bone '{bone}' needs a rotation vector of 3 numbers.")
        pose.rotations[body.bone_names.index(bone)] = torch.tensor(
            [math.radians(float(v)) for v in rotvec]
        )
    for name, value in dict(data.get("expression", {})).items():
        if name not in body.expression_names:
            raise LcaError(
                f"{source} names expression '{name}', which the {body.name} body does not "
                "have; use one of the 52 ARKit names such as 'jawOpen'."
            )
        pose.expression[body.expression_names.index(name)] = float(value)
    if "translation" in data:
        translation = data["translation"]
        if not (isinstance(translation, list) and len(translation) == 3):
            raise LcaError(f"{source}: 'translation' needs 3 numbers (metres).")
        pose.translation[:] = torch.tensor([float(v) for v in translation])
    return pose


# -- presets --------------------------------------------------------------------------------


def _rest_heads(body: BodyModel) -> dict[str, Tensor]:
    transforms = body.forward().bone_transforms[0].detach().float().cpu()
    return {name: transforms[i, :3, 3] for i, name in enumerate(body.bone_names)}


def _bones(body: BodyModel, rotations: dict[str, Tensor]) -> Pose:
    pose = rest_pose(body)
    for bone, rotvec in rotations.items():
        pose.rotations[body.bone_names.index(bone)] = rotvec
    return pose


def _expression(body: BodyModel, values: dict[str, float]) -> Pose:
    pose = rest_pose(body)
    for name, value in values.items():
        pose.expression[body.expression_names.index(name)] = value
    return pose


def _arm_raise(body: BodyModel) -> Pose:
    """The left arm raised above the head (about -Y lifts the +X arm)."""
    return _bones(body, {"upperarm01.L": torch.tensor([0.0, -math.radians(105), 0.0])})


def _t_pose(body: BodyModel) -> Pose:
    """Both arms horizontal, from the rest A-pose."""
    heads = _rest_heads(body)
    rotations = {}
    for side, sign in (("L", -1.0), ("R", 1.0)):
        arm = heads[f"wrist.{side}"] - heads[f"upperarm01.{side}"]
        droop = math.atan2(-float(arm[2]), abs(float(arm[0])))
        rotations[f"upperarm01.{side}"] = torch.tensor([0.0, sign * droop, 0.0])
    return _bones(body, rotations)


def _finger_curl(body: BodyModel) -> Pose:
    """Every finger of both hands curled towards the palm (a loose fist)."""
    heads = _rest_heads(body)
    rotations = {}
    for side in ("L", "R"):
        across = heads[f"finger2-1.{side}"] - heads[f"finger5-1.{side}"]
        along = heads[f"finger3-1.{side}"] - heads[f"wrist.{side}"]
        across = across / across.norm()
        # The palm faces the side the cross product points to; curling turns the fingers
        # towards it: rotate about the knuckle line with the sign that achieves that.
        palm = torch.linalg.cross(along, across)
        palm = palm / palm.norm()
        axis = torch.linalg.cross(along / along.norm(), palm)
        axis = axis / axis.norm()
        for finger in (2, 3, 4, 5):
            for joint, angle in ((1, 55), (2, 70), (3, 50)):
                rotations[f"finger{finger}-{joint}.{side}"] = axis * math.radians(angle)
        thumb_axis = heads[f"finger1-2.{side}"] - heads[f"finger1-1.{side}"]
        thumb_axis = torch.linalg.cross(thumb_axis / thumb_axis.norm(), palm)
        thumb_axis = thumb_axis / thumb_axis.norm()
        for joint, angle in ((2, 25), (3, 35)):
            rotations[f"finger1-{joint}.{side}"] = thumb_axis * math.radians(angle)
    return _bones(body, rotations)


PRESETS: dict[str, Callable[[BodyModel], Pose]] = {
    "rest": rest_pose,
    "t-pose": _t_pose,
    "arm-raise": _arm_raise,
    "finger-curl": _finger_curl,
    "jaw-open": lambda body: _expression(body, {"jawOpen": 1.0}),
    "smile": lambda body: _expression(body, {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0}),
    "blink-left": lambda body: _expression(body, {"eyeBlinkLeft": 1.0}),
}
"""Preset name -> builder. Presets name Anny bones; they need the Anny body model."""


def preset_pose(body: BodyModel, name: str, weight: float = 1.0) -> Pose:
    if name not in PRESETS:
        raise LcaError(
            f"Unknown pose preset '{name}'; choose one of {', '.join(PRESETS)} or a .json file."
        )
    try:
        return PRESETS[name](body).scaled(weight)
    except (KeyError, ValueError):
        raise LcaError(
            f"Pose preset '{name}' is made for the Anny body; this avatar uses "
            f"'{body.name}', so give a JSON pose file instead."
        ) from None


def parse_pose(body: BodyModel, spec: str) -> Pose:
    """``spec``: a path to a JSON pose file, or presets joined by '+', each 'name[:weight]'."""
    path = Path(spec)
    if spec.endswith(".json"):
        if not path.is_file():
            raise LcaError(f"Pose file '{spec}' does not exist; give a JSON pose file or a preset.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise LcaError(f"Pose file '{spec}' is not valid JSON ({err}); fix the file.") from None
        return pose_from_dict(body, data, source=f"Pose file '{spec}'")
    pose = rest_pose(body)
    for term in spec.split("+"):
        name, _, weight_text = term.strip().partition(":")
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            raise LcaError(f"Pose weight '{weight_text}' in '{spec}' is not a number.") from None
        pose = pose + preset_pose(body, name, weight)
    return pose
