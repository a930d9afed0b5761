"""Body parts: a coarse label per vertex, used by the BodyPart render pass.

Each vertex takes the part of the bone with its largest skinning weight; a backend maps its
bone names to the part names below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

PART_NAMES: tuple[str, ...] = (
    "torso",
    "neck",
    "head",
    "eyes",
    "upper_arm.L",
    "lower_arm.L",
    "hand.L",
    "upper_arm.R",
    "lower_arm.R",
    "hand.R",
    "upper_leg.L",
    "lower_leg.L",
    "foot.L",
    "upper_leg.R",
    "lower_leg.R",
    "foot.R",
)


def vertex_parts_from_weights(weights: Tensor, bone_parts: Tensor) -> Tensor:
    """(V, J) skinning weights and (J,) part of each bone -> (V,) part of each vertex."""
    return bone_parts[weights.argmax(dim=1)]


def in_parts(part: Tensor, names: Sequence[str], wanted: Iterable[str]) -> Tensor:
    """(N,) bool: which of the part indices ``part`` (N,) into ``names`` name one of
    ``wanted`` (names that ``names`` lacks are skipped)."""
    index = [names.index(n) for n in wanted if n in names]
    return torch.isin(part, torch.tensor(index, dtype=part.dtype, device=part.device))


def part_index(name: str) -> int:
    return PART_NAMES.index(name)


def anny_bone_part(bone: str) -> str:
    """Part name of an Anny bone (default rig)."""
    side = bone.rsplit(".", 1)[1] if bone.endswith((".L", ".R")) else ""
    stem = bone.split(".")[0]
    if stem.startswith("eye"):
        return "eyes"
    if stem == "head":
        return "head"
    if stem.startswith("neck"):
        return "neck"
    if stem.startswith("upperarm"):
        return f"upper_arm.{side}"
    if stem.startswith("lowerarm"):
        return f"lower_arm.{side}"
    if stem.startswith(("wrist", "finger", "metacarpal")):
        return f"hand.{side}"
    if stem.startswith("upperleg"):
        return f"upper_leg.{side}"
    if stem.startswith("lowerleg"):
        return f"lower_leg.{side}"
    if stem.startswith(("foot", "toe")):
        return f"foot.{side}"
    return "torso"


def bone_parts_tensor(bone_names: tuple[str, ...], mapper) -> Tensor:
    """(J,) int64 part index of each bone, by ``mapper(bone_name) -> part name``."""
    return torch.tensor([part_index(mapper(b)) for b in bone_names], dtype=torch.int64)
