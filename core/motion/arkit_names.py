"""The 52 ARKit face blendshape names and the 9 head and eye rotations of Live Link Face, and
how a column or key written by some other tool is recognised as one of them.

ARKit names are camelCase (``eyeBlinkLeft``), as Anny's ``expression_names`` are; Live Link
Face writes them in PascalCase (``EyeBlinkLeft``) and in its own order (:data:`LIVE_LINK_NAMES`).
Other tools write ``eyeBlink_L`` / ``eyeBlink_R``. :func:`canonical_name` accepts all of
these, in any letter case.
"""

from __future__ import annotations

LIVE_LINK_NAMES = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight",
    "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)  # fmt: skip
"""The 52 ARKit blendshape names (camelCase) in the column order of Live Link Face's CSV."""

ARKIT_NAMES = frozenset(LIVE_LINK_NAMES)

HEAD_NAMES = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip
"""The 9 rotation columns after the blendshapes in Live Link Face's CSV."""

_BY_FOLDED = {name.lower(): name for name in LIVE_LINK_NAMES}
_HEAD_BY_FOLDED = {name.lower(): name for name in HEAD_NAMES}


def pascal_name(name: str) -> str:
    """``eyeBlinkLeft`` -> ``EyeBlinkLeft`` (Live Link Face's spelling)."""
    return name[:1].upper() + name[1:]


def canonical_name(column: str) -> str | None:
    """The ARKit camelCase name a column or key stands for, or None.

    ``eyeBlinkLeft``, ``EyeBlinkLeft``, ``eyeblinkleft`` and ``eyeBlink_L`` all give
    ``eyeBlinkLeft``; surrounding spaces are ignored."""
    text = column.strip()
    if text.endswith(("_L", "_l")):
        text = text[:-2] + "Left"
    elif text.endswith(("_R", "_r")):
        text = text[:-2] + "Right"
    return _BY_FOLDED.get(text.lower())


def head_name(column: str) -> str | None:
    """The head or eye rotation (one of :data:`HEAD_NAMES`) a column stands for, or None."""
    return _HEAD_BY_FOLDED.get(column.strip().lower())
