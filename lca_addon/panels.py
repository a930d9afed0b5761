"""The Sidebar > Avatar panel of the 3D Viewport."""

import bpy

from .binding_attributes import point_count
from .create_avatar import LCA_OT_create_avatar
from .dependencies import missing_dependency
from .face_import import LCA_OT_import_face
from .import_avatar import LCA_OT_import_avatar
from .motion_import import LCA_OT_import_motion
from .properties import find_avatar


class LCA_PT_avatar(bpy.types.Panel):
    """Import an avatar or create one from photos; show the active one."""

    bl_label = "LCA Avatar"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Avatar"

    def draw(self, context):
        layout = self.layout
        problem = missing_dependency()
        if problem is not None:
            box = layout.box()
            box.label(text=problem, icon="ERROR")
            show = box.operator("preferences.addon_show", text="Open Preferences")
            show.module = __package__.rpartition(".")[0]
        layout.operator(LCA_OT_import_avatar.bl_idname, text="Import Avatar (.lca)", icon="IMPORT")
        layout.operator(LCA_OT_create_avatar.bl_idname, text="Create from Photos", icon="IMAGE")
        avatar = find_avatar(context.scene, context.active_object)
        if avatar is None:
            return
        props = avatar.lca_avatar
        column = layout.column(align=True)
        column.label(text=avatar.name, icon="OUTLINER_OB_POINTCLOUD")
        column.label(text=f"{point_count(avatar.data):,} Gaussians")
        column.label(text=f"Body: {props.body_model} {props.body_model_version}")
        column.prop(props, "armature")
        column.prop(props, "body_mesh")
        column.prop(props, "show_splats")
        draw_native_state(layout, context, avatar)


class LCA_PT_motion(bpy.types.Panel):
    """Sidebar > Avatar > Motion: body motion (BVH, FBX) and face curves onto the avatar."""

    bl_label = "Motion"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Avatar"
    bl_parent_id = "LCA_PT_avatar"

    @classmethod
    def poll(cls, context):
        return find_avatar(context.scene, context.active_object) is not None

    def draw(self, context):
        layout = self.layout
        layout.operator(
            LCA_OT_import_motion.bl_idname, text="Body Motion (BVH, FBX)", icon="ARMATURE_DATA"
        )
        layout.operator(
            LCA_OT_import_face.bl_idname, text="Face Curves (CSV, JSON)", icon="SHAPEKEY_DATA"
        )
        avatar = find_avatar(context.scene, context.active_object)
        armature = avatar.lca_avatar.armature
        animation = armature.animation_data if armature is not None else None
        if animation is not None and animation.action is not None:
            layout.label(text=animation.action.name, icon="ACTION")


def draw_native_state(layout, context, avatar) -> None:
    """Blender 5.3+: why a native avatar shows no splats, or the conversion of an older one."""
    from .splat_object import is_native, native_problem, native_splats_supported

    if not native_splats_supported():
        return
    if not is_native(avatar):
        box = layout.box()
        box.label(text="This avatar is drawn by the extension, not by Blender.", icon="INFO")
        box.operator("lca.convert_to_splats", icon="OUTLINER_OB_POINTCLOUD")
        return
    problem = native_problem(avatar, context.evaluated_depsgraph_get())
    if problem is not None:
        layout.box().label(text=problem, icon="ERROR")
