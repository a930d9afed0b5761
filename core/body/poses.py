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

import torch
from torch import Tensor

from ..errors import PATH_LIMIT, LcaError, quoted
from ..fileio import read_json
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


MAX_ANGLE = 3600.0
"""Largest rotation-vector component a pose file may give, in degrees (ten turns)."""

MAX_TRANSLATION = 1000.0
"""Largest translation component a pose file may give, in metres."""

MAX_EXPRESSION = 10.0
"""Largest expression value a pose file may give (the ARKit range is 0..1)."""

MAX_WEIGHT = 10.0
"""Largest preset weight (``arm-raise:2`` raises the arm twice as far)."""


def _number(value: object, where: str, limit: float, unit: str) -> float:
    """``value`` as a float, or LcaError unless it is a finite number within +-``limit``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LcaError(f"{where} must be a number ({unit}), not {quoted(json_text(value))}.")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not (math.isfinite(number) and abs(number) <= limit):
        raise LcaError(
            f"{where} is {quoted(json_text(value))}; it must be a finite number between "
            f"-{limit:g} and {limit:g} ({unit})."
        )
    return number


def _numbers(value: object, where: str, limit: float, unit: str) -> list[float]:
    """Three numbers checked by :func:`_number`."""
    if not (isinstance(value, list) and len(value) == 3):
        raise LcaError(f"{where} needs 3 numbers ({unit}), not {quoted(json_text(value))}.")
    return [_number(v, where, limit, unit) for v in value]


def _names(data: dict, key: str, source: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise LcaError(
            f"{source}: '{key}' must be a JSON object of names, not {quoted(json_text(value))}."
        )
    return value


def json_text(value: object) -> str:
    """``value`` as compact JSON text where it can be, else ``str`` (for error sentences)."""
    try:
        return json.dumps(value, allow_nan=True)[:200]
    except (TypeError, ValueError, RecursionError):
        return str(type(value).__name__)


def pose_from_dict(body: BodyModel, data: object, source: str = "pose") -> Pose:
    """A Pose from the JSON structure in the module docstring. This is the one check of a
    pose's values, whatever reads them: unknown names, values that are not finite numbers
    within MAX_ANGLE, MAX_EXPRESSION and MAX_TRANSLATION, and wrong structures are refused
    with one sentence (LcaError)."""
    if not isinstance(data, dict):
        raise LcaError(f"{source} must be a JSON object with 'bones' and/or 'expression'.")
    unknown_keys = set(data) - {"bones", "expression", "translation"}
    if unknown_keys:
        shown = ", ".join(quoted(k) for k in sorted(map(str, unknown_keys))[:5])
        raise LcaError(
            f"{source} has unknown keys {shown}; use 'bones', 'expression' and 'translation'."
        )
    pose = rest_pose(body)
    for bone, rotvec in _names(data, "bones", source).items():
        if bone not in body.bone_names:
            raise LcaError(
                f"{source} names bone {quoted(bone)}, which the {body.name} body does not "
                "have; run `lca info --bones` for the names."
            )
        degrees = _numbers(rotvec, f"{source}: bone {quoted(bone)}", MAX_ANGLE, "degrees")
        pose.rotations[body.bone_names.index(bone)] = torch.tensor(
            [math.radians(v) for v in degrees]
        )
    for name, value in _names(data, "expression", source).items():
        if name not in body.expression_names:
            raise LcaError(
                f"{source} names expression {quoted(name)}, which the {body.name} body does "
                "not have; use one of the 52 ARKit names such as 'jawOpen'."
            )
        where = f"{source}: expression {quoted(name)}"
        pose.expression[body.expression_names.index(name)] = _number(
            value, where, MAX_EXPRESSION, "0 to 1"
        )
    if "translation" in data:
        translation = _numbers(
            data["translation"], f"{source}: 'translation'", MAX_TRANSLATION, "metres"
        )
        pose.translation[:] = torch.tensor(translation)
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
            f"Unknown pose preset {quoted(name)}; choose one of {', '.join(PRESETS)} or a "
            ".json file."
        )
    try:
        return PRESETS[name](body).scaled(weight)
    except (KeyError, ValueError):
        raise LcaError(
            f"Pose preset '{name}' is made for the Anny body; this avatar uses "
            f"'{body.name}', so give a JSON pose file instead."
        ) from None


def parse_pose(body: BodyModel, spec: str) -> Pose:
    """``spec``: a path to a JSON pose file, or presets joined by '+', each 'name[:weight]'
    (the weight a finite number within +-MAX_WEIGHT). Any bad spec or file raises LcaError
    (one sentence)."""
    if spec.endswith(".json"):
        data = read_json(spec, "Pose file")
        return pose_from_dict(body, data, source=f"Pose file {quoted(spec, PATH_LIMIT)}")
    pose = rest_pose(body)
    for term in spec.split("+"):
        name, _, weight_text = term.strip().partition(":")
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and abs(weight) <= MAX_WEIGHT):
            raise LcaError(
                f"Pose weight {quoted(weight_text)} in {quoted(spec)} is not a number between "
                f"-{MAX_WEIGHT:g} and {MAX_WEIGHT:g}."
            )
        pose = pose + preset_pose(body, name, weight)
    return pose
