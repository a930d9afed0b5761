"""Object > Convert to Native Splats: an avatar made by the gpu-drawn path (Blender 4.2-5.2,
or an earlier version of the extension) becomes a native splat avatar on Blender 5.3+
(splat_object.convert_to_native), in one undo step; an error changes nothing."""

import bpy

from ..core.errors import LcaError
from .import_avatar import native_correction_warning
from .properties import find_avatar
from .splat_object import convert_to_native, is_native, native_splats_supported


class LCA_OT_convert_to_splats(bpy.types.Operator):
    """Make this avatar a native Gaussian-splat object that Blender draws and renders itself"""

    bl_idname = "lca.convert_to_splats"
    bl_label = "Convert to Native Splats"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if not native_splats_supported():
            cls.poll_message_set("Native splats need Blender 5.3 or later.")
            return False
        avatar = find_avatar(context.scene, context.active_object)
        if avatar is None or is_native(avatar):
            cls.poll_message_set("Select an avatar drawn by the extension (made before 5.3).")
            return False
        return context.mode == "OBJECT"

    def execute(self, context):
        avatar = find_avatar(context.scene, context.active_object)
        try:
            native = convert_to_native(avatar)
        except LcaError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        self.report({"INFO"}, f"'{native.name}' is now native splats that Blender renders.")
        warning = native_correction_warning(native)
        if warning is not None:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}
