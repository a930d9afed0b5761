"""The torch side of the Blender 5.3 tests: .venv53 has no torch, so the tests run this module
with .venv's Python (torch, Anny) in a subprocess and exchange .npz files with it. Nothing
binary is committed; everything is made here, seeded.

    python -m tests.blender53.torch_side prepare OUT [COUNT]   small.lca (with its rig),
                                                              old.lca (schema 2, no rig),
                                                              rig.npz, rig.json, pose.npz
    python -m tests.blender53.torch_side deform LCA IN OUT   core.deform on IN's vertices
    python -m tests.blender53.torch_side render LCA IN OUT   core.posing + core.render (what
                                                            `lca render` does) from IN's camera
    python -m tests.blender53.torch_side legacy LCA BLEND   `lca blender import` on bpy 5.0.1:
                                                            the gpu-drawn avatar, in a .blend
    python -m tests.blender53.torch_side corrected LCA OUT  LCA with a random pose correction
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

POSE = "arm-raise+finger-curl+jaw-open"
COUNT = 2000


def prepare(out: Path, count: str = str(COUNT)) -> None:
    """The starter avatar on Anny (as tests/addon; ``count`` Gaussians), its rig and one pose
    as Blender values."""
    from core.avatar.lca_file import lca_bytes, save_lca
    from core.body.anny_body import AnnyBody
    from core.body.poses import parse_pose
    from core.deform.template import make_starter_avatar
    from core.rig import blender_bone_pose, build_rig

    body = AnnyBody()
    avatar = make_starter_avatar(body, count=int(count), name="small")
    rig = build_rig(body, avatar)
    save_lca(avatar, out / "small.lca", rig)
    (out / "old.lca").write_bytes(schema_2(lca_bytes(avatar)))
    arrays = {
        name: getattr(rig, name).numpy()
        for name in (
            "bone_matrices",
            "bone_lengths",
            "vertices",
            "faces",
            "skinning_weights",
            "expression_deltas",
            "shape_deltas",
            "axes",
        )
    }
    if rig.uvs is not None:
        arrays["uvs"] = rig.uvs.numpy()
    np.savez(out / "rig.npz", **arrays)
    names = {
        "bone_names": list(rig.bone_names),
        "bone_parents": list(rig.bone_parents),
        "expression_names": list(rig.expression_names),
        "shape_keys": [[t.name, t.parameter, t.value_from, t.value_to] for t in rig.shape_keys],
    }
    (out / "rig.json").write_text(json.dumps(names))
    pose = parse_pose(body, POSE)
    quaternions, location = blender_bone_pose(rig, pose.rotations, pose.translation)
    np.savez(out / "pose.npz", quaternions=quaternions.numpy(), location=location.numpy())


def schema_2(data: bytes) -> bytes:
    """A file saved without a rig, labelled schema 2 (as made before schema 3)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    lca = json.loads(header["__metadata__"]["lca"])
    lca["schema_version"] = 2
    header["__metadata__"]["lca"] = json.dumps(lca, sort_keys=True, separators=(",", ":"))
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + data[8 + n :]


def deform(lca: Path, inp: Path, out: Path) -> None:
    """core.deform.deform_gaussians on the (B, V, 3) world vertices Blender evaluated."""
    from core.avatar.lca_file import load_lca
    from core.deform.binding import deform_gaussians

    avatar = load_lca(lca)
    vertices = torch.from_numpy(np.load(inp)["vertices"])
    with torch.no_grad():
        world = deform_gaussians(vertices, avatar.faces, avatar.binding)
    np.savez(out, means=world.means.numpy(), quats=world.quats.numpy(), scales=world.scales.numpy())


def render(lca: Path, inp: Path, out: Path) -> None:
    """What `lca render` computes for IN's pose (a preset name) from IN's Blender camera
    (core.render.blender_camera.BlenderCamera's fields): core.posing.posed_vertices,
    avatar_scene, core.render with the torch backend."""
    from core.avatar.lca_file import load_lca
    from core.body.anny_body import AnnyBody
    from core.body.poses import parse_pose
    from core.posing import avatar_scene, posed_vertices
    from core.render import render as render_scene
    from core.render.blender_camera import BlenderCamera, opencv_camera

    given = dict(np.load(inp))
    avatar, body = load_lca(lca), AnnyBody()
    pose = parse_pose(body, str(given.pop("pose")))
    matrix = torch.from_numpy(given.pop("matrix_world"))
    fields = {k: (str(v) if v.dtype.kind == "U" else v.item()) for k, v in given.items()}
    camera = opencv_camera(BlenderCamera(matrix_world=matrix, **fields))
    with torch.no_grad():
        vertices = posed_vertices(avatar, body, [pose])[0]
        result = render_scene(avatar_scene(avatar, vertices), camera, backend="torch")
    np.savez(out, rgb=result.rgb.numpy(), alpha=result.alpha.numpy())


def legacy(lca: Path, blend: Path) -> None:
    """The avatar imported into ``blend`` by bpy 5.0.1 (``lca blender import``)."""
    from lca_addon.bpy_module import run_command

    root = Path(__file__).resolve().parents[2]
    code = run_command(["import", str(lca), "--blend", str(blend), "--size", "64x48"], root)
    assert code == 0 and blend.is_file()


def corrected(lca: Path, out: Path) -> None:
    """``lca`` (with its rig) again, carrying a random pose correction."""
    import dataclasses

    from core.avatar.lca_file import load_lca_with_rig, save_lca
    from tests.synthetic import random_correction

    avatar, rig = load_lca_with_rig(lca)
    J, E = len(rig.bone_names), len(rig.expression_names)
    correction = random_correction(avatar.count, J, E)
    save_lca(dataclasses.replace(avatar, correction=correction), out, rig)


def main(argv: list[str]) -> int:
    command, *paths = argv
    commands = {
        "prepare": prepare,
        "deform": deform,
        "render": render,
        "legacy": legacy,
        "corrected": corrected,
    }
    commands[command](*(Path(p) if "/" in p else p for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
