"""Helpers for the add-on tests (bpy is imported inside the functions, after conftest.py has
pointed BLENDER_USER_RESOURCES at a temporary folder)."""

import importlib
import math
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
    """Multilayer EXR with 32-bit float channels (Blender 5.0+: media type first; 4.x has
    none)."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"
    settings.color_depth = "32"


def read_exr(path: Path) -> dict:
    """Every pass of a multilayer EXR: {pass name: (H, W, C) float32 array, rows top-down},
    read with the OpenImageIO bundled inside bpy 5.x (``bpy.data.images`` cannot read these);
    bpy 4.2 bundles none, so .venv42 installs OpenImageIO from requirements-blender42.lock."""
    import sys

    import bpy

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    bundled = Path(bpy.utils.resource_path("LOCAL")) / "python" / "lib" / version / "site-packages"
    if bundled.is_dir() and str(bundled) not in sys.path:
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


class FakeWindowContext:
    """Stands in for the context of a window (there is none headless) while a test drives a
    job operator's modal loop (lca_addon/jobs.py): records the status text, the header text
    and the progress it is shown, and the window manager's timers."""

    def __init__(self):
        self.status: list = []
        self.header: list = []
        self.progress: list = []
        self.timers: list = []
        self.window = object()
        self.workspace = self.area = self.window_manager = self

    def status_text_set(self, text):
        self.status.append(text)

    def header_text_set(self, text):
        self.header.append(text)

    def event_timer_add(self, seconds, window=None):
        self.timers.append(object())
        return self.timers[-1]

    def event_timer_remove(self, timer):
        self.timers.remove(timer)

    def modal_handler_add(self, operator):
        return True

    def progress_begin(self, low, high):
        self.progress.append("begin")

    def progress_update(self, value):
        self.progress.append(value)

    def progress_end(self):
        self.progress.append("end")


@dataclass(frozen=True)
class FakeEvent:
    type: str
    value: str = "NOTHING"


def drive_modal(operator, context, cancel_when=None, timeout: float = 60.0) -> set:
    """Send TIMER events to a started job operator until it ends; once ``cancel_when(stage)``
    is true, press Esc. Returns the operator's final result."""
    import time

    deadline = time.monotonic() + timeout
    pressed = False
    while time.monotonic() < deadline:
        if cancel_when is not None and not pressed and cancel_when(operator._worker.status()[0]):
            assert operator.modal(context, FakeEvent("ESC", "PRESS")) == {"RUNNING_MODAL"}
            pressed = True
        result = operator.modal(context, FakeEvent("TIMER"))
        if result != {"PASS_THROUGH"}:
            return result
        time.sleep(0.02)
    raise AssertionError(f"the job did not end within {timeout} s")


def world_with_nodes(name: str):
    """A new world whose Background node is (0.4, 0.2, 0.1) at strength 0.5 and whose
    ``World.color`` is (0.3, 0.6, 0.9) (what Blender 4.x renders with its nodes off; from 5.0
    a world's nodes are always on, in 4.x ``World.use_nodes`` switches them on here)."""
    import bpy

    world = bpy.data.worlds.new(name)
    if bpy.app.version < (5, 0, 0):
        world.use_nodes = True
    background = next(node for node in world.node_tree.nodes if node.type == "BACKGROUND")
    background.inputs["Color"].default_value = (0.4, 0.2, 0.1, 1.0)
    background.inputs["Strength"].default_value = 0.5
    world.color = (0.3, 0.6, 0.9)
    return world


def framed_avatar(addon, avatar, rig, lens: float, width: int, height: int):
    """Build ``avatar`` (named "small") into the scene with a camera that frames it from the
    front (4.5 m away, slightly shifted, ``lens`` mm) at ``width`` x ``height`` pixels; the
    scene_build.AvatarObjects."""
    import bpy

    objects = addon.module("lca_addon.scene_build").build_avatar_scene(
        bpy.context, avatar, rig, "small"
    )
    scene = bpy.context.scene
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (0.3, -4.5, 1.0)
    camera.rotation_euler = (math.radians(88.0), 0.0, math.radians(4.0))
    camera.data.lens, camera.data.shift_x = lens, 0.03
    render = scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
    return objects
