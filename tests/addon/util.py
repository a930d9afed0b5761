"""Helpers for the add-on tests (bpy is imported inside the functions, after conftest.py has
pointed BLENDER_USER_RESOURCES at a temporary folder)."""

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "bl_ext.user_default.lca_avatar"
"""The extension's package inside Blender: bl_ext.<repository>.<manifest id>."""

BPY_MISSING = "the bpy module is not installed (pip install bpy==5.0.1, Python 3.11)"


@dataclass(frozen=True)
class Extension:
    """The installed, enabled extension."""

    package: str

    def module(self, name: str):
        """The extension's module ``name``, e.g. "lca_addon.scene_build" or "core.rig"."""
        return importlib.import_module(f"{self.package}.{name}")


def raise_error(err: BaseException) -> None:
    """``handle_error`` for addon_utils: fail the test instead of printing."""
    raise err


def install(zip_path: Path) -> None:
    """Install the zip into the user_default repository and enable it, as a user would."""
    import addon_utils
    import bpy

    result = bpy.ops.extensions.package_install_files(
        repo="user_default", filepath=str(zip_path), enable_on_install=True
    )
    assert result == {"FINISHED"}
    assert addon_utils.check(PACKAGE) == (True, True)


def is_installed() -> bool:
    import bpy

    folder = Path(bpy.utils.user_resource("EXTENSIONS")) / "user_default" / "lca_avatar"
    return folder.is_dir()


def scene_counts() -> dict[str, int]:
    """How many datablocks of each kind the file holds (to check that nothing was added)."""
    import bpy

    kinds = ("objects", "meshes", "armatures", "collections", "shape_keys")
    return {kind: len(getattr(bpy.data, kind)) for kind in kinds}


def one_sentence(message: str) -> bool:
    """A user-facing message: one sentence, ending with a full stop."""
    return message.endswith(".") and "\n" not in message and ". " not in message


def set_pose(armature, rig, rotations, translation=None) -> None:
    """Pose ``armature`` with a core pose (J, 3) through core.rig.blender_bone_pose."""
    from core.rig import blender_bone_pose

    quaternions, location = blender_bone_pose(rig, rotations, translation)
    for name, quaternion in zip(rig.bone_names, quaternions.tolist(), strict=True):
        armature.pose.bones[name].rotation_quaternion = quaternion
    armature.pose.bones[rig.bone_names[0]].location = location.tolist()


def multilayer_exr_output(scene) -> None:
    """Multilayer EXR with 32-bit float channels (Blender 5.0: media type first)."""
    settings = scene.render.image_settings
    settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"
    settings.color_depth = "32"


def read_exr(path: Path) -> dict:
    """Every pass of a multilayer EXR: {pass name: (H, W, C) float32 array, rows top-down},
    read with the OpenImageIO bundled inside bpy (``bpy.data.images`` cannot read these)."""
    import sys

    import bpy

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    bundled = Path(bpy.utils.resource_path("LOCAL")) / "python" / "lib" / version / "site-packages"
    if str(bundled) not in sys.path:
        sys.path.append(str(bundled))
    import OpenImageIO as oiio

    image = oiio.ImageInput.open(str(path))
    assert image is not None, oiio.geterror()
    passes = {}
    try:
        index = 0
        while image.seek_subimage(index, 0):
            spec = image.spec()
            channels = [name.rsplit(".", 2) for name in spec.channelnames]  # layer.pass.channel
            pixels = image.read_image(index, 0, 0, spec.nchannels, "float")
            for position, (_, name, _) in enumerate(channels):
                passes.setdefault(name, []).append(pixels[..., position])
            index += 1
    finally:
        image.close()
    return {name: np.stack(planes, axis=-1) for name, planes in passes.items()}
