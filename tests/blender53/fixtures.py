"""Fixtures and helpers for the Blender 5.3 tests (bpy 5.3, no torch): the extension
installed from its zip, the avatar and rig made by .venv (torch_side.py), the native scene."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bl_ext.user_default.lca_avatar"
TORCH_PYTHON = ROOT / ".venv" / "bin" / "python"


def torch_side(*args: str | Path) -> None:
    """Run ``tests.blender53.torch_side`` with .venv's Python (torch, Anny)."""
    if not TORCH_PYTHON.exists():
        pytest.fail(f"{TORCH_PYTHON} is missing; run `make setup` first (it has torch).")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("ANNY_CACHE_DIR", str(ROOT / ".cache" / "anny"))
    env.setdefault("WARP_CACHE_PATH", str(ROOT / ".cache" / "warp"))
    command = [str(TORCH_PYTHON), "-m", "tests.blender53.torch_side", *map(str, args)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass(frozen=True)
class Prepared:
    """What torch_side.py prepare wrote: the .lca (with its rig), the same avatar as a schema 2
    file without one, the rig build_rig computed (a stand-in for core.rig.Rig with numpy
    arrays), the posed bones of torch_side.POSE."""

    lca: Path
    old_lca: Path
    rig: SimpleNamespace
    quaternions: np.ndarray
    location: np.ndarray


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Prepared:
    return prepare(tmp_path_factory.mktemp("prepared"))


def prepare(out: Path, count: int = 2000) -> Prepared:
    """torch_side.py prepare into ``out``: a starter avatar of ``count`` Gaussians, its rig."""
    torch_side("prepare", out, str(count))
    arrays = {"uvs": None, **np.load(out / "rig.npz")}
    names = json.loads((out / "rig.json").read_text())
    rig = SimpleNamespace(
        **arrays,
        bone_names=tuple(names["bone_names"]),
        bone_parents=tuple(names["bone_parents"]),
        expression_names=tuple(names["expression_names"]),
        shape_keys=tuple(
            SimpleNamespace(name=n, parameter=p, value_from=a, value_to=b)
            for n, p, a, b in names["shape_keys"]
        ),
    )
    pose = np.load(out / "pose.npz")
    return Prepared(out / "small.lca", out / "old.lca", rig, pose["quaternions"], pose["location"])


@pytest.fixture(scope="session")
def legacy_blend(prepared, tmp_path_factory) -> Path:
    """The avatar imported by bpy 5.0.1 (`lca blender import`, the gpu-drawn avatar object),
    saved in a .blend."""
    blend = tmp_path_factory.mktemp("legacy") / "legacy.blend"
    torch_side("legacy", prepared.lca, blend)
    return blend


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    from lca_addon.build_extension import build_extension

    return build_extension(output_dir=tmp_path_factory.mktemp("dist"))


class Extension:
    """The installed, enabled extension: its modules by name."""

    def module(self, name: str):
        return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def addon(extension_zip) -> Extension:
    """The extension installed and enabled, and an empty scene."""
    return enabled_extension(extension_zip)


@pytest.fixture(scope="session")
def native_blend(extension_zip, prepared, tmp_path_factory) -> Path:
    """The native avatar built once (build_native) and saved, for tests that only use it."""
    import bpy

    addon = enabled_extension(extension_zip)
    build_native(addon, prepared)
    path = tmp_path_factory.mktemp("native") / "native.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def open_native(path: Path) -> SimpleNamespace:
    """Open ``native_blend``: its armature, body and avatar objects."""
    import bpy

    bpy.ops.wm.open_mainfile(filepath=str(path))
    objects = bpy.data.objects
    return SimpleNamespace(
        armature=objects["small_rig"], body=objects["small_body"], avatar=objects["small"]
    )


def enabled_extension(extension_zip: Path) -> Extension:
    """Install (once) and enable the extension; an empty scene."""
    import addon_utils
    import bpy

    if not addon_utils.check(PACKAGE)[1]:
        folder = Path(bpy.utils.user_resource("EXTENSIONS")) / "user_default" / "lca_avatar"
        if folder.is_dir():
            addon_utils.enable(PACKAGE, default_set=True)
        else:
            result = bpy.ops.extensions.package_install_files(
                repo="user_default", filepath=str(extension_zip), enable_on_install=True
            )
            assert result == {"FINISHED"}
    assert addon_utils.check(PACKAGE) == (True, True)
    bpy.ops.wm.read_homefile(use_empty=True)
    return Extension()


def build_native(addon: Extension, prepared: Prepared, name: str = "small"):
    """The avatar imported as the 5.3 import does it, without torch: lca_numpy (the file's
    arrays and its stored rig) + scene_build."""
    import bpy

    arrays = addon.module("core.avatar.lca_numpy").load_lca_arrays(prepared.lca)
    scene_build = addon.module("lca_addon.scene_build")
    return scene_build.build_avatar_scene(bpy.context, arrays, arrays.rig, name)


def set_pose(armature, prepared: Prepared, weight: float = 1.0) -> None:
    """torch_side.POSE's bones (through core.rig.blender_bone_pose), or the rest pose at 0."""
    rig = prepared.rig
    for name, q in zip(rig.bone_names, prepared.quaternions.tolist(), strict=True):
        armature.pose.bones[name].rotation_quaternion = q if weight else (1.0, 0.0, 0.0, 0.0)
    armature.pose.bones[rig.bone_names[0]].location = prepared.location.tolist()


def read_points(data, name: str, width: int) -> np.ndarray:
    attribute = data.attributes[name]
    key = "vector" if attribute.data_type in ("FLOAT_VECTOR", "FLOAT4") else "value"
    values = np.empty(len(data.points) * width, np.float32)
    attribute.data.foreach_get(key, values)
    return values.reshape(-1, width)


def evaluated_splats(avatar) -> dict[str, np.ndarray]:
    """World-space position, rotation (wxyz) and scale of the evaluated native avatar."""
    import bpy

    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = avatar.evaluated_get(depsgraph)
    data = evaluated.data
    matrix = np.array(evaluated.matrix_world, dtype=np.float64)
    assert np.allclose(matrix, np.eye(4), atol=1e-6), "the tests keep the avatar at the origin"
    return {
        "means": read_points(data, "position", 3),
        "quats": read_points(data, "rotation", 4),
        "scales": read_points(data, "scale", 3),
    }


def evaluated_body(body) -> np.ndarray:
    """(V, 3) world-space vertices of the evaluated body mesh."""
    import bpy

    evaluated = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.data
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    matrix = np.array(evaluated.matrix_world, dtype=np.float32)
    return co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
