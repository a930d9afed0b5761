"""One explicit list of the classes the extension registers, in order, and what else
registration adds (the ``Object.lca_avatar`` property, the File > Import entry, the render
engine on Blender's generic panels, the 3D Viewport's splat draw handler, the
``blender -c lca`` command). What it holds while registered is one ``ExtensionState``
(extension_state.py), made here by ``register()`` and dropped by ``unregister()``.

Nothing imported here needs torch: without it the extension still registers, and the
operators and the render engine say what is missing.
"""

import bpy
from bpy.props import PointerProperty

from . import (
    commands,
    convert_avatar,
    create_avatar,
    extension_state,
    face_import,
    import_avatar,
    motion_import,
    panels,
    preferences,
    properties,
    render_engine,
    viewport_draw,
    worker_preferences,
)

CLASSES: tuple[type, ...] = (
    preferences.LcaPreferences,
    preferences.LCA_OT_install_dependencies,
    worker_preferences.LCA_OT_check_lca_environment,
    properties.LcaFloatItem,
    properties.LcaTextItem,
    properties.LcaShapeKeyTarget,
    properties.LcaAvatarProperties,
    import_avatar.LCA_OT_import_avatar,
    create_avatar.LCA_OT_create_avatar,
    motion_import.LCA_OT_import_motion,
    face_import.LCA_OT_import_face,
    convert_avatar.LCA_OT_convert_to_splats,
    panels.LCA_PT_avatar,
    panels.LCA_PT_motion,
    render_engine.LCA_RenderEngine,
)
"""Blender classes, registered in this order and unregistered in reverse."""

MENUS = ((bpy.types.TOPBAR_MT_file_import, import_avatar.menu_import),)
"""(menu, draw function) pairs appended on register and removed on unregister."""


def register() -> None:
    state = extension_state.begin()
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    for attribute, group in properties.OBJECT_PROPERTIES:
        setattr(bpy.types.Object, attribute, PointerProperty(type=group))
    for menu, draw in MENUS:
        menu.append(draw)
    render_engine.register_panels()
    state.drawer, state.draw_handle = viewport_draw.register()
    state.cli_handle = bpy.utils.register_cli_command(commands.COMMAND_ID, commands.command)
    preferences.register_folders()  # the packages folder chosen in the preferences


def unregister() -> None:
    preferences.unregister_folders()
    state = extension_state.end()
    if state is not None:
        if state.cli_handle is not None:
            bpy.utils.unregister_cli_command(state.cli_handle)
        viewport_draw.unregister(state.draw_handle)
    render_engine.unregister_panels()
    for menu, draw in reversed(MENUS):
        menu.remove(draw)
    for attribute, _ in reversed(properties.OBJECT_PROPERTIES):
        delattr(bpy.types.Object, attribute)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
